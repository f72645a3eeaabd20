"""Reading traces: a keyset-paginated listing and one trace as a span tree. Every query filters by project.

Listing uses the ``traces`` aggregate table (one row per trace per insert block until merged) in two
statements:

1. pick the page's trace ids — ``GROUP BY trace_id`` over the project's aggregate rows, filtered and
   ordered by the trace's start (newest first), keyset-bounded by the cursor, ``LIMIT limit + 1``;
2. aggregate those ids completely: a primary-key lookup on ``(project_id, trace_id)`` of the rows from
   the page's earliest start on, or from a day before it where step 1 did not see that day
   (``page_floor_ns``; a trace's rows never start before the trace), so totals include every row of
   the trace even when step 1 skipped some for pruning. Parts hold the rows of the hours they were
   inserted in until merged, so the newest page reads only the newest parts.

Step 1 prunes rows by time where that cannot change the answer: rows starting after ``end_ns`` or after
the cursor cannot hold the start of a qualifying trace. For ``start_ns`` it keeps one day of slack
before the bound (and checks the exact bound on the aggregate), so only a trace running for more than a
day across ``start_ns`` could be misjudged. Daily partitions make these bounds skip whole parts.
A filter on "any row has X" is ``max(has(...))`` rather than ``has(groupUniqArrayArray(...))``: the
same answer without building an array per trace.

A trace found by id (``get_trace``) takes its time bounds from ``trace_index`` (one small table ordered
by id, a point lookup), then reads its spans as a primary-key range.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from otelguard.storage.clickhouse.cursor import decode_cursor, encode_cursor
from otelguard.storage.clickhouse.models import SpanNode, TraceDetail, TraceFilter, TracePage, TraceSummary
from otelguard.storage.clickhouse.transport import ClickHouseTransport, quote_identifier, validate_identifier

__all__ = [
    "DEFAULT_MAX_SPANS",
    "MAX_LIMIT",
    "MAX_TREE_DEPTH",
    "build_tree",
    "first_starts",
    "get_trace",
    "list_traces",
    "page_floor_ns",
    "trace_bounds",
]

MAX_LIMIT = 1000
DEFAULT_MAX_SPANS = 10_000
START_SLACK_NS = 86_400 * 10**9
MAX_TREE_DEPTH = 100

_TRACE_AGGREGATES = """
    trace_id,
    toUnixTimestamp64Nano(min(start_time)) AS start_ns,
    toUnixTimestamp64Nano(max(end_time)) AS end_ns,
    max(root_name) AS root_name,
    argMinMerge(first_name) AS first_name,
    max(user_id) AS user_id,
    max(session_id) AS session_id,
    groupUniqArrayArray(models) AS models,
    groupUniqArrayArray(tags) AS tags,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(total_tokens) AS total_tokens,
    sum(total_cost) AS total_cost,
    sum(span_count) AS span_count,
    sum(error_count) AS error_count"""

_NS = "fromUnixTimestamp64Nano({%s:Int64}, 'UTC')"

# SpanRecord columns read back for a trace (times as ns integers, the rest as stored).
SPAN_COLUMNS = """
    trace_id, span_id, parent_span_id, name, kind, otel_kind,
    toUnixTimestamp64Nano(start_time) AS start_ns, toUnixTimestamp64Nano(end_time) AS end_ns,
    status_code, status_message, service_name, scope_name, provider, model, request_model,
    usage, cost, input_tokens, output_tokens, total_tokens, total_cost, cost_source,
    user_id, session_id, tags, prompt_name, prompt_version, input, output, input_size, output_size,
    input_truncated, output_truncated, error_type, error_message, attributes, resource_attributes, events"""


def qualified_table(transport: ClickHouseTransport, database: str | None, name: str) -> str:
    return f"{quote_identifier(validate_identifier(database or transport.database))}.{quote_identifier(name)}"


def page_floor_ns(first_starts: list[int], seen_from_ns: int = 0) -> int:
    """Where step 2 starts reading a page's rows, given the traces' first starts as step 1 saw them and
    the lower time bound of the rows step 1 read (``seen_from_ns``, 0 if it had none).

    One day before the page's earliest start: every row of a trace starts at or after the trace's
    start, so this is exact unless step 1 pruned rows of a trace running for more than a day (the same
    traces its pruning may misjudge). And since step 1 saw every row from ``seen_from_ns`` on, no page
    trace has a row between ``seen_from_ns`` and its first start: when that day lies within what step 1
    saw, the earliest start itself gives the same rows (at 1M spans step 2 then reads 4,000 rows, not
    63,000).
    """
    earliest = min(first_starts)
    floor = max(0, earliest - START_SLACK_NS)
    return earliest if floor >= seen_from_ns else floor


def trace_bounds(
    transport: ClickHouseTransport, project_id: str, trace_id: str, database: str | None
) -> tuple[int, int] | None:
    """(first start, last end) of the trace in ns, from ``trace_index``; None if there is no such trace."""
    rows = transport.query(
        "SELECT toUnixTimestamp64Nano(min(start_time)) AS lo, toUnixTimestamp64Nano(max(end_time)) AS hi\n"
        f"FROM {qualified_table(transport, database, 'trace_index')}\n"
        "WHERE project_id = {project_id:String} AND trace_id = {trace_id:String}\nGROUP BY trace_id",
        {"project_id": project_id, "trace_id": trace_id},
    )
    if not rows:
        return None
    lo = int(rows[0]["lo"])
    return lo, max(int(rows[0]["hi"]), lo)


def first_starts(
    transport: ClickHouseTransport, project_id: str, trace_ids: list[str], database: str | None
) -> dict[str, int]:
    """Each trace's first start in ns, from ``trace_index`` (traces it does not know are left out)."""
    if not trace_ids:
        return {}
    rows = transport.query(
        "SELECT trace_id, toUnixTimestamp64Nano(min(start_time)) AS lo\n"
        f"FROM {qualified_table(transport, database, 'trace_index')}\n"
        "WHERE project_id = {project_id:String} AND trace_id IN {ids:Array(String)}\nGROUP BY trace_id",
        {"project_id": project_id, "ids": trace_ids},
    )
    return {str(r["trace_id"]): int(r["lo"]) for r in rows}


def list_traces(
    transport: ClickHouseTransport,
    project_id: str,
    flt: TraceFilter,
    *,
    cursor: str | None,
    limit: int,
    database: str | None = None,
) -> TracePage:
    """One page of the project's traces, newest first. ``limit`` is clamped to [1, 1000]; a malformed
    ``cursor`` raises ``InvalidCursor``. ``next_cursor`` is None on the last page."""
    limit = max(1, min(MAX_LIMIT, int(limit)))
    traces = qualified_table(transport, database, "traces")
    params: dict[str, Any] = {"project_id": project_id, "limit": limit + 1}
    where: list[str] = []
    having: list[str] = []
    if flt.end_ns is not None:
        where.append(f"start_time < {_NS % 'end_ns'}")
        params["end_ns"] = flt.end_ns
    if flt.start_ns is not None:
        where.append(f"start_time >= {_NS % 'start_floor_ns'}")
        having.append(f"min(start_time) >= {_NS % 'start_ns'}")
        params["start_ns"] = flt.start_ns
        params["start_floor_ns"] = max(0, flt.start_ns - START_SLACK_NS)
    if cursor is not None:
        cursor_ns, cursor_trace = decode_cursor(cursor)
        where.append(f"start_time <= {_NS % 'cursor_ns'}")
        having.append(f"(min(start_time), trace_id) < ({_NS % 'cursor_ns'}, {{cursor_trace:String}})")
        params["cursor_ns"] = cursor_ns
        params["cursor_trace"] = cursor_trace
    if flt.user_id is not None:
        having.append("max(user_id) = {user_id:String}")
        params["user_id"] = flt.user_id
    if flt.session_id is not None:
        having.append("max(session_id) = {session_id:String}")
        params["session_id"] = flt.session_id
    if flt.model is not None:
        having.append("max(has(models, {model:String}))")
        params["model"] = flt.model
    page = transport.query(
        f"SELECT trace_id, toUnixTimestamp64Nano(min(start_time)) AS first_ns FROM {traces}\n"
        "WHERE project_id = {project_id:String}"
        + "".join(f"\n  AND {w}" for w in where)
        + "\nGROUP BY trace_id\n"
        + f"HAVING {' AND '.join(having) or '1'}\n"
        + "ORDER BY min(start_time) DESC, trace_id DESC\n"
        + "LIMIT {limit:UInt32}",
        params,
    )
    if not page:
        return TracePage(items=[], next_cursor=None)
    ids = [str(row["trace_id"]) for row in page]
    rows = transport.query(
        f"SELECT{_TRACE_AGGREGATES}\nFROM {traces}\n"
        "WHERE project_id = {project_id:String} AND trace_id IN {page_ids:Array(String)}\n"
        f"  AND start_time >= {_NS % 'page_floor_ns'}\n"
        "GROUP BY trace_id\nORDER BY start_ns DESC, trace_id DESC",
        {
            "project_id": project_id,
            "page_ids": ids,
            "page_floor_ns": page_floor_ns(
                [int(row["first_ns"]) for row in page], params.get("start_floor_ns", 0)
            ),
        },
    )
    items = [_summary(row) for row in rows[:limit]]
    next_cursor = encode_cursor(items[-1].start_time, items[-1].trace_id) if len(rows) > limit else None
    return TracePage(items=items, next_cursor=next_cursor)


def _summary(row: dict[str, Any]) -> TraceSummary:
    start, end = int(row["start_ns"]), int(row["end_ns"])
    return TraceSummary(
        trace_id=row["trace_id"],
        name=row["root_name"] or row["first_name"],
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


def get_trace(
    transport: ClickHouseTransport,
    project_id: str,
    trace_id: str,
    *,
    max_spans: int = DEFAULT_MAX_SPANS,
    database: str | None = None,
) -> TraceDetail | None:
    """The trace with its spans as a tree, or None if the project has no such trace.

    ``trace_index`` gives the trace's exact time bounds, so the span read is a primary-key range plus
    the ``trace_id`` bloom filter. Spans re-sent by a client appear once (the latest ingested copy).
    At most ``max_spans`` spans are returned, the earliest (``spans_truncated`` tells).
    """
    bounds = trace_bounds(transport, project_id, trace_id, database)
    if bounds is None:
        return None
    params: dict[str, Any] = {
        "project_id": project_id,
        "trace_id": trace_id,
        "lo": bounds[0],
        "hi": bounds[1],
    }
    params["max_spans"] = max(1, int(max_spans)) + 1
    rows = transport.query(
        f"SELECT{SPAN_COLUMNS}\nFROM {qualified_table(transport, database, 'spans')}\n"
        "WHERE project_id = {project_id:String} AND trace_id = {trace_id:String}\n"
        f"  AND start_time >= {_NS % 'lo'} AND start_time <= {_NS % 'hi'}\n"
        "ORDER BY start_time, span_id, ingested_at DESC\nLIMIT 1 BY span_id\nLIMIT {max_spans:UInt32}",
        params,
    )
    if not rows:
        return None
    truncated = len(rows) >= params["max_spans"]
    nodes = [span_node(row) for row in rows[: params["max_spans"] - 1]]
    return _detail(trace_id, nodes, truncated)


def span_node(row: dict[str, Any]) -> SpanNode:
    start, end = int(row.pop("start_ns")), int(row.pop("end_ns"))
    try:
        events = json.loads(row["events"]) if row["events"] else []
    except ValueError:
        events = [row["events"]]
    if not isinstance(events, list):
        events = [events]
    return SpanNode(
        **{**row, "events": events},
        start_time=start,
        end_time=end,
        latency_ms=max(0, end - start) / 1e6,
    )


def _detail(trace_id: str, nodes: list[SpanNode], truncated: bool) -> TraceDetail:
    start = min(n.start_time for n in nodes)
    end = max(max(n.end_time, n.start_time) for n in nodes)
    roots = [n for n in nodes if not n.parent_span_id]
    name = max(n.name for n in roots) if roots else min(nodes, key=lambda n: (n.start_time, n.span_id)).name
    return TraceDetail(
        trace_id=trace_id,
        name=name,
        start_time=start,
        end_time=end,
        latency_ms=(end - start) / 1e6,
        user_id=max(n.user_id for n in nodes),
        session_id=max(n.session_id for n in nodes),
        models=sorted({n.model for n in nodes if n.model}),
        input_tokens=sum(n.input_tokens for n in nodes),
        output_tokens=sum(n.output_tokens for n in nodes),
        total_tokens=sum(n.total_tokens for n in nodes),
        total_cost=sum(n.total_cost for n in nodes),
        span_count=len(nodes),
        error_count=sum(1 for n in nodes if n.status_code == "error"),
        tags=sorted({t for n in nodes for t in n.tags}),
        span_counts_by_kind=dict(sorted(Counter(n.kind for n in nodes).items())),
        spans_truncated=truncated,
        spans=build_tree(nodes),
    )


def build_tree(nodes: Iterable[SpanNode], *, max_depth: int = MAX_TREE_DEPTH) -> list[SpanNode]:
    """Attach each span to its parent; spans whose parent is missing (or that sit on a parent cycle)
    become roots. Roots and children are ordered by (start_time, span_id).

    Nesting is capped at ``max_depth`` levels (pydantic cannot serialize much deeper models): the
    children of a span at the last level are lifted to the root level, with their own subtrees.
    """
    ordered = sorted(nodes, key=lambda n: (n.start_time, n.span_id))
    by_id = {n.span_id: n for n in ordered}
    parent_of: dict[str, SpanNode] = {}
    roots: list[SpanNode] = []
    for node in ordered:
        node.children = []
    for node in ordered:
        parent = by_id.get(node.parent_span_id) if node.parent_span_id != node.span_id else None
        if parent is None:
            roots.append(node)
        else:
            parent.children.append(node)
            parent_of[node.span_id] = parent
    reached = _reachable(roots)
    for node in ordered:  # break parent cycles: the earliest unreachable span becomes a root
        if node.span_id in reached:
            continue
        parent = parent_of[node.span_id]
        parent.children = [c for c in parent.children if c is not node]
        roots.append(node)
        reached |= _reachable([node])
    roots.extend(_lift_deep(roots, max_depth))
    roots.sort(key=lambda n: (n.start_time, n.span_id))
    return roots


def _lift_deep(roots: list[SpanNode], max_depth: int) -> list[SpanNode]:
    """Detach the children of nodes at depth ``max_depth`` (roots are depth 1); return them all."""
    lifted: list[SpanNode] = []
    pending = [(root, 1) for root in roots]
    while pending:
        node, depth = pending.pop()
        if depth >= max_depth and node.children:
            for child in node.children:
                lifted.append(child)
                pending.append((child, 1))
            node.children = []
            continue
        pending.extend((child, depth + 1) for child in node.children)
    return lifted


def _reachable(roots: list[SpanNode]) -> set[str]:
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node.span_id not in seen:
            seen.add(node.span_id)
            stack.extend(node.children)
    return seen
