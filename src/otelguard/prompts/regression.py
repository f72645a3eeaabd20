"""Regression checks of a prompt label move: the new version's first spans against the old version's last.

Pure: the caller measures both samples (``storage.clickhouse.prompt_usage.move_samples``) and ``compare``
decides. A metric regresses when the candidate is worse than the baseline by more than its threshold
(defaults in ``Thresholds``):

- ``latency_ms_p95``, ``cost_usd_mean``: relative increase, (candidate - baseline) / baseline > 20%;
- ``error_rate``, ``guardrail_hit_rate``: absolute increase > 5 percentage points (0.05);
- ``score:<name>`` (each score both samples have): relative decrease > 10% of |baseline| (higher scores
  are better).

A relative threshold needs a non-zero baseline: a metric whose baseline is 0 (or unknown) is not
compared. Both samples need at least ``min(sample_size, 20)`` spans, else the status is
``insufficient_data`` and nothing is flagged. ``change`` is relative for the relative metrics and
absolute for the rates, in the same units as ``threshold``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "DEFAULT_SAMPLE",
    "MAX_SAMPLE",
    "MIN_SAMPLE",
    "MIN_SPANS",
    "Comparison",
    "Regression",
    "Sample",
    "Status",
    "Thresholds",
    "compare",
    "min_spans",
]

DEFAULT_SAMPLE = 100
MIN_SAMPLE = 10
MAX_SAMPLE = 10_000
MIN_SPANS = 20  # each side needs min(sample size, MIN_SPANS) spans
_EPSILON = 1e-9  # a change exactly at the threshold is not a regression, float noise included

Status = Literal["regression", "ok", "insufficient_data"]


@dataclass(frozen=True, slots=True)
class Thresholds:
    latency_p95_increase: float = 0.20  # relative
    cost_increase: float = 0.20  # relative
    error_rate_increase: float = 0.05  # absolute (5 percentage points)
    guardrail_hit_rate_increase: float = 0.05  # absolute
    score_decrease: float = 0.10  # relative to |baseline|


@dataclass(frozen=True, slots=True)
class Sample:
    """Metrics of one version's spans; None: not measurable (no spans)."""

    spans: int = 0
    latency_ms_p95: float | None = None
    cost_usd_mean: float | None = None
    error_rate: float | None = None
    guardrail_hit_rate: float | None = None
    score_averages: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Regression:
    metric: str
    baseline: float
    candidate: float
    change: float
    threshold: float


@dataclass(frozen=True, slots=True)
class Comparison:
    status: Status
    regressions: list[Regression]


def min_spans(sample_size: int) -> int:
    """Spans each side needs before the comparison means anything."""
    return min(sample_size, MIN_SPANS)


def _relative(
    metric: str, base: float | None, cand: float | None, threshold: float, *, lower_is_worse: bool = False
) -> Regression | None:
    if base is None or cand is None or base == 0:
        return None
    change = (cand - base) / abs(base)
    worse = -change if lower_is_worse else change
    if worse > threshold + _EPSILON:
        return Regression(metric, base, cand, change, threshold)
    return None


def _absolute(metric: str, base: float | None, cand: float | None, threshold: float) -> Regression | None:
    if base is None or cand is None:
        return None
    change = cand - base
    return Regression(metric, base, cand, change, threshold) if change > threshold + _EPSILON else None


def compare(
    baseline: Sample, candidate: Sample, *, sample_size: int, thresholds: Thresholds | None = None
) -> Comparison:
    """The verdict on a move from the baseline's version to the candidate's."""
    t = thresholds or Thresholds()
    need = min_spans(sample_size)
    if baseline.spans < need or candidate.spans < need:
        return Comparison("insufficient_data", [])
    found = [
        _relative(
            "latency_ms_p95", baseline.latency_ms_p95, candidate.latency_ms_p95, t.latency_p95_increase
        ),
        _relative("cost_usd_mean", baseline.cost_usd_mean, candidate.cost_usd_mean, t.cost_increase),
        _absolute("error_rate", baseline.error_rate, candidate.error_rate, t.error_rate_increase),
        _absolute(
            "guardrail_hit_rate",
            baseline.guardrail_hit_rate,
            candidate.guardrail_hit_rate,
            t.guardrail_hit_rate_increase,
        ),
    ]
    for name in sorted(set(baseline.score_averages) & set(candidate.score_averages)):
        found.append(
            _relative(
                f"score:{name}",
                baseline.score_averages[name],
                candidate.score_averages[name],
                t.score_decrease,
                lower_is_worse=True,
            )
        )
    regressions = [r for r in found if r is not None]
    return Comparison("regression" if regressions else "ok", regressions)
