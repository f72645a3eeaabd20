"""Writing and listing ``scores``.

Rows are plain mappings with the table's column names. ``scores`` is a ReplacingMergeTree keyed by
``(project_id, toDate(timestamp), name, id)``: writing the same score again (an eval task retried, a
client re-sending) replaces it once parts merge. Merges are lazy, so every read here and in
``score_analytics`` selects ``FROM scores FINAL``: measured on 10M rows, FINAL costs nothing once parts
are merged and about 3x a plain scan right after a bulk load, still cheaper than ``argMax``/``LIMIT 1 BY
id`` (which hash every id on every query). Listings are project-scoped, newest first, with keyset
cursors over ``(timestamp, id)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field

from otelguard.storage.clickhouse.keyset import check_value, decode_keyset, encode_keyset
from otelguard.storage.clickhouse.traces import qualified_table
from otelguard.storage.clickhouse.transport import ClickHouseTransport, validate_identifier

__all__ = [
    "MAX_LIMIT",
    "SCORES_ARROW_SCHEMA",
    "ScoreFilter",
    "ScoreItem",
    "ScorePage",
    "insert_scores",
    "insert_scores_arrow",
    "list_scores",
    "score_filter_sql",
    "scores_to_arrow",
]

_STR = pa.string()
_TS = pa.timestamp("ns", tz="UTC")
SCORES_ARROW_SCHEMA: pa.Schema = pa.schema(
    [
        pa.field(name, typ, nullable=False)
        for name, typ in (
            ("id", _STR),
            ("project_id", _STR),
            ("trace_id", _STR),
            ("span_id", _STR),
            ("session_id", _STR),
            ("name", _STR),
            ("value", pa.float64()),
            ("string_value", _STR),
            ("data_type", _STR),
            ("source", _STR),
            ("comment", _STR),
            ("evaluator_name", _STR),
            ("evaluator_version", _STR),
            ("timestamp", _TS),
        )
    ]
)
_COLUMNS = tuple(SCORES_ARROW_SCHEMA.names)
_REQUIRED = frozenset({"id", "project_id", "name", "value", "data_type", "source", "timestamp"})
MAX_LIMIT = 1000
_NS = "fromUnixTimestamp64Nano({%s:Int64}, 'UTC')"


def _timestamp(value: Any) -> datetime | int:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
        return value
    raise ValueError(f"a score timestamp is a datetime or integer nanoseconds since the epoch: {value!r}")


def scores_to_arrow(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    """The rows as an Arrow table (``timestamp``: datetime or int ns; optional text columns default to
    ""). ValueError names the first row that is missing a required column or holds a bad value."""
    columns: dict[str, list[Any]] = {name: [] for name in _COLUMNS}
    for index, row in enumerate(rows):
        missing = _REQUIRED - row.keys()
        if missing:
            raise ValueError(f"score row {index} lacks {', '.join(sorted(missing))}")
        for name in _COLUMNS:
            value = row.get(name, "")
            if name == "timestamp":
                value = _timestamp(value)
            elif name == "value":
                value = float(value)
            else:
                value = "" if value is None else str(value)
            columns[name].append(value)
    arrays = [pa.array(columns[f.name], type=f.type) for f in SCORES_ARROW_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=SCORES_ARROW_SCHEMA)


def insert_scores_arrow(
    transport: ClickHouseTransport, database: str | None, data: pa.Table, *, dedup_token: str | None = None
) -> None:
    """Insert an Arrow table with ``SCORES_ARROW_SCHEMA``'s columns (bulk loads, benchmarks)."""
    db = validate_identifier(database or transport.database)
    transport.insert_arrow(f"{db}.scores", data, dedup_token=dedup_token)


def insert_scores(
    transport: ClickHouseTransport,
    database: str | None,
    rows: Sequence[Mapping[str, Any]],
    *,
    dedup_token: str | None = None,
) -> int:
    """Insert the rows in one block (``ingested_at`` is filled by ClickHouse); returns the row count.

    ``database`` None means the transport's. Re-inserting a row with the same id, name, project and day
    replaces it (reads de-duplicate; see the module doc)."""
    if not rows:
        return 0
    insert_scores_arrow(transport, database, scores_to_arrow(rows), dedup_token=dedup_token)
    return len(rows)


class ScoreFilter(BaseModel):
    """Filters shared by the score listing and analytics (all optional, combined with AND)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=200)
    source: str | None = Field(None, max_length=32)
    data_type: str | None = Field(None, max_length=16)
    trace_id: str | None = Field(None, max_length=64)
    span_id: str | None = Field(None, max_length=32)
    session_id: str | None = Field(None, max_length=256)
    evaluator_name: str | None = Field(None, max_length=256)
    min_value: float | None = None
    max_value: float | None = None
    start_ns: int | None = Field(None, ge=0, lt=2**63)
    end_ns: int | None = Field(None, ge=0, lt=2**63)


_EQUALITY = ("name", "source", "data_type", "trace_id", "span_id", "session_id", "evaluator_name")


def score_filter_sql(
    flt: ScoreFilter, params: dict[str, Any], *, alias: str = "", prefix: str = ""
) -> list[str]:
    """WHERE conditions for ``flt`` (project condition not included); adds their parameters to
    ``params`` under ``prefix``-ed names so two filters can share one statement."""
    col = f"{alias}." if alias else ""
    where: list[str] = []
    for column in _EQUALITY:
        value = getattr(flt, column)
        if value is not None:
            params[prefix + column] = value
            where.append(f"{col}{column} = {{{prefix}{column}:String}}")
    if flt.min_value is not None:
        params[prefix + "min_value"] = flt.min_value
        where.append(f"{col}value >= {{{prefix}min_value:Float64}}")
    if flt.max_value is not None:
        params[prefix + "max_value"] = flt.max_value
        where.append(f"{col}value <= {{{prefix}max_value:Float64}}")
    if flt.start_ns is not None:
        params[prefix + "start_ns"] = flt.start_ns
        where.append(f"{col}timestamp >= {_NS % (prefix + 'start_ns')}")
    if flt.end_ns is not None:
        params[prefix + "end_ns"] = flt.end_ns
        where.append(f"{col}timestamp < {_NS % (prefix + 'end_ns')}")
    return where


class ScoreItem(BaseModel):
    id: str
    trace_id: str
    span_id: str
    session_id: str
    name: str
    value: float
    string_value: str
    data_type: str
    source: str
    comment: str
    evaluator_name: str
    evaluator_version: str
    timestamp: int = Field(description="Unix time in nanoseconds")


class ScorePage(BaseModel):
    items: list[ScoreItem]
    next_cursor: str | None = None


def list_scores(
    transport: ClickHouseTransport,
    project_id: str,
    flt: ScoreFilter,
    *,
    cursor: str | None = None,
    limit: int = 50,
    database: str | None = None,
) -> ScorePage:
    """One page of the project's scores, newest first (ties by id); InvalidCursor for a bad cursor."""
    limit = max(1, min(MAX_LIMIT, int(limit)))
    params: dict[str, Any] = {"project_id": project_id, "limit": limit + 1}
    where = ["project_id = {project_id:String}", *score_filter_sql(flt, params)]
    if cursor is not None:
        value, last_id = decode_keyset(cursor, scope="scores", sort="timestamp", order="desc", ties=1)
        params.update(cursor_ns=int(check_value(value, "Int64")), cursor_id=last_id)
        where.append("(toUnixTimestamp64Nano(timestamp), id) < ({cursor_ns:Int64}, {cursor_id:String})")
        where.append(f"timestamp <= {_NS % 'cursor_ns'}")  # lets the primary key's day prefix prune
    rows = transport.query(
        "SELECT id, trace_id, span_id, session_id, name, value, string_value, data_type, source, comment,\n"
        "    evaluator_name, evaluator_version, toUnixTimestamp64Nano(timestamp) AS ts\n"
        f"FROM {qualified_table(transport, database, 'scores')} FINAL\n"
        f"WHERE {' AND '.join(where)}\n"
        "ORDER BY ts DESC, id DESC\nLIMIT {limit:UInt32}",
        params,
    )
    items = [
        ScoreItem(**{k: v for k, v in row.items() if k != "ts"}, timestamp=int(row["ts"]))
        for row in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_keyset("scores", "timestamp", "desc", str(last.timestamp), last.id)
    return ScorePage(items=items, next_cursor=next_cursor)
