"""Listing and fetching traces against real chDB: summaries, filters, keyset pages, trees, isolation."""

from __future__ import annotations

import pytest
from ch_factories import BASE_NS, llm_span, span

from otelguard.model import SpanRecord
from otelguard.storage.clickhouse import (
    ClickHouseTransport,
    InvalidCursor,
    TraceFilter,
    TraceSummary,
    get_trace,
    insert_spans,
    list_traces,
)
from otelguard.storage.clickhouse.cursor import encode_cursor

SEC = 10**9
ALL = TraceFilter()


def tid(i: int) -> str:
    return f"{i:032x}"


def small_trace(
    i: int,
    start: int,
    *,
    project: str = "proj-a",
    user: str = "",
    session: str = "",
    model: str = "gpt-4o-mini",
    error: bool = False,
) -> list[SpanRecord]:
    """root agent span + one llm child + one tool child."""
    root = f"{i:08x}00000000"
    common = {"project_id": project, "user_id": user, "session_id": session}
    return [
        span(
            trace_id=tid(i),
            span_id=root,
            start_time=start,
            end_time=start + 3 * SEC,
            name=f"run-{i}",
            tags=["t1"],
            **common,
        ),
        llm_span(tid(i), f"{i:08x}00000001", root, start + SEC // 10, model=model, **common),
        span(
            trace_id=tid(i),
            span_id=f"{i:08x}00000002",
            parent_span_id=root,
            start_time=start + 2 * SEC,
            end_time=start + 2 * SEC + 5,
            name="lookup",
            kind="tool",
            status_code="error" if error else "ok",
            **common,
        ),
    ]


def page_ids(items: list[TraceSummary]) -> list[str]:
    return [t.trace_id for t in items]


def all_pages(
    ch: ClickHouseTransport, flt: TraceFilter, limit: int, project: str = "proj-a"
) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        page = list_traces(ch, project, flt, cursor=cursor, limit=limit)
        pages.append(page_ids(page.items))
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor
        assert len(pages) < 100


def test_summary_fields(ch: ClickHouseTransport) -> None:
    insert_spans(ch, small_trace(1, BASE_NS, user="u1", session="s1", error=True))
    page = list_traces(ch, "proj-a", ALL, cursor=None, limit=50)
    assert page.next_cursor is None
    (item,) = page.items
    assert item.model_dump() == {
        "trace_id": tid(1),
        "name": "run-1",
        "start_time": BASE_NS,
        "end_time": BASE_NS + 3 * SEC,
        "latency_ms": 3000.0,
        "user_id": "u1",
        "session_id": "s1",
        "models": ["gpt-4o-mini"],
        "input_tokens": 100,
        "output_tokens": 20,
        "total_tokens": 120,
        "total_cost": pytest.approx(0.00012),
        "span_count": 3,
        "error_count": 1,
        "tags": ["t1"],
    }


def test_trace_split_across_batches_is_one_summary(ch: ClickHouseTransport) -> None:
    spans = small_trace(1, BASE_NS)
    insert_spans(ch, spans[1:], dedup_token="children")  # children usually arrive before the root
    page = list_traces(ch, "proj-a", ALL, cursor=None, limit=10)
    assert page.items[0].name == "chat"  # no root yet: the earliest span names the trace
    insert_spans(ch, spans[:1], dedup_token="root")
    insert_spans(ch, [llm_span(tid(1), "ff" * 8, spans[0].span_id, BASE_NS + SEC, model="claude")])
    (item,) = list_traces(ch, "proj-a", ALL, cursor=None, limit=10).items
    assert (item.name, item.span_count, item.input_tokens, item.start_time) == ("run-1", 4, 200, BASE_NS)
    assert item.models == ["claude", "gpt-4o-mini"]


def test_newest_first_and_pagination(ch: ClickHouseTransport) -> None:
    for i in range(5):
        insert_spans(ch, small_trace(i, BASE_NS + i * SEC))
    newest_first = [tid(i) for i in reversed(range(5))]
    assert all_pages(ch, ALL, 2) == [newest_first[0:2], newest_first[2:4], newest_first[4:]]
    assert all_pages(ch, ALL, 5) == [newest_first]  # exact limit boundary: no dangling empty page
    assert all_pages(ch, ALL, 1000) == [newest_first]
    assert all_pages(ch, ALL, 4) == [newest_first[:4], newest_first[4:]]


def test_limit_is_clamped(ch: ClickHouseTransport) -> None:
    for i in range(3):
        insert_spans(ch, small_trace(i, BASE_NS + i * SEC))
    assert len(list_traces(ch, "proj-a", ALL, cursor=None, limit=0).items) == 1
    assert len(list_traces(ch, "proj-a", ALL, cursor=None, limit=-5).items) == 1
    assert len(list_traces(ch, "proj-a", ALL, cursor=None, limit=10**9).items) == 3


def test_empty_pages(ch: ClickHouseTransport) -> None:
    empty = list_traces(ch, "proj-a", ALL, cursor=None, limit=10)
    assert (empty.items, empty.next_cursor) == ([], None)
    insert_spans(ch, small_trace(1, BASE_NS))
    past_the_end = list_traces(ch, "proj-a", ALL, cursor=encode_cursor(BASE_NS, tid(1)), limit=10)
    assert (past_the_end.items, past_the_end.next_cursor) == ([], None)


def test_equal_start_times_page_by_trace_id(ch: ClickHouseTransport) -> None:
    for i in range(7):
        insert_spans(ch, small_trace(i, BASE_NS))
    pages = all_pages(ch, ALL, 3)
    assert pages == [[tid(6), tid(5), tid(4)], [tid(3), tid(2), tid(1)], [tid(0)]]


def test_filters(ch: ClickHouseTransport) -> None:
    insert_spans(ch, small_trace(1, BASE_NS + 1 * SEC, user="alice", session="s1", model="gpt-4o"))
    insert_spans(ch, small_trace(2, BASE_NS + 2 * SEC, user="bob", session="s1", model="claude"))
    insert_spans(ch, small_trace(3, BASE_NS + 3 * SEC, user="alice", session="s2", model="claude"))
    insert_spans(ch, small_trace(4, BASE_NS + 4 * SEC, user="alice", session="s2", model="gpt-4o"))

    def ids(**kw: object) -> list[str]:
        return page_ids(
            list_traces(ch, "proj-a", TraceFilter.model_validate(kw), cursor=None, limit=100).items
        )

    assert ids(user_id="alice") == [tid(4), tid(3), tid(1)]
    assert ids(session_id="s1") == [tid(2), tid(1)]
    assert ids(model="claude") == [tid(3), tid(2)]
    assert ids(user_id="alice", model="claude") == [tid(3)]
    assert ids(user_id="nobody") == []
    # [start_ns, end_ns): a trace is in range by its start.
    assert ids(start_ns=BASE_NS + 2 * SEC) == [tid(4), tid(3), tid(2)]
    assert ids(end_ns=BASE_NS + 3 * SEC) == [tid(2), tid(1)]
    assert ids(start_ns=BASE_NS + 2 * SEC, end_ns=BASE_NS + 4 * SEC) == [tid(3), tid(2)]
    assert ids(start_ns=BASE_NS + 2 * SEC + 1, end_ns=BASE_NS + 2 * SEC + 2) == []
    # A trace that started before the window is out, even though some of its spans are inside it.
    assert ids(start_ns=BASE_NS + 1 * SEC + 1, end_ns=BASE_NS + 2 * SEC) == []
    # Filters and pages combine.
    flt = TraceFilter(user_id="alice", start_ns=BASE_NS)
    assert all_pages(ch, flt, 2) == [[tid(4), tid(3)], [tid(1)]]


def test_invalid_cursor(ch: ClickHouseTransport) -> None:
    with pytest.raises(InvalidCursor):
        list_traces(ch, "proj-a", ALL, cursor="not a cursor!", limit=10)
    with pytest.raises(ValueError):  # InvalidCursor is a ValueError (→ HTTP 400 in the API)
        list_traces(ch, "proj-a", ALL, cursor="eyJ4IjoxfQ", limit=10)


def test_get_trace_tree_and_totals(ch: ClickHouseTransport) -> None:
    spans = small_trace(1, BASE_NS, user="u", session="s", error=True)
    root_id = spans[0].span_id
    grandchild = llm_span(tid(1), "gc" * 8, spans[1].span_id, BASE_NS + SEC // 5, model="claude")
    orphan = span(
        trace_id=tid(1), span_id="0e" * 8, parent_span_id="ee" * 8, start_time=BASE_NS + 5, kind="chain"
    )
    insert_spans(ch, [*spans, grandchild, orphan])
    trace = get_trace(ch, "proj-a", tid(1))
    assert trace is not None
    assert (trace.trace_id, trace.name, trace.start_time, trace.end_time) == (
        tid(1),
        "run-1",
        BASE_NS,
        BASE_NS + 3 * SEC,
    )
    assert trace.latency_ms == 3000.0
    assert (trace.span_count, trace.error_count, trace.input_tokens, trace.total_tokens) == (5, 1, 200, 240)
    assert trace.total_cost == pytest.approx(0.00024)
    assert trace.span_counts_by_kind == {"agent": 1, "chain": 1, "llm": 2, "tool": 1}
    assert trace.models == ["claude", "gpt-4o-mini"]
    assert (trace.user_id, trace.session_id, trace.tags, trace.spans_truncated) == ("u", "s", ["t1"], False)
    # Roots ordered by start: the agent root, then the orphan whose parent never arrived.
    assert [s.span_id for s in trace.spans] == [root_id, "0e" * 8]
    root = trace.spans[0]
    assert [c.span_id for c in root.children] == [spans[1].span_id, spans[2].span_id]
    assert [c.span_id for c in root.children[0].children] == ["gc" * 8]
    llm = root.children[0]
    assert (llm.usage, llm.cost["total"], llm.model, llm.kind) == (
        {"input": 100, "output": 20, "total": 120},
        0.00012,
        "gpt-4o-mini",
        "llm",
    )
    assert llm.latency_ms == 800.0
    assert root.events == []
    # The summary in the listing agrees with the detail.
    (summary,) = list_traces(ch, "proj-a", ALL, cursor=None, limit=10).items
    assert summary.model_dump() == trace.model_dump(include=set(TraceSummary.model_fields))


def test_get_trace_caps_spans(ch: ClickHouseTransport) -> None:
    # span ids descend while start times ascend: the cap keeps the earliest spans, not the lowest ids
    insert_spans(ch, [span(span_id=f"{100 - i:016x}", start_time=BASE_NS + i) for i in range(20)])
    trace = get_trace(ch, "proj-a", span().trace_id, max_spans=5)
    assert trace is not None
    assert trace.spans_truncated and trace.span_count == 5
    assert [s.start_time for s in trace.spans] == [BASE_NS + i for i in range(5)]  # the earliest five
    full = get_trace(ch, "proj-a", span().trace_id)
    assert full is not None and not full.spans_truncated and full.span_count == 20


def test_get_unknown_trace(ch: ClickHouseTransport) -> None:
    assert get_trace(ch, "proj-a", tid(404)) is None
    insert_spans(ch, small_trace(1, BASE_NS))
    assert get_trace(ch, "proj-a", tid(404)) is None


def test_project_isolation(ch: ClickHouseTransport) -> None:
    # Same trace id in two projects (ids are client-chosen, so they can collide or be guessed).
    insert_spans(ch, small_trace(1, BASE_NS, project="proj-a", user="alice"))
    insert_spans(ch, small_trace(1, BASE_NS + SEC, project="proj-b", user="mallory"))
    insert_spans(ch, small_trace(2, BASE_NS + 2 * SEC, project="proj-b", user="alice"))

    a = list_traces(ch, "proj-a", ALL, cursor=None, limit=100)
    assert [(t.trace_id, t.user_id, t.span_count) for t in a.items] == [(tid(1), "alice", 3)]
    assert page_ids(
        list_traces(ch, "proj-a", TraceFilter(user_id="alice"), cursor=None, limit=100).items
    ) == [tid(1)]
    assert get_trace(ch, "proj-a", tid(2)) is None
    trace = get_trace(ch, "proj-a", tid(1))
    assert trace is not None and trace.span_count == 3 and trace.user_id == "alice"
    # A cursor from project b's listing reveals nothing of b in project a.
    b_page = list_traces(ch, "proj-b", ALL, cursor=None, limit=1)
    assert b_page.next_cursor is not None
    assert page_ids(list_traces(ch, "proj-a", ALL, cursor=b_page.next_cursor, limit=100).items) == [tid(1)]
    assert page_ids(list_traces(ch, "proj-c", ALL, cursor=None, limit=100).items) == []
    # Parameters are bound, never spliced: a hostile project id matches nothing.
    assert list_traces(ch, "proj-a' OR '1'='1", ALL, cursor=None, limit=100).items == []
