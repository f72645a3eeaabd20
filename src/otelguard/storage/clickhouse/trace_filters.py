"""The trace list with every filter and sort: ``query_traces`` (and ``iter_traces`` for exports).

Same two statements as ``traces.list_traces``: (1) choose the page's trace ids from the ``traces``
aggregate rows — grouped by trace, filtered in ``HAVING``, ordered by the sort column and ``trace_id``,
keyset-bounded by the cursor; (2) aggregate those ids completely, reading only the rows from their
earliest start on (``traces.page_floor_ns``, given the lower time bound of the rows step 1 read).

Span-level filters (provider, prompt, text search) and ``has_guardrail_event`` are semi-joins
(``trace_id GLOBAL IN (...)``) on ``spans`` / ``guardrail_events`` of the same project, bounded by the
time range when one is given. Row pruning by time keeps one day of slack wherever a pruned row could
change an aggregate the query filters or sorts on (as in ``traces.py``, only traces running for more
than a day across a bound can be misjudged).

The default order (newest first), without span-level, event, user or session filters, first tries the
newest hour of rows (``PROBE_NS`` below the page's upper bound): a trace whose first start is at or after
that floor has all its rows there, so the probe judges it exactly; a trace that only *appears* to start
there (it has older rows) is recognised by its first start in ``trace_index`` and dropped. When the probe
leaves a full page of exactly judged traces, those are the page (at 1M spans: ~4 ms and a ~5 ms lookup
instead of ~16 ms aggregating the whole day); otherwise the full statement runs.

Sort values are compared exactly: integers as Int64/UInt64, cost as a Decimal128(12) sum (a Float64 sum
depends on the order rows are added in, which would make keyset pages skip or repeat), and every sort is
made unique with ``trace_id``. Only whitelisted expressions reach the SQL text; values are parameters.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Iterator
from typing import Any

from otelguard.storage.clickhouse.keyset import check_value, decode_keyset, encode_keyset
from otelguard.storage.clickhouse.models import TracePage, TraceQuery, TraceSummary
from otelguard.storage.clickhouse.traces import (
    MAX_LIMIT,
    START_SLACK_NS,
    first_starts,
    page_floor_ns,
    qualified_table,
)
from otelguard.storage.clickhouse.transport import ClickHouseTransport

__all__ = ["EXPORT_MAX_ROWS", "TRACE_SORTS", "iter_traces", "query_traces", "table_name"]

EXPORT_MAX_ROWS = 100_000
PROBE_NS = 3_600 * 10**9  # the newest-first list first reads this much below its upper bound
_PROBE_MARGIN = 20  # candidates beyond the page, so a few dropped ones do not force the full statement
_NS = "fromUnixTimestamp64Nano({%s:Int64}, 'UTC')"
_MAX_NS = 2**63 - 1
COST_DECIMAL = "sum(toDecimal128(if(isFinite(t.total_cost), t.total_cost, 0), 12))"

# sort name → (expression over the grouped ``traces AS t`` rows, ClickHouse type of its value)
TRACE_SORTS: dict[str, tuple[str, str]] = {
    "start_time": ("toUnixTimestamp64Nano(min(t.start_time))", "Int64"),
    "end_time": ("toUnixTimestamp64Nano(max(t.end_time))", "Int64"),
    "latency": ("toUnixTimestamp64Nano(max(t.end_time)) - toUnixTimestamp64Nano(min(t.start_time))", "Int64"),
    "cost": (COST_DECIMAL, "Decimal128(12)"),
    "total_tokens": ("sum(t.total_tokens)", "UInt64"),
    "input_tokens": ("sum(t.input_tokens)", "UInt64"),
    "output_tokens": ("sum(t.output_tokens)", "UInt64"),
    "span_count": ("sum(t.span_count)", "UInt64"),
    "error_count": ("sum(t.error_count)", "UInt64"),
    "name": ("if(max(t.root_name) != '', max(t.root_name), argMinMerge(t.first_name))", "String"),
    "user_id": ("max(t.user_id)", "String"),
    "session_id": ("max(t.session_id)", "String"),
    "trace_id": ("t.trace_id", "String"),
}

_AGGREGATES = """
    t.trace_id AS trace_id,
    toUnixTimestamp64Nano(min(t.start_time)) AS start_ns,
    toUnixTimestamp64Nano(max(t.end_time)) AS end_ns,
    if(max(t.root_name) != '', max(t.root_name), argMinMerge(t.first_name)) AS trace_name,
    max(t.user_id) AS user_id,
    max(t.session_id) AS session_id,
    groupUniqArrayArray(t.models) AS models,
    groupUniqArrayArray(t.tags) AS tags,
    sum(t.input_tokens) AS input_tokens,
    sum(t.output_tokens) AS output_tokens,
    sum(t.total_tokens) AS total_tokens,
    sum(t.total_cost) AS total_cost,
    sum(t.span_count) AS span_count,
    sum(t.error_count) AS error_count"""

_HAS_WORD = re.compile(r"[A-Za-z0-9]")


def table_name(transport: ClickHouseTransport, database: str | None, name: str) -> str:
    return qualified_table(transport, database, name)


def _ns_ceil(ms: float) -> int:
    return min(_MAX_NS, math.ceil(ms * 1e6))


def _ns_floor(ms: float) -> int:
    return min(_MAX_NS, math.floor(ms * 1e6))


class _Sql:
    """Accumulates conditions and their parameters (values are never put into the SQL text)."""

    def __init__(self, project_id: str) -> None:
        self.params: dict[str, Any] = {"project_id": project_id}
        self.where: list[str] = []
        self.having: list[str] = []

    def bind(self, name: str, value: Any) -> str:
        self.params[name] = value
        return name


def _span_semi_join(q: TraceQuery, sql: _Sql, spans: str, condition: str) -> str:
    bounds = []
    if q.start_ns is not None:
        bounds.append(f"start_time >= {_NS % 'span_floor_ns'}")
        sql.bind("span_floor_ns", max(0, q.start_ns - START_SLACK_NS))
    if q.end_ns is not None:
        bounds.append(f"start_time < {_NS % 'span_ceil_ns'}")
        sql.bind("span_ceil_ns", min(_MAX_NS, q.end_ns + START_SLACK_NS))
    extra = "".join(f" AND {b}" for b in bounds)
    return (
        f"t.trace_id GLOBAL IN (SELECT trace_id FROM {spans} "
        f"WHERE project_id = {{project_id:String}}{extra} AND ({condition}))"
    )


def _search_condition(q: TraceQuery, sql: _Sql) -> str:
    assert q.search is not None
    if q.search_mode == "tokens" and _HAS_WORD.search(q.search):
        # the text indexes lower-case the column; lower-case the words the same way
        sql.bind("search", q.search.lower())
        return "hasAllTokens(input, {search:String}) OR hasAllTokens(output, {search:String})"
    sql.bind("search", q.search)
    return (
        "positionCaseInsensitiveUTF8(input, {search:String}) > 0"
        " OR positionCaseInsensitiveUTF8(output, {search:String}) > 0"
    )


def _build(
    transport: ClickHouseTransport,
    project_id: str,
    q: TraceQuery,
    cursor: str | None,
    limit: int,
    database: str | None,
) -> tuple[str, str, dict[str, Any], int, tuple[str, int] | None]:
    """(statement choosing the page's ids, statement aggregating them, parameters of the first, the
    lower ``start_time`` bound of the rows the first reads: 0 if none, and the probe: the first statement
    limited to rows from a floor on, with that floor — None when the order is not newest first or the
    window is no wider than the probe)."""
    traces = qualified_table(transport, database, "traces")
    spans = qualified_table(transport, database, "spans")
    events = qualified_table(transport, database, "guardrail_events")
    sort_expr, sort_type = TRACE_SORTS[q.sort]
    desc = q.order == "desc"
    sql = _Sql(project_id)
    sql.bind("limit", limit + 1)

    # HAVING: exact conditions on the whole (possibly pruned) trace aggregate
    if q.start_ns is not None:
        sql.having.append(f"min(t.start_time) >= {_NS % sql.bind('start_ns', q.start_ns)}")
    if q.end_ns is not None:
        sql.having.append(f"min(t.start_time) < {_NS % sql.bind('end_ns', q.end_ns)}")
    if q.user_id is not None:
        sql.having.append(f"max(t.user_id) = {{{sql.bind('user_id', q.user_id)}:String}}")
    if q.session_id is not None:
        sql.having.append(f"max(t.session_id) = {{{sql.bind('session_id', q.session_id)}:String}}")
    if q.model is not None:
        # "some row has it": no per-trace array to build
        sql.having.append(f"max(has(t.models, {{{sql.bind('model', q.model)}:String}}))")
    if q.tags:
        tags = f"{{{sql.bind('tags', list(q.tags))}:Array(String)}}"
        if q.tags_mode == "any":
            sql.having.append(f"max(hasAny(t.tags, {tags}))")
        else:
            sql.having.append(f"hasAll(groupUniqArrayArray(t.tags), {tags})")
    if q.has_error is not None:
        sql.having.append("sum(t.error_count) > 0" if q.has_error else "sum(t.error_count) = 0")
    latency = TRACE_SORTS["latency"][0]
    if q.min_latency_ms is not None:
        sql.having.append(f"{latency} >= {{{sql.bind('min_latency_ns', _ns_ceil(q.min_latency_ms))}:Int64}}")
    if q.max_latency_ms is not None:
        sql.having.append(f"{latency} <= {{{sql.bind('max_latency_ns', _ns_floor(q.max_latency_ms))}:Int64}}")
    if q.min_cost is not None:
        sql.having.append(f"sum(t.total_cost) >= {{{sql.bind('min_cost', q.min_cost)}:Float64}}")
    if q.max_cost is not None:
        sql.having.append(f"sum(t.total_cost) <= {{{sql.bind('max_cost', q.max_cost)}:Float64}}")

    # Exact row pruning is safe only when nothing but the trace's start is looked at.
    exact = q.sort in ("start_time", "trace_id") and len(sql.having) == (q.start_ns is not None) + (
        q.end_ns is not None
    )
    slack = 0 if exact else START_SLACK_NS
    seen_from = 0  # step 1 reads every row from here on (raised by each lower bound on start_time)

    upper = q.end_ns  # the newest first start the page may hold (for the probe)
    if cursor is not None:
        value, trace_id = decode_keyset(cursor, scope="traces", sort=q.sort, order=q.order, ties=1)
        check_value(value, sort_type)
        cmp = "<" if desc else ">"
        sql.bind("cursor_value", value)
        sql.bind("cursor_trace", trace_id)
        sql.having.append(
            f"({sort_expr}, t.trace_id) {cmp} ({{cursor_value:{sort_type}}}, {{cursor_trace:String}})"
        )
        if q.sort == "start_time":
            if desc:
                cap = int(value) + 1  # the cursor's own start may repeat (ties by trace_id)
                upper = cap if upper is None else min(upper, cap)
                sql.where.append(f"t.start_time <= {_NS % 'cursor_prune_ns'}")
                sql.bind("cursor_prune_ns", min(_MAX_NS, int(value) + slack))
            else:
                sql.where.append(f"t.start_time >= {_NS % 'cursor_prune_ns'}")
                seen_from = max(0, int(value) - START_SLACK_NS)
                sql.bind("cursor_prune_ns", seen_from)

    # WHERE: prune aggregate rows by time
    if q.start_ns is not None:
        start_floor = max(0, q.start_ns - START_SLACK_NS)
        sql.where.append(f"t.start_time >= {_NS % sql.bind('start_floor_ns', start_floor)}")
        seen_from = max(seen_from, start_floor)
    if q.end_ns is not None:
        sql.where.append(f"t.start_time < {_NS % sql.bind('end_ceil_ns', min(_MAX_NS, q.end_ns + slack))}")

    # semi-joins on spans and guardrail events
    if q.provider is not None:
        sql.bind("provider", q.provider)
        sql.where.append(_span_semi_join(q, sql, spans, "provider = {provider:String}"))
    if q.prompt_name is not None or q.prompt_version is not None:
        parts = []
        if q.prompt_name is not None:
            parts.append(f"prompt_name = {{{sql.bind('prompt_name', q.prompt_name)}:String}}")
        if q.prompt_version is not None:
            parts.append(f"prompt_version = {{{sql.bind('prompt_version', q.prompt_version)}:UInt32}}")
        sql.where.append(_span_semi_join(q, sql, spans, " AND ".join(parts)))
    if q.search is not None:
        sql.where.append(_span_semi_join(q, sql, spans, _search_condition(q, sql)))
    if q.has_guardrail_event is not None:
        neg = "" if q.has_guardrail_event else " NOT"
        sql.where.append(
            f"t.trace_id GLOBAL{neg} IN (SELECT trace_id FROM {events} "
            "WHERE project_id = {project_id:String})"
        )

    direction = "DESC" if desc else "ASC"

    def choose(extra: str, limit_param: str) -> str:
        return (
            "SELECT t.trace_id AS trace_id, toUnixTimestamp64Nano(min(t.start_time)) AS first_ns\n"
            f"FROM {traces} AS t\n"
            "WHERE t.project_id = {project_id:String}"
            + "".join(f"\n  AND {w}" for w in [*sql.where, *([extra] if extra else [])])
            + "\nGROUP BY t.trace_id\n"
            + f"HAVING {' AND '.join(sql.having) or '1'}\n"
            + f"ORDER BY {sort_expr} {direction}, t.trace_id {direction}\n"
            + f"LIMIT {{{limit_param}:UInt32}}"
        )

    page = choose("", "limit")
    probe: tuple[str, int] | None = None
    # Not for span-level or event filters (the probe would run their semi-join once more, and they are
    # usually too selective for one hour to fill a page) nor for one user's or session's traces.
    narrow = (
        q.provider,
        q.prompt_name,
        q.prompt_version,
        q.search,
        q.has_guardrail_event,
        q.user_id,
        q.session_id,
    )
    if q.sort == "start_time" and desc and all(v is None for v in narrow):
        floor = (time.time_ns() if upper is None else upper) - PROBE_NS
        if floor > (q.start_ns or 0):
            probe = (choose(f"t.start_time >= {_NS % 'probe_floor_ns'}", "probe_limit"), floor)
    totals = (
        f"SELECT{_AGGREGATES},\n    {sort_expr} AS sort_key,\n    toString(sort_key) AS sort_value\n"
        f"FROM {traces} AS t\n"
        "WHERE t.project_id = {project_id:String} AND t.trace_id IN {page_ids:Array(String)}\n"
        f"  AND t.start_time >= {_NS % 'page_floor_ns'}\n"
        f"GROUP BY t.trace_id\nORDER BY sort_key {direction}, trace_id {direction}"
    )
    return page, totals, sql.params, seen_from, probe


def _probed(
    transport: ClickHouseTransport,
    project_id: str,
    probe: tuple[str, int],
    params: dict[str, Any],
    limit: int,
    database: str | None,
) -> list[dict[str, Any]] | None:
    """The page's ``limit + 1`` rows chosen from the probe's rows, or None when the probe cannot decide."""
    statement, floor = probe
    rows = transport.query(
        statement, {**params, "probe_floor_ns": floor, "probe_limit": limit + 1 + _PROBE_MARGIN}
    )
    if len(rows) < limit + 1:
        return None  # older traces may belong on the page
    firsts = first_starts(transport, project_id, [str(r["trace_id"]) for r in rows], database)
    exact = [r for r in rows if firsts.get(str(r["trace_id"]), -1) >= floor]
    return exact[: limit + 1] if len(exact) >= limit + 1 else None


def query_traces(
    transport: ClickHouseTransport,
    project_id: str,
    q: TraceQuery,
    *,
    cursor: str | None = None,
    limit: int = 50,
    database: str | None = None,
) -> TracePage:
    """One page of the project's traces matching ``q``, in ``q.sort``/``q.order`` (ties by trace_id).

    ``limit`` is clamped to [1, 1000]. A malformed cursor, or one from another sort or order, raises
    ``InvalidCursor``. ``next_cursor`` is None on the last page.
    """
    limit = max(1, min(MAX_LIMIT, int(limit)))
    page, totals, params, seen_from, probe = _build(transport, project_id, q, cursor, limit, database)
    chosen = _probed(transport, project_id, probe, params, limit, database) if probe else None
    if chosen is not None:  # every row of these traces starts at or after its first start
        floor = min(int(row["first_ns"]) for row in chosen)
    else:
        chosen = transport.query(page, params)
        if not chosen:
            return TracePage(items=[], next_cursor=None)
        floor = page_floor_ns([int(row["first_ns"]) for row in chosen], seen_from)
    ids = [str(row["trace_id"]) for row in chosen]
    rows = transport.query(totals, {"project_id": project_id, "page_ids": ids, "page_floor_ns": floor})
    items = [_summary(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_keyset("traces", q.sort, q.order, str(last["sort_value"]), last["trace_id"])
    return TracePage(items=items, next_cursor=next_cursor)


def iter_traces(
    transport: ClickHouseTransport,
    project_id: str,
    q: TraceQuery,
    *,
    max_rows: int = EXPORT_MAX_ROWS,
    database: str | None = None,
) -> Iterator[TraceSummary]:
    """Every trace matching ``q`` (at most ``max_rows``), page by page: for streamed exports."""
    cursor: str | None = None
    left = max(0, int(max_rows))
    while left > 0:
        page = query_traces(
            transport, project_id, q, cursor=cursor, limit=min(MAX_LIMIT, left), database=database
        )
        yield from page.items
        left -= len(page.items)
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def _summary(row: dict[str, Any]) -> TraceSummary:
    start, end = int(row["start_ns"]), int(row["end_ns"])
    return TraceSummary(
        trace_id=row["trace_id"],
        name=row["trace_name"],
        start_time=start,
        end_time=end,
        latency_ms=max(0, end - start) / 1e6,
        user_id=row["user_id"],
        session_id=row["session_id"],
        models=sorted(row["models"]),
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        total_tokens=row["total_tokens"],
        total_cost=float(row["total_cost"] or 0.0),
        span_count=row["span_count"],
        error_count=row["error_count"],
        tags=sorted(row["tags"]),
    )
