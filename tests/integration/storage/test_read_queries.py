"""The read API's query layer on real chDB (both transports): trace filters and every sort with keyset
pages, sessions, users, generations, spans, metrics, project isolation, hostile input."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from ch_factories import BASE_NS, llm_span, span
from ch_spangen import SpanGenerator

from otelguard.model import SpanRecord
from otelguard.storage.clickhouse import (
    ClickHouseTransport,
    GenerationFilter,
    InvalidCursor,
    MetricQuery,
    MetricQueryError,
    SessionFilter,
    TraceQuery,
    UserFilter,
    encode_keyset,
    get_session_summary,
    get_span,
    get_user_summary,
    insert_spans,
    iter_traces,
    list_generations,
    list_sessions,
    list_users,
    query_metric,
    query_traces,
    user_activity,
)
from otelguard.storage.clickhouse.trace_filters import TRACE_SORTS

SEC = 10**9


def tid(i: int) -> str:
    return f"{i:032x}"


def trace(
    i: int,
    *,
    start: int,
    dur_s: float,
    project: str = "proj-a",
    user: str = "",
    session: str = "",
    tags: tuple[str, ...] = (),
    model: str = "",
    provider: str = "",
    cost: float = 0.0,
    tokens: int = 0,
    error: bool = False,
    text_in: str = "",
    text_out: str = "",
    prompt: tuple[str, int] = ("", 0),
) -> list[SpanRecord]:
    root = f"{i:08x}00000000"
    common = {"project_id": project, "user_id": user, "session_id": session}
    spans = [
        span(
            trace_id=tid(i),
            span_id=root,
            start_time=start,
            end_time=start + int(dur_s * SEC),
            name=f"run-{i}",
            tags=list(tags),
            input=text_in,
            output=text_out,
            **common,
        )
    ]
    if model:
        spans.append(
            llm_span(
                tid(i),
                f"{i:08x}00000001",
                root,
                start + SEC // 10,
                model=model,
                provider=provider,
                total_cost=cost,
                cost={"total": cost},
                input_tokens=tokens,
                output_tokens=0,
                total_tokens=tokens,
                prompt_name=prompt[0],
                prompt_version=prompt[1],
                status_code="error" if error else "ok",
                **common,
            )
        )
    return spans


def seed(ch: ClickHouseTransport) -> None:
    b = BASE_NS
    records = [
        *trace(
            1, start=b, dur_s=3, user="u1", session="s1", tags=("t1", "prod"), model="gpt-4o-mini",
            provider="openai", cost=0.25, tokens=100, text_in="How do I get a REFUND for my order?",
            text_out="Refunds take five days.", prompt=("support", 3),
        ),
        *trace(
            2, start=b + 10 * SEC, dur_s=10, user="u1", session="s1", tags=("t1",), model="claude-3",
            provider="anthropic", cost=0.5, tokens=300, error=True,
            text_in="'; DROP TABLE spans; -- please", text_out="I cannot do that", prompt=("support", 4),
        ),
        *trace(
            3, start=b + 20 * SEC, dur_s=1, user="u2", session="s2", model="gpt-4o-mini", provider="openai",
            cost=0.125, tokens=50, text_in="weather in Paris", text_out="Sunny",
        ),
        *trace(4, start=b + 30 * SEC, dur_s=0.5, text_in="%%% 100% off", text_out=""),
        # another project with the same user, session, tag and words: never visible to proj-a
        *trace(
            9, start=b + 5 * SEC, dur_s=2, project="proj-b", user="u1", session="s1", tags=("t1",),
            model="gpt-4o-mini", provider="openai", cost=7.0, tokens=999, text_in="refund please",
            prompt=("support", 3),
        ),
    ]  # fmt: skip
    insert_spans(ch, records)
    ch.command(
        f"INSERT INTO {ch.database}.guardrail_events (id, project_id, trace_id, span_id, timestamp, policy, "
        "validator, stage, action, verdict, findings, latency_us, shadow) VALUES "
        "('e1', 'proj-a', {t3:String}, '', now64(9), 'pii', 'pii', 'input', 'block', 'fail', '', 1, 0),"
        "('e2', 'proj-a', {t3:String}, '', now64(9), 'pii', 'pii', 'output', 'block', 'fail', '', 1, 0),"
        "('e9', 'proj-b', {t9:String}, '', now64(9), 'pii', 'pii', 'input', 'block', 'fail', '', 1, 0)",
        {"t3": tid(3), "t9": tid(9)},
    )


@pytest.fixture
def seeded(ch: ClickHouseTransport) -> ClickHouseTransport:
    seed(ch)
    return ch


def ids(ch: ClickHouseTransport, project: str = "proj-a", **filters: Any) -> list[int]:
    page = query_traces(ch, project, TraceQuery(**filters), limit=1000)
    return sorted(int(t.trace_id, 16) for t in page.items)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, [1, 2, 3, 4]),
        ({"tags": ("t1",)}, [1, 2]),
        ({"tags": ("prod", "nope")}, [1]),
        ({"tags": ("t1", "prod"), "tags_mode": "all"}, [1]),
        ({"tags": ("t1", "nope"), "tags_mode": "all"}, []),
        ({"provider": "anthropic"}, [2]),
        ({"provider": "openai"}, [1, 3]),
        ({"model": "gpt-4o-mini"}, [1, 3]),
        ({"has_error": True}, [2]),
        ({"has_error": False}, [1, 3, 4]),
        ({"min_latency_ms": 1000, "max_latency_ms": 3000}, [1, 3]),
        ({"min_latency_ms": 3000.5}, [2]),
        ({"max_latency_ms": 999.9}, [4]),
        ({"min_cost": 0.2}, [1, 2]),
        ({"min_cost": 0.2, "max_cost": 0.3}, [1]),
        ({"max_cost": 0}, [4]),
        ({"has_guardrail_event": True}, [3]),
        ({"has_guardrail_event": False}, [1, 2, 4]),
        ({"prompt_name": "support"}, [1, 2]),
        ({"prompt_name": "support", "prompt_version": 4}, [2]),
        ({"prompt_version": 3}, [1]),
        ({"user_id": "u1"}, [1, 2]),
        ({"session_id": "s2"}, [3]),
        ({"search": "refund"}, [1]),  # whole word, any case
        ({"search": "Refund Order"}, [1]),  # every word
        ({"search": "refund paris"}, []),
        ({"search": "refunds"}, [1]),  # in the output
        ({"search": "efun", "search_mode": "substring"}, [1]),
        ({"search": "efun"}, []),  # not a whole word
        ({"search": "100% off", "search_mode": "substring"}, [4]),
        ({"search": "%%%"}, [4]),  # no words: falls back to a substring match
        ({"search": "'; DROP TABLE spans; --"}, [2]),  # SQL-looking text is just text
        ({"search": "' OR 1=1 --", "search_mode": "substring"}, []),
        ({"user_id": "' OR '1'='1"}, []),
        ({"tags": ("'] OR 1 --",)}, []),
        ({"start_ns": BASE_NS + 10 * SEC, "end_ns": BASE_NS + 30 * SEC}, [2, 3]),
        ({"start_ns": BASE_NS + 10 * SEC, "min_cost": 0.1}, [2, 3]),
        ({"provider": "openai", "has_error": False, "tags": ("t1",), "search": "refund"}, [1]),
    ],
)
def test_trace_filters(seeded: ClickHouseTransport, filters: dict[str, Any], expected: list[int]) -> None:
    assert ids(seeded, **filters) == expected


def test_filters_never_cross_projects(seeded: ClickHouseTransport) -> None:
    assert ids(seeded, "proj-b") == [9]
    assert ids(seeded, "proj-b", search="refund", provider="openai", has_guardrail_event=True) == [9]
    assert ids(seeded, "proj-c") == []
    assert ids(seeded, has_guardrail_event=True, user_id="u1") == []


def test_tables_stay_intact_after_hostile_text(seeded: ClickHouseTransport) -> None:
    for text in ["'; DROP TABLE spans; --", "\\'; DROP TABLE traces; --", "{project_id:String}", "\0\n\t"]:
        for mode in ("tokens", "substring"):
            query_traces(seeded, "proj-a", TraceQuery(search=text, search_mode=mode))
        query_traces(seeded, "proj-a", TraceQuery(user_id=text, tags=(text,), prompt_name=text))
    assert ids(seeded) == [1, 2, 3, 4]


def test_every_sort_pages_without_gaps_or_repeats(ch: ClickHouseTransport) -> None:
    gen = SpanGenerator(seed=7, start_ns=BASE_NS)
    records = [s for _ in range(40) for s in gen.trace()]
    insert_spans(ch, records[: len(records) // 2])
    insert_spans(ch, records[len(records) // 2 :])  # several aggregate rows per trace for some traces
    for sort, order in itertools.product(TRACE_SORTS, ("asc", "desc")):
        q = TraceQuery(sort=sort, order=order)  # type: ignore[arg-type]
        whole = [t.trace_id for t in query_traces(ch, "proj-a", q, limit=1000).items]
        assert len(whole) == 40
        seen: list[str] = []
        cursor = None
        while True:
            page = query_traces(ch, "proj-a", q, cursor=cursor, limit=7)
            seen += [t.trace_id for t in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == whole, (sort, order)
    by_cost = query_traces(ch, "proj-a", TraceQuery(sort="cost", order="desc"), limit=1000).items
    costs = [round(t.total_cost, 12) for t in by_cost]  # ordered by the exact (decimal) sum
    assert costs == sorted(costs, reverse=True)
    by_latency = query_traces(ch, "proj-a", TraceQuery(sort="latency", order="asc"), limit=1000).items
    assert [t.latency_ms for t in by_latency] == sorted(t.latency_ms for t in by_latency)
    by_name = query_traces(ch, "proj-a", TraceQuery(sort="span_count", order="desc"), limit=1000).items
    assert [t.span_count for t in by_name] == sorted((t.span_count for t in by_name), reverse=True)
    assert len(list(iter_traces(ch, "proj-a", TraceQuery(sort="cost"), max_rows=25))) == 25
    assert len(list(iter_traces(ch, "proj-a", TraceQuery()))) == 40


def test_bad_cursors(seeded: ClickHouseTransport) -> None:
    page = query_traces(seeded, "proj-a", TraceQuery(sort="cost"), limit=1)
    assert page.next_cursor is not None
    for q in [TraceQuery(sort="latency"), TraceQuery(sort="cost", order="asc")]:
        with pytest.raises(InvalidCursor):
            query_traces(seeded, "proj-a", q, cursor=page.next_cursor)
    with pytest.raises(InvalidCursor):
        list_sessions(seeded, "proj-a", SessionFilter(), cursor=page.next_cursor)
    bad = [
        "not-a-cursor",
        "",
        "x" * 5000,
        encode_keyset("traces", "cost", "desc", "1e5", "a"),  # not a decimal ClickHouse parses
        encode_keyset("traces", "start_time", "desc", "99999999999999999999", "a"),
        encode_keyset("traces", "start_time", "desc", "12", ""),
    ]
    for cursor in bad:
        sort = "cost" if "Y29zd" in cursor else "start_time"
        with pytest.raises(InvalidCursor):
            query_traces(seeded, "proj-a", TraceQuery(sort=sort), cursor=cursor)  # type: ignore[arg-type]


def test_sessions(seeded: ClickHouseTransport) -> None:
    page = list_sessions(seeded, "proj-a", SessionFilter())
    assert [s.session_id for s in page.items] == ["s2", "s1"]  # latest activity first
    s1 = page.items[1]
    assert (s1.trace_count, s1.user_ids, s1.user_count, s1.total_tokens, s1.error_count) == (
        2,
        ["u1"],
        1,
        400,
        1,
    )
    assert s1.total_cost == pytest.approx(0.75)
    assert s1.first_time == BASE_NS and s1.last_time == BASE_NS + 20 * SEC and s1.duration_ms == 20_000
    by_cost = list_sessions(seeded, "proj-a", SessionFilter(sort="cost", order="desc"), limit=1)
    assert [s.session_id for s in by_cost.items] == ["s1"]
    nxt = list_sessions(seeded, "proj-a", SessionFilter(sort="cost"), cursor=by_cost.next_cursor, limit=1)
    assert [s.session_id for s in nxt.items] == ["s2"] and nxt.next_cursor is None
    assert [s.session_id for s in list_sessions(seeded, "proj-a", SessionFilter(user_id="u2")).items] == [
        "s2"
    ]
    window = SessionFilter(start_ns=BASE_NS + 5 * SEC, end_ns=BASE_NS + 15 * SEC)
    [only] = list_sessions(seeded, "proj-a", window).items
    assert (only.session_id, only.trace_count) == ("s1", 1)
    detail = get_session_summary(seeded, "proj-a", "s1")
    assert detail is not None and detail.trace_count == 2  # proj-b's s1 is not counted
    assert get_session_summary(seeded, "proj-c", "s1") is None
    [other] = list_sessions(seeded, "proj-b", SessionFilter()).items
    assert other.total_cost == pytest.approx(7.0)


def test_users(seeded: ClickHouseTransport) -> None:
    page = list_users(seeded, "proj-a", UserFilter(sort="user_id", order="asc"))
    u1, u2 = page.items
    assert (u1.user_id, u1.trace_count, u1.error_count, u1.error_rate, u1.guardrail_hits) == (
        "u1",
        2,
        1,
        0.5,
        0,
    )
    assert (u2.user_id, u2.trace_count, u2.guardrail_hits, u2.session_count) == ("u2", 1, 2, 1)
    assert u1.total_cost == pytest.approx(0.75) and u1.total_tokens == 400
    first = list_users(seeded, "proj-a", UserFilter(sort="error_count"), limit=1)
    assert [u.user_id for u in first.items] == ["u1"]
    rest = list_users(seeded, "proj-a", UserFilter(sort="error_count"), limit=1, cursor=first.next_cursor)
    assert [u.user_id for u in rest.items] == ["u2"]
    summary = get_user_summary(seeded, "proj-a", "u1")
    assert summary is not None and summary.trace_count == 2
    assert get_user_summary(seeded, "proj-c", "u1") is None
    activity = user_activity(
        seeded, "proj-a", "u1", bucket="1h", start_ns=BASE_NS - 3600 * SEC, end_ns=BASE_NS + 3600 * SEC
    )
    assert [(a.time, a.trace_count, a.total_tokens, a.error_count) for a in activity] == [
        (BASE_NS, 2, 400, 1)
    ]
    with pytest.raises(ValueError, match="buckets"):
        user_activity(seeded, "proj-a", "u1", bucket="1h", start_ns=0, end_ns=BASE_NS)
    [b] = list_users(seeded, "proj-b", UserFilter()).items
    assert (b.user_id, b.guardrail_hits, b.total_tokens) == ("u1", 1, 999)


def test_generations_and_spans(seeded: ClickHouseTransport) -> None:
    page = list_generations(seeded, "proj-a", GenerationFilter(sort="cost", order="desc"), limit=2)
    assert [g.model for g in page.items] == ["claude-3", "gpt-4o-mini"]
    assert page.items[0].total_cost == 0.5 and page.items[0].prompt_version == 4
    rest = list_generations(seeded, "proj-a", GenerationFilter(sort="cost"), cursor=page.next_cursor, limit=2)
    assert [g.trace_id for g in rest.items] == [tid(3)] and rest.next_cursor is None
    assert [g.trace_id for g in list_generations(seeded, "proj-a", GenerationFilter(user_id="u2")).items] == [
        tid(3)
    ]
    assert (
        list_generations(seeded, "proj-a", GenerationFilter(provider="anthropic", session_id="s2")).items
        == []
    )
    assert [g.trace_id for g in list_generations(seeded, "proj-b", GenerationFilter()).items] == [tid(9)]
    with pytest.raises(InvalidCursor):
        list_generations(seeded, "proj-a", GenerationFilter(sort="latency"), cursor=page.next_cursor)
    g = page.items[0]
    one = get_span(seeded, "proj-a", g.trace_id, g.span_id)
    assert one is not None and one.model == "claude-3" and one.children == []
    assert get_span(seeded, "proj-b", g.trace_id, g.span_id) is None
    assert get_span(seeded, "proj-a", g.trace_id, "f" * 16) is None


def _metric(
    ch: ClickHouseTransport, project: str = "proj-a", **kw: Any
) -> dict[tuple[str, ...], list[float]]:
    q = MetricQuery(start_ns=BASE_NS - 3600 * SEC, end_ns=BASE_NS + 3600 * SEC, **kw)
    result = query_metric(ch, project, q)
    return {tuple(s.dimensions.values()): [p.value for p in s.points] for s in result.series}


def test_metrics(seeded: ClickHouseTransport) -> None:
    assert _metric(seeded, metric="requests", agg="count") == {(): [4.0]}
    assert _metric(seeded, metric="errors", agg="count") == {(): [1.0]}
    assert _metric(seeded, metric="errors", agg="avg") == {(): [0.25]}
    assert _metric(seeded, metric="cost", agg="sum", group_by=("user",)) == {
        ("",): [0.0],
        ("u1",): [0.75],  # binary fractions: exact sums
        ("u2",): [0.125],
    }
    assert _metric(seeded, metric="tokens", agg="sum", group_by=("model", "tag")) == {
        ("", ""): [0.0],
        ("claude-3", "t1"): [300.0],
        ("gpt-4o-mini", ""): [50.0],
        ("gpt-4o-mini", "prod"): [100.0],
        ("gpt-4o-mini", "t1"): [100.0],
    }
    assert _metric(seeded, metric="latency", agg="p50", bucket="1m", group_by=("session",)) == {
        ("",): [500.0],
        ("s1",): [6500.0],  # 3 s and 10 s in the same minute
        ("s2",): [1000.0],
    }
    gen = _metric(
        seeded, metric="requests", agg="count", scope="generations", group_by=("provider", "prompt_version")
    )
    assert gen == {("anthropic", "support@v4"): [1.0], ("openai", ""): [1.0], ("openai", "support@v3"): [1.0]}
    assert _metric(seeded, "proj-b", metric="cost", agg="sum") == {(): [7.0]}
    assert _metric(seeded, "proj-c", metric="cost", agg="sum") == {}


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"metric": "latency", "agg": "sum"}, "does not apply"),
        ({"metric": "requests", "agg": "p95"}, "does not apply"),
        ({"metric": "cost", "agg": "sum", "group_by": ("provider",)}, "not available"),
        ({"metric": "cost", "agg": "sum", "group_by": ("user", "user")}, "twice"),
        ({"metric": "cost", "agg": "sum", "bucket": "1m", "start_ns": 0}, "buckets"),
        ({"metric": "cost", "agg": "sum", "end_ns": BASE_NS - 7200 * SEC}, "before"),
    ],
)
def test_metric_combinations_are_validated(ch: ClickHouseTransport, kw: dict[str, Any], message: str) -> None:
    values: dict[str, Any] = {"start_ns": BASE_NS - 3600 * SEC, "end_ns": BASE_NS + 3600 * SEC, **kw}
    with pytest.raises(MetricQueryError, match=message):
        query_metric(ch, "proj-a", MetricQuery(**values))
