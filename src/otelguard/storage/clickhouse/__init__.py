"""ClickHouse storage: transports (chDB embedded, HTTP server), schema migrations, span writes, trace reads.

Imports stdlib, ``otelguard.model``, pyarrow, pydantic, chdb and clickhouse_connect only.
"""

from otelguard.storage.clickhouse.cursor import InvalidCursor, decode_cursor, encode_cursor
from otelguard.storage.clickhouse.ddl import Retention
from otelguard.storage.clickhouse.migrations import MIGRATIONS, migrate, render_ddl
from otelguard.storage.clickhouse.models import SpanNode, TraceDetail, TraceFilter, TracePage, TraceSummary
from otelguard.storage.clickhouse.spans import SPANS_ARROW_SCHEMA, insert_spans, spans_to_arrow
from otelguard.storage.clickhouse.traces import get_trace, list_traces
from otelguard.storage.clickhouse.transport import ClickHouseError, ClickHouseTransport, connect

__all__ = [
    "MIGRATIONS",
    "SPANS_ARROW_SCHEMA",
    "ClickHouseError",
    "ClickHouseTransport",
    "InvalidCursor",
    "Retention",
    "SpanNode",
    "TraceDetail",
    "TraceFilter",
    "TracePage",
    "TraceSummary",
    "connect",
    "decode_cursor",
    "encode_cursor",
    "get_trace",
    "insert_spans",
    "list_traces",
    "migrate",
    "render_ddl",
    "spans_to_arrow",
]
