"""Statistics for score analytics, in pure Python (no SciPy here).

ClickHouse computes the sufficient statistics (means, variances, counts, confusion matrices, ranks); these
functions turn them into test results: Welch's t-test and the chi-square test of independence (p-values
from the regularized incomplete beta and gamma functions), Cohen's kappa, precision/recall/F1, and
Pearson/Spearman coefficients (the reference the SQL results are tested against).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "ClassMetrics",
    "TestResult",
    "average_ranks",
    "chi_square_test",
    "class_metrics",
    "cohen_kappa",
    "pearson",
    "spearman",
    "student_t_two_sided_p",
    "welch_t_test",
]

_EPS = 1e-15
_TINY = 1e-300
_MAX_ITER = 500


@dataclass(frozen=True, slots=True)
class TestResult:
    statistic: float
    df: float
    p_value: float


@dataclass(frozen=True, slots=True)
class ClassMetrics:
    precision: float | None  # None: the class was never predicted (0/0)
    recall: float | None  # None: the class never occurs in the reference
    f1: float | None
    support: int  # occurrences in the reference


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, _MAX_ITER + 1):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c if abs(1.0 + aa / c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h


def _betai(a: float, b: float, x: float) -> float:
    """Regularized incomplete beta I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def student_t_two_sided_p(t: float, df: float) -> float:
    """P(|T| >= |t|) for Student's t with ``df`` degrees of freedom (df may be fractional)."""
    if math.isnan(t) or df <= 0:
        return math.nan
    if math.isinf(t):
        return 0.0
    return min(1.0, _betai(df / 2.0, 0.5, df / (df + t * t)))


def welch_t_test(
    mean_a: float, var_a: float, n_a: int, mean_b: float, var_b: float, n_b: int
) -> TestResult | None:
    """Welch's unequal-variance t-test of ``mean_b - mean_a`` from sample means and (n-1) variances.
    None when it is undefined (fewer than two values on a side, or no variance at all)."""
    if n_a < 2 or n_b < 2:
        return None
    se_a, se_b = var_a / n_a, var_b / n_b
    se2 = se_a + se_b
    if not se2 > 0:
        return None
    t = (mean_b - mean_a) / math.sqrt(se2)
    df = se2 * se2 / ((se_a * se_a) / (n_a - 1) + (se_b * se_b) / (n_b - 1))
    return TestResult(statistic=t, df=df, p_value=student_t_two_sided_p(t, df))


def _gammq(a: float, x: float) -> float:
    """Regularized upper incomplete gamma Q(a, x)."""
    if x <= 0.0:
        return 1.0
    log_front = -x + a * math.log(x) - math.lgamma(a)
    if x < a + 1.0:  # series for P, then Q = 1 - P
        term = total = 1.0 / a
        ap = a
        for _ in range(_MAX_ITER):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * _EPS:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    b = x + 1.0 - a  # continued fraction for Q (modified Lentz)
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_ITER + 1):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = b + an / c if abs(b + an / c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return math.exp(log_front) * h


def chi_square_test(table: Sequence[Sequence[int]]) -> TestResult | None:
    """Pearson's chi-square test of independence for a rows x columns table of counts (rows/columns
    that are all zero are ignored). None when fewer than two rows or columns remain."""
    rows = [list(r) for r in table if sum(r) > 0]
    if len(rows) < 2:
        return None
    keep = [j for j in range(len(rows[0])) if sum(r[j] for r in rows) > 0]
    if len(keep) < 2:
        return None
    rows = [[r[j] for j in keep] for r in rows]
    total = sum(map(sum, rows))
    row_sums = [sum(r) for r in rows]
    col_sums = [sum(r[j] for r in rows) for j in range(len(keep))]
    stat = 0.0
    for i, r in enumerate(rows):
        for j, observed in enumerate(r):
            expected = row_sums[i] * col_sums[j] / total
            stat += (observed - expected) ** 2 / expected
    df = (len(rows) - 1) * (len(keep) - 1)
    return TestResult(statistic=stat, df=float(df), p_value=_gammq(df / 2.0, stat / 2.0))


def cohen_kappa(matrix: Mapping[tuple[str, str], int]) -> float | None:
    """Cohen's kappa from ``{(label_a, label_b): count}``; None without items, 1.0 when both raters
    always give one and the same label (chance agreement 1, observed agreement 1)."""
    n = sum(matrix.values())
    if n == 0:
        return None
    observed = sum(c for (a, b), c in matrix.items() if a == b) / n
    row: dict[str, int] = {}
    col: dict[str, int] = {}
    for (a, b), c in matrix.items():
        row[a] = row.get(a, 0) + c
        col[b] = col.get(b, 0) + c
    expected = sum(row[label] * col.get(label, 0) for label in row) / (n * n)
    if expected >= 1.0:
        return 1.0 if observed >= 1.0 else 0.0
    return (observed - expected) / (1.0 - expected)


def class_metrics(matrix: Mapping[tuple[str, str], int], label: str) -> ClassMetrics:
    """Precision, recall and F1 of ``label`` with rater A as the reference and B as the prediction."""
    tp = matrix.get((label, label), 0)
    predicted = sum(c for (_, b), c in matrix.items() if b == label)
    support = sum(c for (a, _), c in matrix.items() if a == label)
    precision = tp / predicted if predicted else None
    recall = tp / support if support else None
    if precision is None or recall is None:
        f1 = None
    else:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return ClassMetrics(precision=precision, recall=recall, f1=f1, support=support)


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r; None for fewer than two pairs or a constant side."""
    n = len(xs)
    if n != len(ys):
        raise ValueError("pearson needs two sequences of the same length")
    if n < 2:
        return None
    mx, my = math.fsum(xs) / n, math.fsum(ys) / n
    sxy = math.fsum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = math.fsum((x - mx) ** 2 for x in xs)
    syy = math.fsum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def average_ranks(values: Sequence[float]) -> list[float]:
    """1-based ranks, ties sharing the mean of their positions (what Spearman's rho needs)."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Spearman's rho: Pearson's r of the average ranks (correct with ties)."""
    return pearson(average_ranks(xs), average_ranks(ys))
