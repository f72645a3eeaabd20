"""The read paths that bound their lookups by time: a page's totals read only from the page's earliest
start on, and a trace found by id takes its bounds from ``trace_index``. Both must still see every row
of a trace whose spans land in several daily partitions."""

from __future__ import annotations

from ch_factories import span

from otelguard.storage.clickhouse import (
    ClickHouseTransport,
    TraceFilter,
    TraceQuery,
    get_span,
    get_trace,
    insert_spans,
    list_traces,
    query_traces,
)

DAY = 86_400 * 10**9
HOUR = 3_600 * 10**9
MIDNIGHT = 1_790_000_000 * 10**9 // DAY * DAY  # a UTC midnight in 2026
TRACE = "c" * 32


def _spans_across_midnight(ch: ClickHouseTransport) -> None:
    """A root just before midnight and two children after it, inserted in separate blocks (so the
    ``traces`` table holds rows in two daily partitions); an older trace and a newer one around it."""
    root = span(trace_id=TRACE, span_id="1" * 16, start_time=MIDNIGHT - HOUR, end_time=MIDNIGHT + 2 * HOUR)
    late = [
        span(
            trace_id=TRACE,
            span_id=f"{i}" * 16,
            parent_span_id="1" * 16,
            name="tool",
            kind="tool",
            model="gpt-4o" if i == 2 else "",
            tags=["late"] if i == 3 else [],
            start_time=MIDNIGHT + i * HOUR // 2,
            end_time=MIDNIGHT + i * HOUR,
        )
        for i in (2, 3)
    ]
    insert_spans(ch, [root], dedup_token="root")
    insert_spans(ch, late, dedup_token="late")
    insert_spans(ch, [span(trace_id="a" * 32, start_time=MIDNIGHT - 3 * DAY, end_time=MIDNIGHT - 3 * DAY)])
    insert_spans(ch, [span(trace_id="b" * 32, start_time=MIDNIGHT + DAY, end_time=MIDNIGHT + DAY)])


def test_page_totals_include_rows_of_later_days(ch: ClickHouseTransport) -> None:
    _spans_across_midnight(ch)
    rows = ch.query(
        f"SELECT count() AS n FROM {ch.database}.traces WHERE trace_id = {{t:String}}", {"t": TRACE}
    )
    assert rows[0]["n"] == 2  # two aggregate rows (two inserts), in two partitions
    window = {"start_ns": MIDNIGHT - 2 * HOUR, "end_ns": MIDNIGHT}
    for page in (
        query_traces(ch, "proj-a", TraceQuery(**window), limit=10),
        query_traces(ch, "proj-a", TraceQuery(**window, model="gpt-4o"), limit=10),
        query_traces(ch, "proj-a", TraceQuery(**window, tags=("late",)), limit=10),
        query_traces(ch, "proj-a", TraceQuery(**window, sort="span_count"), limit=10),
        list_traces(ch, "proj-a", TraceFilter(**window), cursor=None, limit=10),
    ):
        (item,) = page.items
        assert (item.trace_id, item.span_count, item.start_time) == (TRACE, 3, MIDNIGHT - HOUR)
        assert item.end_time == MIDNIGHT + 3 * HOUR  # the latest end, from the later partition
        assert "gpt-4o" in item.models and item.tags == ["late"]
    # The filters see the whole trace: "any row has the model" is true, a model of no row is false.
    assert query_traces(ch, "proj-a", TraceQuery(**window, model="claude"), limit=10).items == []
    assert query_traces(ch, "proj-a", TraceQuery(**window, tags=("nope",)), limit=10).items == []
    both = TraceQuery(**window, tags=("late", "nope"), tags_mode="all")
    assert query_traces(ch, "proj-a", both, limit=10).items == []


def test_pages_of_the_whole_history_keep_totals(ch: ClickHouseTransport) -> None:
    _spans_across_midnight(ch)
    seen = []
    cursor = None
    while True:
        page = query_traces(ch, "proj-a", TraceQuery(), cursor=cursor, limit=1)
        seen.extend((t.trace_id, t.span_count) for t in page.items)
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [("b" * 32, 1), (TRACE, 3), ("a" * 32, 1)]


def test_detail_and_span_by_id_use_the_trace_index(ch: ClickHouseTransport) -> None:
    _spans_across_midnight(ch)
    detail = get_trace(ch, "proj-a", TRACE)
    assert detail is not None
    assert (detail.span_count, detail.start_time, detail.end_time) == (
        3,
        MIDNIGHT - HOUR,
        MIDNIGHT + 3 * HOUR,
    )
    assert [c.span_id for c in detail.spans[0].children] == ["2" * 16, "3" * 16]
    late = get_span(ch, "proj-a", TRACE, "3" * 16)
    assert late is not None and late.start_time == MIDNIGHT + 3 * HOUR // 2
    assert get_trace(ch, "proj-b", TRACE) is None  # another project's id
    assert get_trace(ch, "proj-a", "d" * 32) is None
    rows = ch.query(
        f"SELECT toUnixTimestamp64Nano(min(start_time)) AS lo, toUnixTimestamp64Nano(max(end_time)) AS hi "
        f"FROM {ch.database}.trace_index WHERE trace_id = {{t:String}}",
        {"t": TRACE},
    )
    assert rows == [{"lo": MIDNIGHT - HOUR, "hi": MIDNIGHT + 3 * HOUR}]


def test_newest_first_probe_never_lets_an_older_trace_in(
    ch: ClickHouseTransport, monkeypatch: object
) -> None:
    """The newest-first list tries the newest hour of rows first. Long traces whose later spans arrive in a
    later batch have an aggregate row inside that hour although they started hours before: they must not
    take a place on the page. Every page, with and without the probe, matches the order of true starts."""
    import random

    import pytest

    from otelguard.storage.clickhouse import trace_filters

    rng = random.Random(7)
    end = MIDNIGHT + 5 * HOUR
    starts: dict[str, int] = {}
    late: list = []
    first: list = []
    for i in range(90):
        trace = f"{i:032x}"
        start = end - rng.randrange(0, 4 * HOUR)  # over the last four hours, many in the newest one
        starts[trace] = start
        first.append(span(trace_id=trace, span_id="1" * 16, start_time=start, end_time=start + 10**9))
        if i % 3 == 0:  # a long trace: a later span, in a later insert, inside the newest hour
            child = end - rng.randrange(0, HOUR // 2)
            starts[trace] = min(start, child)
            late.append(
                span(
                    trace_id=trace,
                    span_id="2" * 16,
                    parent_span_id="1" * 16,
                    start_time=child,
                    end_time=child + 1,
                )
            )
    insert_spans(ch, first, dedup_token="first")
    insert_spans(ch, late, dedup_token="late")
    expected = sorted(starts, key=lambda t: (starts[t], t), reverse=True)

    def walk(limit: int, **window: int) -> list[str]:
        seen: list[str] = []
        cursor = None
        while True:
            page = query_traces(ch, "proj-a", TraceQuery(**window), cursor=cursor, limit=limit)
            seen += [item.trace_id for item in page.items]
            for item in page.items:
                assert item.start_time == starts[item.trace_id]
            if page.next_cursor is None:
                return seen
            cursor = page.next_cursor

    probed: list[int] = []
    real = trace_filters._probed

    def spy(*args: object, **kwargs: object) -> object:
        found = real(*args, **kwargs)  # type: ignore[arg-type]
        probed.append(found is not None)
        return found

    mp = pytest.MonkeyPatch()
    mp.setattr(trace_filters, "_probed", spy)
    try:
        for limit in (5, 12):
            assert walk(limit, end_ns=end + 1) == expected
            assert walk(limit, start_ns=end - 3 * HOUR, end_ns=end + 1) == [
                t for t in expected if starts[t] >= end - 3 * HOUR
            ]
    finally:
        mp.undo()
    assert any(probed) and not all(probed)  # the probe decided some pages, the full statement the rest
    mp.setattr(trace_filters, "PROBE_NS", 10 * DAY)  # no probe at all: the same answer
    try:
        assert walk(5, end_ns=end + 1) == expected
    finally:
        mp.undo()
