"""Reading single spans and the list of LLM generations (spans of kind ``llm``) across traces."""

from __future__ import annotations

from typing import Any

from otelguard.storage.clickhouse.keyset import check_value, decode_keyset, encode_keyset
from otelguard.storage.clickhouse.models import GenerationFilter, GenerationPage, GenerationSummary, SpanNode
from otelguard.storage.clickhouse.traces import (
    MAX_LIMIT,
    SPAN_COLUMNS,
    qualified_table,
    span_node,
    trace_bounds,
)
from otelguard.storage.clickhouse.transport import ClickHouseTransport

__all__ = ["GENERATION_SORTS", "get_span", "list_generations"]

_NS = "fromUnixTimestamp64Nano({%s:Int64}, 'UTC')"

GENERATION_SORTS: dict[str, tuple[str, str]] = {
    "start_time": ("toUnixTimestamp64Nano(s.start_time)", "Int64"),
    "latency": ("toUnixTimestamp64Nano(s.end_time) - toUnixTimestamp64Nano(s.start_time)", "Int64"),
    "cost": ("toDecimal128(if(isFinite(s.total_cost), s.total_cost, 0), 12)", "Decimal128(12)"),
    "total_tokens": ("s.total_tokens", "UInt64"),
    "model": ("toString(s.model)", "String"),
}

_GENERATION_COLUMNS = """
    s.trace_id AS trace_id, s.span_id AS span_id, s.parent_span_id AS parent_span_id, s.name AS name,
    toUnixTimestamp64Nano(s.start_time) AS start_ns, toUnixTimestamp64Nano(s.end_time) AS end_ns,
    s.status_code AS status_code, s.provider AS provider, s.model AS model, s.request_model AS request_model,
    s.input_tokens AS input_tokens, s.output_tokens AS output_tokens, s.total_tokens AS total_tokens,
    s.total_cost AS total_cost, s.user_id AS user_id, s.session_id AS session_id,
    s.prompt_name AS prompt_name, s.prompt_version AS prompt_version,
    s.input_size AS input_size, s.output_size AS output_size"""


def get_span(
    transport: ClickHouseTransport,
    project_id: str,
    trace_id: str,
    span_id: str,
    *,
    database: str | None = None,
) -> SpanNode | None:
    """One span (the latest ingested copy, no children), or None if the project has no such span."""
    bounds = trace_bounds(transport, project_id, trace_id, database)
    if bounds is None:
        return None
    params: dict[str, Any] = {"project_id": project_id, "trace_id": trace_id, "span_id": span_id}
    params.update(lo=bounds[0], hi=bounds[1])
    rows = transport.query(
        f"SELECT{SPAN_COLUMNS}\nFROM {qualified_table(transport, database, 'spans')}\n"
        "WHERE project_id = {project_id:String} AND trace_id = {trace_id:String}\n"
        "  AND span_id = {span_id:String}\n"
        f"  AND start_time >= {_NS % 'lo'} AND start_time <= {_NS % 'hi'}\n"
        "ORDER BY ingested_at DESC\nLIMIT 1",
        params,
    )
    return span_node(rows[0]) if rows else None


def list_generations(
    transport: ClickHouseTransport,
    project_id: str,
    flt: GenerationFilter,
    *,
    cursor: str | None = None,
    limit: int = 50,
    database: str | None = None,
) -> GenerationPage:
    """One page of LLM spans in ``flt.sort``/``flt.order`` (ties by trace_id, span_id); ``limit`` clamped
    to [1, 1000]; InvalidCursor for a malformed cursor or one from another sort."""
    limit = max(1, min(MAX_LIMIT, int(limit)))
    expr, ch_type = GENERATION_SORTS[flt.sort]
    desc = flt.order == "desc"
    params: dict[str, Any] = {"project_id": project_id, "limit": limit + 1}
    where = ["s.project_id = {project_id:String}", "s.kind = 'llm'"]
    if flt.start_ns is not None:
        params["start_ns"] = flt.start_ns
        where.append(f"s.start_time >= {_NS % 'start_ns'}")
    if flt.end_ns is not None:
        params["end_ns"] = flt.end_ns
        where.append(f"s.start_time < {_NS % 'end_ns'}")
    for column in ("model", "provider", "user_id", "session_id"):
        value = getattr(flt, column)
        if value is not None:
            params[column] = value
            where.append(f"s.{column} = {{{column}:String}}")
    if cursor is not None:
        value, trace_id, span_id = decode_keyset(
            cursor, scope="generations", sort=flt.sort, order=flt.order, ties=2
        )
        params.update(cursor_value=check_value(value, ch_type), cursor_trace=trace_id, cursor_span=span_id)
        cmp = "<" if desc else ">"
        where.append(
            f"({expr}, s.trace_id, s.span_id) {cmp} "
            "({cursor_value:" + ch_type + "}, {cursor_trace:String}, {cursor_span:String})"
        )
        if flt.sort == "start_time":  # lets the primary key's hour prefix prune
            where.append(f"s.start_time {'<=' if desc else '>='} {_NS % 'cursor_value'}")
    direction = "DESC" if desc else "ASC"
    rows = transport.query(
        f"SELECT{_GENERATION_COLUMNS},\n    toString({expr}) AS sort_value\n"
        f"FROM {qualified_table(transport, database, 'spans')} AS s\nWHERE {' AND '.join(where)}\n"
        f"ORDER BY {expr} {direction}, s.trace_id {direction}, s.span_id {direction}, s.ingested_at DESC\n"
        "LIMIT 1 BY s.trace_id, s.span_id\nLIMIT {limit:UInt32}",
        params,
    )
    items = [_generation(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_keyset(
            "generations", flt.sort, flt.order, last["sort_value"], last["trace_id"], last["span_id"]
        )
    return GenerationPage(items=items, next_cursor=next_cursor)


def _generation(row: dict[str, Any]) -> GenerationSummary:
    fields = {k: v for k, v in row.items() if k not in ("start_ns", "end_ns", "sort_value")}
    start, end = int(row["start_ns"]), int(row["end_ns"])
    return GenerationSummary(**fields, start_time=start, end_time=end, latency_ms=max(0, end - start) / 1e6)
