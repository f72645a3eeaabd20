"""ClickHouse storage: transports (chDB embedded, HTTP server), schema migrations, span writes, trace reads.

Imports stdlib, ``otelguard.model``, pyarrow, pydantic, chdb and clickhouse_connect only.
"""

from otelguard.storage.clickhouse.cursor import InvalidCursor, decode_cursor, encode_cursor
from otelguard.storage.clickhouse.ddl import Retention
from otelguard.storage.clickhouse.keyset import decode_keyset, encode_keyset
from otelguard.storage.clickhouse.metrics_query import (
    MetricPoint,
    MetricQuery,
    MetricQueryError,
    MetricResult,
    MetricSeries,
    query_metric,
)
from otelguard.storage.clickhouse.migrations import MIGRATIONS, migrate, render_ddl
from otelguard.storage.clickhouse.models import (
    GenerationFilter,
    GenerationPage,
    GenerationSummary,
    SessionDetail,
    SessionFilter,
    SessionPage,
    SessionSummary,
    SessionTrace,
    SpanNode,
    TraceDetail,
    TraceFilter,
    TracePage,
    TraceQuery,
    TraceSummary,
    UserActivityPoint,
    UserDetail,
    UserFilter,
    UserPage,
    UserSummary,
)
from otelguard.storage.clickhouse.rollups import (
    get_session_summary,
    get_user_summary,
    list_sessions,
    list_users,
    user_activity,
)
from otelguard.storage.clickhouse.session_traces import session_traces
from otelguard.storage.clickhouse.spans import SPANS_ARROW_SCHEMA, insert_spans, spans_to_arrow
from otelguard.storage.clickhouse.spans_query import get_span, list_generations
from otelguard.storage.clickhouse.trace_filters import EXPORT_MAX_ROWS, iter_traces, query_traces
from otelguard.storage.clickhouse.traces import get_trace, list_traces
from otelguard.storage.clickhouse.transport import ClickHouseError, ClickHouseTransport, connect

__all__ = [
    "EXPORT_MAX_ROWS",
    "MIGRATIONS",
    "SPANS_ARROW_SCHEMA",
    "ClickHouseError",
    "ClickHouseTransport",
    "GenerationFilter",
    "GenerationPage",
    "GenerationSummary",
    "InvalidCursor",
    "MetricPoint",
    "MetricQuery",
    "MetricQueryError",
    "MetricResult",
    "MetricSeries",
    "Retention",
    "SessionDetail",
    "SessionFilter",
    "SessionPage",
    "SessionSummary",
    "SessionTrace",
    "SpanNode",
    "TraceDetail",
    "TraceFilter",
    "TracePage",
    "TraceQuery",
    "TraceSummary",
    "UserActivityPoint",
    "UserDetail",
    "UserFilter",
    "UserPage",
    "UserSummary",
    "connect",
    "decode_cursor",
    "decode_keyset",
    "encode_cursor",
    "encode_keyset",
    "get_session_summary",
    "get_span",
    "get_trace",
    "get_user_summary",
    "insert_spans",
    "iter_traces",
    "list_generations",
    "list_sessions",
    "list_traces",
    "list_users",
    "migrate",
    "query_metric",
    "query_traces",
    "render_ddl",
    "session_traces",
    "spans_to_arrow",
    "user_activity",
]

# Guardrail decisions (written by the guard service, listed by the API).
from otelguard.storage.clickhouse.guardrail_events import (
    GuardrailEventFilter,
    GuardrailEventItem,
    GuardrailEventPage,
    insert_guardrail_events,
    list_guardrail_events,
)

__all__ += [
    "GuardrailEventFilter",
    "GuardrailEventItem",
    "GuardrailEventPage",
    "insert_guardrail_events",
    "list_guardrail_events",
]
