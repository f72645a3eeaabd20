"""scores on real chDB (directly and through clickhouse-connect): insert, list, de-duplication, and the
analytics (aggregates by bucket and dimension, comparison, correlation, agreement) checked against
hand-computed values and Python reference computations."""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable
from typing import Any

import pytest
from ch_factories import span
from score_support import (
    DAY_NS,
    HOUR_NS,
    SPAN_A1,
    SPAN_A2,
    SPAN_B1,
    T0,
    TRACE_A,
    TRACE_B,
    TRACE_C,
    score,
)

from otelguard.storage.clickhouse import ClickHouseTransport, InvalidCursor, encode_keyset, insert_spans
from otelguard.storage.clickhouse.score_analytics import (
    AggregateQuery,
    CompareQuery,
    ScoreAggregate,
    ScoreAnalyticsError,
    aggregate_scores,
    compare_scores,
)
from otelguard.storage.clickhouse.score_pairs import (
    AgreementQuery,
    CorrelationQuery,
    ScoreSide,
    score_agreement,
    score_correlation,
)
from otelguard.storage.clickhouse.scores import ScoreFilter, insert_scores, list_scores
from otelguard.storage.score_stats import pearson, spearman, welch_t_test

START, END = T0 - DAY_NS, T0 + 5 * DAY_NS


def all_ids(ch: ClickHouseTransport, project: str, flt: ScoreFilter, limit: int = 1000) -> list[str]:
    return [i.id for i in list_scores(ch, project, flt, limit=limit).items]


def agg(ch: ClickHouseTransport, project: str = "p1", **kw: Any) -> ScoreAggregate:
    params: dict[str, Any] = {"name": "relevance", "start_ns": START, "end_ns": END, **kw}
    return aggregate_scores(ch, project, AggregateQuery(**params))


# --- writing and listing ------------------------------------------------------------------------------


def test_newest_first_with_cursor_pages(ch: ClickHouseTransport) -> None:
    assert insert_scores(ch, None, [score(f"{i:02d}", timestamp=T0 + i * 10**9) for i in range(25)]) == 25
    seen: list[str] = []
    cursor = None
    while True:
        page = list_scores(ch, "p1", ScoreFilter(), cursor=cursor, limit=7)
        seen += [i.id for i in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [f"s-{i:02d}" for i in reversed(range(25))]
    first = list_scores(ch, "p1", ScoreFilter(), limit=1).items[0]
    assert first.timestamp == T0 + 24 * 10**9 and first.value == 0.5 and first.evaluator_name == "judge"


ROWS = [
    score(0, name="relevance", value=0.1, source="evaluator", evaluator_name="judge-a"),
    score(1, name="relevance", value=0.9, source="annotation", evaluator_name="", span_id=SPAN_A1),
    score(2, name="toxicity", value=1.0, data_type="boolean", string_value="true", trace_id=TRACE_B),
    score(3, name="tone", value=0.0, data_type="categorical", string_value="polite", session_id="sess-1"),
    score(4, name="relevance", value=0.5, source="api", evaluator_name="", timestamp=T0 + 2 * DAY_NS),
    score(5, name="relevance", value=0.7, source="feedback", trace_id=TRACE_C, session_id="sess-2"),
]


def _match(**want: Any) -> Callable[[dict[str, Any]], bool]:
    def check(row: dict[str, Any]) -> bool:
        for key, value in want.items():
            if key == "min_value" and row["value"] < value:
                return False
            if key == "max_value" and row["value"] > value:
                return False
            if key == "start_ns" and row["timestamp"] < value:
                return False
            if key == "end_ns" and row["timestamp"] >= value:
                return False
            if key not in ("min_value", "max_value", "start_ns", "end_ns") and row[key] != value:
                return False
        return True

    return check


@pytest.mark.parametrize(
    "flt",
    [
        {"name": "relevance"},
        {"source": "annotation"},
        {"data_type": "categorical"},
        {"trace_id": TRACE_B},
        {"span_id": SPAN_A1},
        {"session_id": "sess-2"},
        {"evaluator_name": "judge-a"},
        {"min_value": 0.5},
        {"max_value": 0.5},
        {"min_value": 0.2, "max_value": 0.8, "name": "relevance"},
        {"start_ns": T0 + DAY_NS},
        {"end_ns": T0 + DAY_NS},
    ],
)
def test_list_filters(ch: ClickHouseTransport, flt: dict[str, Any]) -> None:
    insert_scores(ch, None, ROWS)
    expected = {r["id"] for r in ROWS if _match(**flt)(r)}
    assert expected and expected != {r["id"] for r in ROWS}  # each case selects some, not all
    assert set(all_ids(ch, "p1", ScoreFilter(**flt))) == expected


def test_other_projects_never_visible(ch: ClickHouseTransport) -> None:
    insert_scores(ch, None, [score(1, value=0.2), score(2, value=0.4, span_id=SPAN_A1)])
    insert_scores(ch, None, [score(9, project_id="p2", value=0.9), score(8, project_id="p2", name="x")])
    assert set(all_ids(ch, "p1", ScoreFilter())) == {"s-1", "s-2"}
    assert set(all_ids(ch, "p2", ScoreFilter())) == {"s-9", "s-8"}
    assert all_ids(ch, "nobody", ScoreFilter()) == []
    total = agg(ch).series[0].total
    assert total.count == 2 and total.mean == pytest.approx(0.3) and total.max == 0.4


def test_bad_cursors_are_refused(ch: ClickHouseTransport) -> None:
    insert_scores(ch, None, [score(1)])
    for cursor in ("garbage!", "e30", encode_keyset("guardrail_events", "timestamp", "desc", "1", "x")):
        with pytest.raises(InvalidCursor):
            list_scores(ch, "p1", ScoreFilter(), cursor=cursor)
    with pytest.raises(InvalidCursor):
        list_scores(ch, "p1", ScoreFilter(), cursor=encode_keyset("scores", "timestamp", "desc", "x1", "a"))


def test_bad_rows_are_refused_before_writing(ch: ClickHouseTransport) -> None:
    with pytest.raises(ValueError, match="row 1 lacks name"):
        insert_scores(ch, None, [score(1), {k: v for k, v in score(2).items() if k != "name"}])
    with pytest.raises(ValueError, match="timestamp"):
        insert_scores(ch, None, [score(1, timestamp=1.5)])
    assert all_ids(ch, "p1", ScoreFilter()) == []


def test_duplicate_inserts_count_once_and_the_latest_write_wins(ch: ClickHouseTransport) -> None:
    rows = [score(i, value=i / 10, span_id=SPAN_A1 if i % 2 else "") for i in range(10)]
    insert_scores(ch, None, rows)
    # An eval task retried with its batch in another order (an identical block would be dropped at insert
    # by ClickHouse's block deduplication): the same deterministic ids land twice.
    insert_scores(ch, None, rows[::-1])
    insert_scores(ch, None, [score(3, value=0.95)])  # re-scored: replaces s-3
    physical = ch.query(f"SELECT count() AS n FROM {ch.database}.scores")[0]["n"]
    assert physical == 21  # the table really holds the copies until a merge
    listed = list_scores(ch, "p1", ScoreFilter(), limit=100).items
    assert sorted(i.id for i in listed) == sorted(r["id"] for r in rows)
    assert {i.id: i.value for i in listed}["s-3"] == 0.95
    values = [r["value"] for r in rows if r["id"] != "s-3"] + [0.95]
    total = agg(ch).series[0].total
    assert total.count == 10 and total.mean == pytest.approx(statistics.fmean(values))
    side_a, side_b = ScoreSide(name="relevance"), ScoreSide(name="other")
    insert_scores(ch, None, [score(f"o{i}", name="other", value=i) for i in range(2)])
    corr = score_correlation(ch, "p1", CorrelationQuery(a=side_a, b=side_b, start_ns=START, end_ns=END))
    assert corr.n == 1  # every trace-level score above is about the same item (trace A)


# --- aggregates ---------------------------------------------------------------------------------------


def _quantile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (what ClickHouse's quantiles do on small samples)."""
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def test_numeric_aggregate_matches_python(ch: ClickHouseTransport) -> None:
    rng = random.Random(6)
    rows = []
    for day in range(3):
        for i in range(40 + 10 * day):
            value = round(rng.uniform(0, 10), 3)
            rows.append(score(f"{day}-{i}", value=value, timestamp=T0 + day * DAY_NS + i * 60 * 10**9))
    rows.append(score("other", name="toxicity", value=99.0))  # another name: never counted
    insert_scores(ch, None, rows)
    result = agg(ch, bucket="1d", bins=5)
    assert result.data_type == "numeric" and not result.truncated and len(result.series) == 1
    series = result.series[0]
    assert series.dimension is None
    values_by_day = [
        [r["value"] for r in rows[:-1] if (r["timestamp"] - T0) // DAY_NS == d] for d in range(3)
    ]
    assert [p.time for p in series.points] == [T0 + d * DAY_NS for d in range(3)]
    for point, values in zip(series.points, values_by_day, strict=True):
        assert point.count == len(values)
        assert point.mean == pytest.approx(statistics.fmean(values))
        assert point.min == min(values) and point.max == max(values)
        assert point.stddev == pytest.approx(statistics.stdev(values))
        assert point.p50 == pytest.approx(_quantile(values, 0.5))
        assert point.p95 == pytest.approx(_quantile(values, 0.95))
    everything = [v for day in values_by_day for v in day]
    total = series.total
    assert total.count == len(everything) == 150
    assert total.mean == pytest.approx(statistics.fmean(everything))
    for q, got in ((0.5, total.p50), (0.9, total.p90), (0.95, total.p95), (0.99, total.p99)):
        assert got == pytest.approx(_quantile(everything, q))
    assert series.histogram is not None and len(series.histogram) == 5
    lo, hi = min(everything), max(everything)
    width = (hi - lo) / 5
    expected = [0] * 5
    for v in everything:
        expected[min(4, int((v - lo) // width))] += 1
    assert [b.count for b in series.histogram] == expected
    assert series.histogram[0].lower == pytest.approx(lo) and series.histogram[-1].upper == pytest.approx(hi)
    hourly = agg(ch, bucket="1h").series[0].points
    assert sum(p.count for p in hourly) == 150 and all(p.time % HOUR_NS == 0 for p in hourly)
    whole = agg(ch, bucket="all").series[0]
    assert [p.count for p in whole.points] == [150] and whole.points[0].time == START


def test_boolean_and_categorical_aggregates(ch: ClickHouseTransport) -> None:
    bools = [score(f"b{i}", name="toxic", data_type="boolean", value=float(i % 4 == 0)) for i in range(12)]
    cats = [
        score(f"c{i}", name="tone", data_type="categorical", value=0.0, string_value=label, timestamp=ts)
        for i, (label, ts) in enumerate(
            [("polite", T0), ("polite", T0), ("rude", T0), ("polite", T0 + DAY_NS), ("neutral", T0 + DAY_NS)]
        )
    ]
    insert_scores(ch, None, bools + cats)
    b = agg(ch, name="toxic").series[0].total
    assert (b.count, b.mean, b.categories) == (12, pytest.approx(3 / 12), {"true": 3, "false": 9})
    result = agg(ch, name="tone")  # data type detected
    assert result.data_type == "categorical"
    series = result.series[0]
    assert series.total.count == 5 and series.total.categories == {"polite": 3, "rude": 1, "neutral": 1}
    assert [(p.time, p.count, p.categories) for p in series.points] == [
        (T0, 3, {"polite": 2, "rude": 1}),
        (T0 + DAY_NS, 2, {"neutral": 1, "polite": 1}),
    ]
    assert series.histogram is None
    # The most frequent data type wins; an explicit one selects the others.
    insert_scores(ch, None, [score("n1", name="tone", value=3.0)])
    assert agg(ch, name="tone").data_type == "categorical"
    numeric = agg(ch, name="tone", data_type="numeric").series[0].total
    assert numeric.count == 1 and numeric.mean == 3.0
    assert agg(ch, name="nothing-here").series == []


def test_aggregate_rejects_bad_ranges(ch: ClickHouseTransport) -> None:
    with pytest.raises(ScoreAnalyticsError, match="before end"):
        agg(ch, start_ns=END, end_ns=START)
    with pytest.raises(ScoreAnalyticsError, match="buckets"):
        agg(ch, bucket="1h", start_ns=0, end_ns=T0)


@pytest.fixture
def traced(ch: ClickHouseTransport) -> ClickHouseTransport:
    """Two traces with LLM spans (models, prompts), users, sessions and tags; scores on spans, traces
    and a session; and another project reusing the same ids with different attributes."""
    base = {"project_id": "p1", "start_time": T0, "end_time": T0 + 10**9}
    llm = {"kind": "llm", "provider": "openai"}
    insert_spans(
        ch,
        [
            span(**base, trace_id=TRACE_A, span_id="a0" * 8, user_id="u1", session_id="sess-a",
                 tags=["t1", "t2"]),
            span(**base, **llm, trace_id=TRACE_A, span_id=SPAN_A1, parent_span_id="a0" * 8, model="gpt-4o",
                 prompt_name="qa", prompt_version=2),
            span(**base, **llm, trace_id=TRACE_A, span_id=SPAN_A2, parent_span_id="a0" * 8, model="claude"),
            span(**base, **llm, trace_id=TRACE_B, span_id=SPAN_B1, model="gpt-4o", prompt_name="qa",
                 prompt_version=3, user_id="u2", session_id="sess-b", tags=["t2"]),
            span(**{**base, "project_id": "p2"}, **llm, trace_id=TRACE_A, span_id=SPAN_A1, model="leak",
                 user_id="leak", session_id="leak", tags=["leak"], prompt_name="leak", prompt_version=1),
        ],
    )  # fmt: skip
    insert_scores(
        ch,
        None,
        [
            score("a1", span_id=SPAN_A1, value=1.0, evaluator_name="judge-x"),
            score("a2", span_id=SPAN_A2, value=0.0, source="annotation"),
            score("b1", trace_id=TRACE_B, span_id=SPAN_B1, value=0.5),
            score("ta", value=0.25),
            score("tb", trace_id=TRACE_B, value=0.75),
            score("tb-own", trace_id=TRACE_B, session_id="sess-own", value=0.9),
            score("sx", trace_id="", session_id="sess-x", value=0.1),
        ],
    )
    return ch


EXPECTED_GROUPS = {
    "model": {"gpt-4o": [1.0, 0.5, 0.25, 0.75, 0.9], "claude": [0.0, 0.25], "": [0.1]},
    "prompt_version": {"qa@v2": [1.0, 0.25], "qa@v3": [0.5, 0.75, 0.9], "": [0.0, 0.1]},
    "user": {"u1": [1.0, 0.0, 0.25], "u2": [0.5, 0.75, 0.9], "": [0.1]},
    "session": {"sess-a": [1.0, 0.0, 0.25], "sess-b": [0.5, 0.75], "sess-own": [0.9], "sess-x": [0.1]},
    "tag": {"t1": [1.0, 0.0, 0.25], "t2": [1.0, 0.0, 0.25, 0.5, 0.75, 0.9], "": [0.1]},
    "evaluator": {"judge-x": [1.0], "judge": [0.0, 0.5, 0.25, 0.75, 0.9, 0.1]},
    "source": {"annotation": [0.0], "evaluator": [1.0, 0.5, 0.25, 0.75, 0.9, 0.1]},
}


@pytest.mark.parametrize("dimension", sorted(EXPECTED_GROUPS))
def test_aggregate_by_dimension(traced: ClickHouseTransport, dimension: str) -> None:
    result = agg(traced, group_by=dimension, bucket="all")
    got = {s.dimension: (s.total.count, s.total.mean, s.total.max) for s in result.series}
    expected = EXPECTED_GROUPS[dimension]
    assert set(got) == set(expected)
    for value, scores in expected.items():
        assert got[value] == (len(scores), pytest.approx(statistics.fmean(scores)), max(scores))
        histogram = next(s.histogram for s in result.series if s.dimension == value)
        assert histogram is not None and sum(b.count for b in histogram) == len(scores)


def test_dimensions_only_look_back_a_week(traced: ClickHouseTransport) -> None:
    """A score written 8 days after its span starts no longer finds the span's model."""
    insert_scores(traced, None, [score("late", span_id=SPAN_A1, value=0.3, timestamp=T0 + 8 * DAY_NS)])
    result = aggregate_scores(
        traced,
        "p1",
        AggregateQuery(
            name="relevance", group_by="model", start_ns=T0 + 7 * DAY_NS + 1, end_ns=T0 + 9 * DAY_NS
        ),
    )
    assert [(s.dimension, s.total.count) for s in result.series] == [("", 1)]


def test_compare_numeric_against_clickhouse_welch(ch: ClickHouseTransport) -> None:
    a = [0.2, 0.4, 0.4, 0.5, 0.9, 0.3]
    b = [0.6, 0.7, 0.9, 0.65, 0.8]
    insert_scores(
        ch,
        None,
        [score(f"a{i}", value=v, evaluator_name="judge-a") for i, v in enumerate(a)]
        + [score(f"b{i}", value=v, evaluator_name="judge-b") for i, v in enumerate(b)]
        + [score("c", value=0.0, evaluator_name="judge-c")],
    )
    q = CompareQuery(
        name="relevance", dimension="evaluator", a="judge-a", b="judge-b", start_ns=START, end_ns=END
    )
    result = compare_scores(ch, "p1", q)
    assert result.stats_a.count == 6 and result.stats_b.count == 5
    assert result.mean_difference == pytest.approx(statistics.fmean(b) - statistics.fmean(a))
    reference = ch.query(
        "SELECT welchTTest(p.1, p.2) AS w FROM "
        "(SELECT arrayJoin(arrayZip({v:Array(Float64)}, {g:Array(UInt8)})) AS p)",
        {"v": a + b, "g": [0] * len(a) + [1] * len(b)},
    )[0]["w"]
    python = welch_t_test(
        statistics.fmean(a), statistics.variance(a), 6, statistics.fmean(b), statistics.variance(b), 5
    )
    assert result.test is not None and python is not None and result.test.method == "welch_t"
    assert result.test.p_value == pytest.approx(reference["p_value"], rel=1e-6)
    assert result.test.p_value == pytest.approx(python.p_value)
    assert abs(result.test.statistic) == pytest.approx(abs(reference["t_statistic"]), rel=1e-6)
    with pytest.raises(ScoreAnalyticsError):
        compare_scores(ch, "p1", q.model_copy(update={"b": "judge-a"}))
    lonely = compare_scores(ch, "p1", q.model_copy(update={"b": "judge-c"}))
    assert lonely.stats_b.count == 1 and lonely.test is None  # one value: no variance, no test


def test_compare_categorical_chi_square(ch: ClickHouseTransport) -> None:
    rows = []
    for source, counts in (("evaluator", {"yes": 30, "no": 10}), ("annotation", {"yes": 10, "no": 30})):
        for label, n in counts.items():
            rows += [
                score(
                    f"{source}-{label}-{i}",
                    name="ok",
                    data_type="categorical",
                    string_value=label,
                    source=source,
                )
                for i in range(n)
            ]
    insert_scores(ch, None, rows)
    q = CompareQuery(name="ok", dimension="source", a="evaluator", b="annotation", start_ns=START, end_ns=END)
    result = compare_scores(ch, "p1", q)
    assert result.stats_a.categories == {"yes": 30, "no": 10}
    assert result.stats_b.categories == {"yes": 10, "no": 30}
    assert result.test is not None and result.test.method == "chi_square"
    # 2x2 table [[30, 10], [10, 30]]: every expected count is 20, so chi2 = 4 * 10^2 / 20 = 20 with 1 df.
    assert result.test.statistic == pytest.approx(20.0) and result.test.df == 1
    assert result.test.p_value == pytest.approx(7.744e-6, rel=1e-3)


# --- correlation and agreement ----------------------------------------------------------------------


def test_correlation_matches_python_with_ties(ch: ClickHouseTransport) -> None:
    xs = [1.0, 2.0, 2.0, 3.0, 5.0, 5.0, 5.0, 8.0]
    ys = [2.0, 1.0, 4.0, 4.0, 6.0, 9.0, 7.0, 7.0]
    rows = []
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        span_id = f"{i:016x}"
        rows.append(score(f"x{i}", name="helpful", value=x, span_id=span_id))
        rows.append(score(f"y{i}", name="correct", value=y, span_id=span_id, source="annotation"))
    rows.append(score("x-alone", name="helpful", value=100.0, span_id="f" * 16))  # B never scored it
    rows.append(score("y-other-project", project_id="p2", name="correct", value=-5.0, span_id="f" * 16))
    insert_scores(ch, None, rows)
    q = CorrelationQuery(
        a=ScoreSide(name="helpful"),
        b=ScoreSide(name="correct", source="annotation"),
        start_ns=START,
        end_ns=END,
    )
    result = score_correlation(ch, "p1", q)
    assert result.n == 8
    assert result.pearson == pytest.approx(pearson(xs, ys))
    assert result.spearman == pytest.approx(spearman(xs, ys))
    assert result.mean_a == pytest.approx(statistics.fmean(xs))
    none = score_correlation(ch, "p1", q.model_copy(update={"b": ScoreSide(name="correct", source="api")}))
    assert (none.n, none.pearson, none.spearman) == (0, None, None)
    with pytest.raises(ScoreAnalyticsError, match="same scores"):
        score_correlation(ch, "p1", q.model_copy(update={"b": q.a}))


def test_agreement_kappa_and_f1(ch: ClickHouseTransport) -> None:
    human = [True] * 5 + [False] * 5
    judge = [True, True, True, False, False, True, False, False, False, False]
    rows = []
    for i, (h, j) in enumerate(zip(human, judge, strict=True)):
        span_id = f"{i:016x}"
        rows.append(
            score(
                f"h{i}", name="ok", data_type="boolean", value=float(h), span_id=span_id, source="annotation"
            )
        )
        rows.append(score(f"j{i}", name="ok", data_type="boolean", value=float(j), span_id=span_id))
    # An earlier, superseded human label on item 0: only the latest counts.
    rows.append(score("h0-old", name="ok", data_type="boolean", value=0.0, span_id=f"{0:016x}",
                      source="annotation", timestamp=T0 - 3600 * 10**9))  # fmt: skip
    insert_scores(ch, None, rows)
    q = AgreementQuery(
        a=ScoreSide(name="ok", source="annotation"), b=ScoreSide(name="ok", source="evaluator"),
        start_ns=START - DAY_NS, end_ns=END,
    )  # fmt: skip
    result = score_agreement(ch, "p1", q)
    cells = {(c.a, c.b): c.count for c in result.matrix}
    assert cells == {("true", "true"): 3, ("true", "false"): 2, ("false", "true"): 1, ("false", "false"): 4}
    # Hand-computed: po = 0.7, pe = 0.5 * 0.4 + 0.5 * 0.6 = 0.5, kappa = 0.2 / 0.5.
    assert result.n == 10 and result.observed_agreement == pytest.approx(0.7)
    assert result.kappa == pytest.approx(0.4)
    assert result.positive is not None
    assert (result.positive.precision, result.positive.recall) == (pytest.approx(0.75), pytest.approx(0.6))
    assert result.positive.f1 == pytest.approx(2 / 3)
    false = next(m for m in result.labels if m.label == "false")
    assert (false.precision, false.recall, false.support) == (pytest.approx(4 / 6), pytest.approx(0.8), 5)
    assert result.macro_f1 == pytest.approx((2 / 3 + 2 * (4 / 6) * 0.8 / (4 / 6 + 0.8)) / 2)


def test_agreement_on_categories_and_ratings(ch: ClickHouseTransport) -> None:
    pairs = [("a", "a"), ("a", "b"), ("b", "b"), ("c", "c"), ("c", "a")]
    rows = []
    for i, (x, y) in enumerate(pairs):
        rows.append(score(f"x{i}", name="cat", data_type="categorical", string_value=x, span_id=f"{i:016x}",
                          source="annotation"))  # fmt: skip
        rows.append(score(f"y{i}", name="cat", data_type="categorical", string_value=y, span_id=f"{i:016x}"))
        rows.append(
            score(f"r{i}", name="stars", value=float(i % 3 + 1), span_id=f"{i:016x}", source="annotation")
        )
        rows.append(
            score(f"s{i}", name="stars", value=float(i % 3 + 1), span_id=f"{i:016x}", source="feedback")
        )
    insert_scores(ch, None, rows)
    q = AgreementQuery(
        a=ScoreSide(name="cat", source="annotation"), b=ScoreSide(name="cat", source="evaluator"),
        start_ns=START, end_ns=END,
    )  # fmt: skip
    result = score_agreement(ch, "p1", q)
    # po = 3/5; row (A) marginals a2 b1 c2, column (B) marginals a2 b2 c1: pe = (4 + 2 + 2) / 25.
    assert result.kappa == pytest.approx((0.6 - 8 / 25) / (1 - 8 / 25))
    assert result.positive is None and {m.label for m in result.labels} == {"a", "b", "c"}
    stars = score_agreement(
        ch, "p1", q.model_copy(update={"a": ScoreSide(name="stars", source="annotation"),
                                       "b": ScoreSide(name="stars", source="feedback")})
    )  # fmt: skip
    assert stars.kappa == 1.0 and stars.macro_f1 == 1.0 and {m.label for m in stars.labels} == {"1", "2", "3"}


def test_span_dimensions_when_only_span_or_only_trace_scores_match(traced: ClickHouseTransport) -> None:
    """The lookup drops the half no score needs (span-only: a scalar join); answers stay the same."""
    only_spans = agg(traced, source="annotation", group_by="model", bucket="all")
    assert [(s.dimension, s.total.count) for s in only_spans.series] == [("claude", 1)]
    judged = agg(traced, evaluator_name="judge-x", group_by="prompt_version", bucket="all")
    assert [(s.dimension, s.total.count) for s in judged.series] == [("qa@v2", 1)]
    insert_scores(traced, None, [score("t-only", name="trace-only", value=0.3)])
    only_traces = agg(traced, name="trace-only", group_by="model", bucket="all")
    assert sorted((s.dimension, s.total.count) for s in only_traces.series) == [("claude", 1), ("gpt-4o", 1)]
    q = CompareQuery(name="relevance", dimension="model", a="claude", b="gpt-4o", source="annotation",
                     start_ns=START, end_ns=END)  # fmt: skip
    assert compare_scores(traced, "p1", q).stats_a.count == 1
