"""Regression verdicts of a label move: thresholds per metric, insufficient data, zero baselines."""

from __future__ import annotations

import pytest

from otelguard.prompts.regression import (
    MIN_SPANS,
    Regression,
    Sample,
    Thresholds,
    compare,
    min_spans,
)

BASE = Sample(
    spans=100,
    latency_ms_p95=1000.0,
    cost_usd_mean=0.010,
    error_rate=0.02,
    guardrail_hit_rate=0.01,
    score_averages={"helpfulness": 0.8, "toxicity_free": 1.0},
)


def candidate(**changes: object) -> Sample:
    values = {
        "spans": BASE.spans,
        "latency_ms_p95": BASE.latency_ms_p95,
        "cost_usd_mean": BASE.cost_usd_mean,
        "error_rate": BASE.error_rate,
        "guardrail_hit_rate": BASE.guardrail_hit_rate,
        "score_averages": dict(BASE.score_averages),
    }
    values.update(changes)
    return Sample(**values)  # type: ignore[arg-type]


def test_an_identical_candidate_is_ok() -> None:
    verdict = compare(BASE, candidate(), sample_size=100)
    assert verdict.status == "ok" and verdict.regressions == []


@pytest.mark.parametrize(
    ("changes", "metric", "change", "threshold"),
    [
        ({"latency_ms_p95": 1300.0}, "latency_ms_p95", 0.3, 0.2),
        ({"cost_usd_mean": 0.015}, "cost_usd_mean", 0.5, 0.2),
        ({"error_rate": 0.10}, "error_rate", 0.08, 0.05),
        ({"guardrail_hit_rate": 0.2}, "guardrail_hit_rate", 0.19, 0.05),
        ({"score_averages": {"helpfulness": 0.6, "toxicity_free": 1.0}}, "score:helpfulness", -0.25, 0.1),
    ],
)
def test_each_metric_beyond_its_threshold_is_a_regression(
    changes: dict[str, object], metric: str, change: float, threshold: float
) -> None:
    verdict = compare(BASE, candidate(**changes), sample_size=100)
    assert verdict.status == "regression"
    [found] = verdict.regressions
    assert found.metric == metric
    assert found.change == pytest.approx(change)
    assert found.threshold == threshold
    assert found.baseline != found.candidate


@pytest.mark.parametrize(
    "changes",
    [
        {"latency_ms_p95": 1199.0},  # +19.9%
        {"latency_ms_p95": 1200.0},  # exactly +20%: not beyond
        {"cost_usd_mean": 0.0119},
        {"error_rate": 0.069},  # +4.9 pp
        {"error_rate": 0.07},  # exactly +5 pp
        {"guardrail_hit_rate": 0.05},
        {"score_averages": {"helpfulness": 0.73, "toxicity_free": 1.0}},  # -8.75%
        # better is never a regression
        {"latency_ms_p95": 10.0, "cost_usd_mean": 0.0, "error_rate": 0.0, "guardrail_hit_rate": 0.0},
        {"score_averages": {"helpfulness": 1.0, "toxicity_free": 1.0}},
    ],
)
def test_changes_within_thresholds_or_improvements_are_ok(changes: dict[str, object]) -> None:
    assert compare(BASE, candidate(**changes), sample_size=100).status == "ok"


def test_several_regressions_are_all_listed_in_a_stable_order() -> None:
    worse = candidate(
        latency_ms_p95=5000.0,
        error_rate=0.5,
        score_averages={"helpfulness": 0.1, "toxicity_free": 0.5},
    )
    metrics = [r.metric for r in compare(BASE, worse, sample_size=100).regressions]
    assert metrics == ["latency_ms_p95", "error_rate", "score:helpfulness", "score:toxicity_free"]


def test_insufficient_data_on_either_side_flags_nothing() -> None:
    terrible = candidate(latency_ms_p95=1e6, error_rate=1.0)
    assert compare(BASE, candidate(spans=19, latency_ms_p95=1e6), sample_size=100).status == (
        "insufficient_data"
    )
    few_base = Sample(spans=5, latency_ms_p95=1.0, cost_usd_mean=0.0, error_rate=0.0, guardrail_hit_rate=0.0)
    verdict = compare(few_base, terrible, sample_size=100)
    assert verdict.status == "insufficient_data" and verdict.regressions == []
    assert compare(Sample(), terrible, sample_size=100).status == "insufficient_data"  # label created


def test_min_spans_is_the_smaller_of_sample_and_twenty() -> None:
    assert min_spans(10) == 10
    assert min_spans(100) == MIN_SPANS == 20
    small = Sample(spans=10, latency_ms_p95=100.0, cost_usd_mean=0.0, error_rate=0.0, guardrail_hit_rate=0.0)
    worse = Sample(spans=10, latency_ms_p95=200.0, cost_usd_mean=0.0, error_rate=0.0, guardrail_hit_rate=0.0)
    assert compare(small, worse, sample_size=10).status == "regression"
    assert compare(small, worse, sample_size=11).status == "insufficient_data"


def test_zero_or_unknown_baselines_are_not_compared_relatively() -> None:
    free = candidate(cost_usd_mean=0.0)
    assert compare(free, candidate(cost_usd_mean=0.02), sample_size=100).status == "ok"
    no_latency = candidate(latency_ms_p95=None)
    assert compare(no_latency, candidate(latency_ms_p95=9999.0), sample_size=100).status == "ok"
    zero_score = candidate(score_averages={"helpfulness": 0.0})
    assert (
        compare(zero_score, candidate(score_averages={"helpfulness": -1.0}), sample_size=100).status == "ok"
    )


def test_scores_only_on_one_side_are_not_compared() -> None:
    only_new = candidate(score_averages={"brand_new": 0.0})
    assert compare(BASE, only_new, sample_size=100).status == "ok"


def test_negative_score_baselines_use_their_magnitude() -> None:
    base = candidate(score_averages={"margin": -1.0})
    [found] = compare(base, candidate(score_averages={"margin": -1.5}), sample_size=100).regressions
    assert found == Regression("score:margin", -1.0, -1.5, -0.5, 0.1)


def test_custom_thresholds() -> None:
    strict = Thresholds(latency_p95_increase=0.05)
    slower = candidate(latency_ms_p95=1100.0)
    assert compare(BASE, slower, sample_size=100).status == "ok"
    assert compare(BASE, slower, sample_size=100, thresholds=strict).status == "regression"
