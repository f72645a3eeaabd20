"""Writing and listing ``guardrail_events`` (one row per failed rule or policy timeout).

Rows are plain mappings with the table's column names (the guardrails engine's ``GuardrailEvent.as_row()``
produces them; storage does not import the engine). Listings are project-scoped, newest first, with keyset
cursors over ``(timestamp, id)``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from pydantic import BaseModel, Field

from otelguard.storage.clickhouse.keyset import check_value, decode_keyset, encode_keyset
from otelguard.storage.clickhouse.traces import qualified_table
from otelguard.storage.clickhouse.transport import ClickHouseTransport, validate_identifier

__all__ = [
    "GUARDRAIL_EVENTS_ARROW_SCHEMA",
    "GuardrailEventFilter",
    "GuardrailEventItem",
    "GuardrailEventPage",
    "insert_guardrail_events",
    "list_guardrail_events",
]

_STR = pa.string()
_TS = pa.timestamp("ns", tz="UTC")
GUARDRAIL_EVENTS_ARROW_SCHEMA: pa.Schema = pa.schema(
    [
        pa.field(name, typ, nullable=False)
        for name, typ in (
            ("id", _STR),
            ("project_id", _STR),
            ("trace_id", _STR),
            ("span_id", _STR),
            ("timestamp", _TS),
            ("policy", _STR),
            ("policy_version", _STR),
            ("rule", _STR),
            ("validator", _STR),
            ("stage", _STR),
            ("action", _STR),
            ("verdict", _STR),
            ("findings", _STR),
            ("latency_us", pa.uint64()),
            ("shadow", pa.bool_()),
        )
    ]
)
_COLUMNS = tuple(GUARDRAIL_EVENTS_ARROW_SCHEMA.names)
MAX_LIMIT = 1000
_NS = "fromUnixTimestamp64Nano({%s:Int64}, 'UTC')"


def _timestamp(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(float(value), UTC)


def guardrail_events_to_arrow(rows: Sequence[Mapping[str, Any]]) -> pa.Table:
    columns: dict[str, list[Any]] = {name: [] for name in _COLUMNS}
    for row in rows:
        for name in _COLUMNS:
            value = row[name]
            if name == "timestamp":
                value = _timestamp(value)
            elif name == "latency_us":
                value = max(0, int(value))
            elif name == "shadow":
                value = bool(value)
            else:
                value = str(value)
            columns[name].append(value)
    arrays = [pa.array(columns[f.name], type=f.type) for f in GUARDRAIL_EVENTS_ARROW_SCHEMA]
    return pa.Table.from_arrays(arrays, schema=GUARDRAIL_EVENTS_ARROW_SCHEMA)


def insert_guardrail_events(
    transport: ClickHouseTransport,
    rows: Sequence[Mapping[str, Any]],
    *,
    dedup_token: str | None = None,
    database: str | None = None,
) -> None:
    """Insert the events in one block (``ingested_at`` is filled by ClickHouse)."""
    if not rows:
        return
    db = validate_identifier(database or transport.database)
    transport.insert_arrow(f"{db}.guardrail_events", guardrail_events_to_arrow(rows), dedup_token=dedup_token)


class GuardrailEventFilter(BaseModel):
    start_ns: int | None = None
    end_ns: int | None = None
    policy: str | None = Field(None, max_length=512)
    validator: str | None = Field(None, max_length=128)
    action: str | None = Field(None, max_length=64, description="One action of the event's chain")
    stage: str | None = Field(None, max_length=16)
    shadow: bool | None = None
    verdict: str | None = Field(None, max_length=16)
    trace_id: str | None = Field(None, max_length=64)


class GuardrailEventItem(BaseModel):
    id: str
    trace_id: str
    span_id: str
    timestamp: int = Field(description="Unix time in nanoseconds")
    policy: str
    policy_version: str
    rule: str
    validator: str
    stage: str
    action: str
    verdict: str
    findings: list[dict[str, Any]]
    latency_us: int
    shadow: bool


class GuardrailEventPage(BaseModel):
    items: list[GuardrailEventItem]
    next_cursor: str | None = None


def list_guardrail_events(
    transport: ClickHouseTransport,
    project_id: str,
    flt: GuardrailEventFilter,
    *,
    cursor: str | None = None,
    limit: int = 50,
    database: str | None = None,
) -> GuardrailEventPage:
    """One page of the project's events, newest first (ties by id); InvalidCursor for a bad cursor."""
    limit = max(1, min(MAX_LIMIT, int(limit)))
    params: dict[str, Any] = {"project_id": project_id, "limit": limit + 1}
    where = ["project_id = {project_id:String}"]
    if flt.start_ns is not None:
        params["start_ns"] = flt.start_ns
        where.append(f"timestamp >= {_NS % 'start_ns'}")
    if flt.end_ns is not None:
        params["end_ns"] = flt.end_ns
        where.append(f"timestamp < {_NS % 'end_ns'}")
    for column in ("policy", "validator", "stage", "verdict", "trace_id"):
        value = getattr(flt, column)
        if value is not None:
            params[column] = value
            where.append(f"{column} = {{{column}:String}}")
    if flt.action is not None:
        params["action"] = flt.action
        where.append("has(splitByChar(',', toString(action)), {action:String})")
    if flt.shadow is not None:
        params["shadow"] = flt.shadow
        where.append("shadow = {shadow:Bool}")
    if cursor is not None:
        value, last_id = decode_keyset(
            cursor, scope="guardrail_events", sort="timestamp", order="desc", ties=1
        )
        params.update(cursor_ns=int(check_value(value, "Int64")), cursor_id=last_id)
        where.append("(toUnixTimestamp64Nano(timestamp), id) < ({cursor_ns:Int64}, {cursor_id:String})")
        where.append(f"timestamp <= {_NS % 'cursor_ns'}")  # lets the primary key's hour prefix prune
    rows = transport.query(
        "SELECT id, trace_id, span_id, toUnixTimestamp64Nano(timestamp) AS ts, policy, policy_version,\n"
        "    rule, validator, stage, action, verdict, findings, latency_us, shadow\n"
        f"FROM {qualified_table(transport, database, 'guardrail_events')}\n"
        f"WHERE {' AND '.join(where)}\n"
        "ORDER BY ts DESC, id DESC, ingested_at DESC\nLIMIT 1 BY id\nLIMIT {limit:UInt32}",
        params,
    )
    items = [_item(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_keyset("guardrail_events", "timestamp", "desc", str(last.timestamp), last.id)
    return GuardrailEventPage(items=items, next_cursor=next_cursor)


def _item(row: dict[str, Any]) -> GuardrailEventItem:
    try:
        findings = json.loads(row["findings"]) if row["findings"] else []
    except ValueError:
        findings = []
    fields = {k: v for k, v in row.items() if k not in ("ts", "findings")}
    return GuardrailEventItem(
        **fields,
        timestamp=int(row["ts"]),
        findings=findings if isinstance(findings, list) else [],
    )
