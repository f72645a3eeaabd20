"""Writing spans: ``SpanRecord`` rows → one Arrow table (column-wise) → one ClickHouse insert."""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Sequence

import pyarrow as pa

from otelguard.model import SpanRecord
from otelguard.storage.clickhouse.transport import ClickHouseTransport, validate_identifier

__all__ = ["SPANS_ARROW_SCHEMA", "SPAN_FIELDS", "insert_spans", "spans_to_arrow"]

SPAN_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(SpanRecord))

_STR = pa.string()
_U64 = pa.uint64()
_TS = pa.timestamp("ns", tz="UTC")
_ARROW_TYPES: dict[str, pa.DataType] = {
    "start_time": _TS,
    "end_time": _TS,
    "usage": pa.map_(_STR, _U64),
    "cost": pa.map_(_STR, pa.float64()),
    "input_tokens": _U64,
    "output_tokens": _U64,
    "total_tokens": _U64,
    "total_cost": pa.float64(),
    "tags": pa.list_(_STR),
    "prompt_version": pa.uint32(),
    "input_size": _U64,
    "output_size": _U64,
    "input_truncated": pa.bool_(),
    "output_truncated": pa.bool_(),
    "attributes": pa.map_(_STR, _STR),
    "resource_attributes": pa.map_(_STR, _STR),
}
SPANS_ARROW_SCHEMA: pa.Schema = pa.schema(
    [pa.field(name, _ARROW_TYPES.get(name, _STR), nullable=False) for name in SPAN_FIELDS]
)
_GET_ROW = operator.attrgetter(*SPAN_FIELDS)


def spans_to_arrow(records: Sequence[SpanRecord]) -> pa.Table:
    """The spans as an Arrow table whose columns are ``SpanRecord``'s fields, in order.

    Raises ``OverflowError``/``pyarrow.ArrowInvalid`` for values the column types cannot hold (e.g. a
    negative token count); the normalizer is expected to produce valid records.
    """
    if not records:
        return SPANS_ARROW_SCHEMA.empty_table()
    columns = zip(*map(_GET_ROW, records), strict=True)
    arrays = [pa.array(values, type=f.type) for values, f in zip(columns, SPANS_ARROW_SCHEMA, strict=True)]
    return pa.Table.from_arrays(arrays, schema=SPANS_ARROW_SCHEMA)


def insert_spans(
    transport: ClickHouseTransport,
    records: Sequence[SpanRecord],
    *,
    dedup_token: str | None = None,
    database: str | None = None,
) -> None:
    """Insert the spans in one block. With ``dedup_token``, re-inserting the same token is a no-op
    (within the table's last 10,000 inserts), which makes replaying a batch after a crash exactly-once.
    """
    if not records:
        return
    db = validate_identifier(database or transport.database)
    transport.insert_arrow(f"{db}.spans", spans_to_arrow(records), dedup_token=dedup_token)
