"""The statistics behind score analytics, against hand-computed and tabulated values."""

from __future__ import annotations

import math

import pytest

from otelguard.storage.score_stats import (
    average_ranks,
    chi_square_test,
    class_metrics,
    cohen_kappa,
    pearson,
    spearman,
    student_t_two_sided_p,
    welch_t_test,
)


@pytest.mark.parametrize(
    ("t", "df", "p"),
    [
        (2.228, 10, 0.05),  # t-table critical values (two-sided)
        (12.706, 1, 0.05),
        (2.576, 1e9, 0.01),
        (3.169, 10, 0.01),
        (0.0, 5, 1.0),
    ],
)
def test_student_t_p_values_match_tables(t: float, df: float, p: float) -> None:
    assert student_t_two_sided_p(t, df) == pytest.approx(p, abs=2e-4)
    assert student_t_two_sided_p(-t, df) == pytest.approx(p, abs=2e-4)


def test_student_t_edges() -> None:
    assert student_t_two_sided_p(math.inf, 3) == 0.0
    assert math.isnan(student_t_two_sided_p(1.0, 0))


def test_welch_by_hand() -> None:
    # a = [1, 2, 3], b = [5, 6, 9]: means 2 and 20/3, variances 1 and 13/3; se^2 = 1/3 + 13/9 = 16/9,
    # t = (20/3 - 2) / (4/3) = 3.5; df = (16/9)^2 / ((1/3)^2/2 + (13/9)^2/2) = 2.8764.
    result = welch_t_test(2.0, 1.0, 3, 20 / 3, 13 / 3, 3)
    assert result is not None
    assert result.statistic == pytest.approx(3.5)
    assert result.df == pytest.approx((16 / 9) ** 2 / ((1 / 3) ** 2 / 2 + (13 / 9) ** 2 / 2))
    assert result.p_value == pytest.approx(0.042172, abs=1e-5)  # ClickHouse welchTTest on the same data
    assert welch_t_test(1.0, 1.0, 1, 2.0, 1.0, 5) is None  # one value on a side
    assert welch_t_test(1.0, 0.0, 4, 1.0, 0.0, 4) is None  # no variance at all


def test_chi_square_by_hand() -> None:
    two = chi_square_test([[30, 10], [10, 30]])  # all expected counts 20: (4 * 100) / 20
    assert two is not None and (two.statistic, two.df) == (pytest.approx(20.0), 1.0)
    assert two.p_value == pytest.approx(math.erfc(math.sqrt(20 / 2)))  # 1 df: P = erfc(sqrt(x/2))
    three = chi_square_test([[10, 20, 30], [30, 20, 10]])  # expected 20 each: 400 / 20 = 20, df 2
    assert three is not None and three.statistic == pytest.approx(20.0) and three.df == 2.0
    assert three.p_value == pytest.approx(math.exp(-10))  # 2 df: P = exp(-x/2)
    four = chi_square_test([[5, 10, 15], [10, 10, 10], [15, 10, 5]])  # expected 10: (25*4 + 0)/10 = 10
    assert four is not None and four.statistic == pytest.approx(10.0) and four.df == 4.0
    assert four.p_value == pytest.approx(math.exp(-5) * (1 + 5))  # 4 df: P = exp(-x/2)(1 + x/2)
    big = chi_square_test([[500, 10], [10, 500]])
    assert big is not None and 0 <= big.p_value < 1e-100
    same = chi_square_test([[10, 10], [20, 20]])
    assert same is not None and same.statistic == 0.0 and same.p_value == pytest.approx(1.0)
    assert chi_square_test([[3, 0], [4, 0]]) is None  # one non-empty column
    assert chi_square_test([[3, 4], [0, 0]]) is None  # one non-empty row


def test_cohen_kappa_by_hand() -> None:
    # The textbook example: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no. po = 0.7,
    # pe = 0.5 * 0.6 + 0.5 * 0.4 = 0.5, kappa = 0.4.
    m = {("yes", "yes"): 20, ("yes", "no"): 5, ("no", "yes"): 10, ("no", "no"): 15}
    assert cohen_kappa(m) == pytest.approx(0.4)
    assert cohen_kappa({("a", "b"): 5, ("b", "a"): 5}) == pytest.approx(-1.0)
    assert cohen_kappa({("a", "a"): 3, ("b", "b"): 7}) == 1.0
    assert cohen_kappa({("a", "a"): 4}) == 1.0  # one label, always agreed
    assert cohen_kappa({}) is None


def test_precision_recall_f1_by_hand() -> None:
    m = {("yes", "yes"): 20, ("yes", "no"): 5, ("no", "yes"): 10, ("no", "no"): 15}
    yes = class_metrics(m, "yes")  # A (reference) said yes 25 times; B said yes 30 times, 20 right
    assert (yes.precision, yes.recall, yes.support) == (pytest.approx(20 / 30), pytest.approx(20 / 25), 25)
    assert yes.f1 == pytest.approx(2 * (2 / 3) * 0.8 / (2 / 3 + 0.8))
    never_predicted = class_metrics({("x", "y"): 3}, "x")
    assert never_predicted.precision is None and never_predicted.recall == 0.0 and never_predicted.f1 is None
    wrong = class_metrics({("x", "y"): 3, ("y", "x"): 2}, "x")
    assert (wrong.precision, wrong.recall, wrong.f1) == (0.0, 0.0, 0.0)


def test_pearson_by_hand() -> None:
    # x = [1, 2, 3], y = [2, 4, 7]: sxy = 5, sxx = 2, syy = 38/3; r = 5 / sqrt(76/3).
    assert pearson([1, 2, 3], [2, 4, 7]) == pytest.approx(5 / math.sqrt(76 / 3))
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert pearson([1, 1, 1], [1, 2, 3]) is None
    assert pearson([1], [2]) is None
    with pytest.raises(ValueError):
        pearson([1, 2], [1])


def test_spearman_with_ties_by_hand() -> None:
    assert average_ranks([10, 20, 20, 5]) == [2.0, 3.5, 3.5, 1.0]
    # ranks x = [1, 2, 3, 4.5, 4.5], y = [1.5, 1.5, 3, 4, 5]: deviations give 9 / sqrt(9.5 * 9.5).
    assert spearman([1, 2, 3, 4, 4], [1, 1, 2, 3, 5]) == pytest.approx(9 / 9.5)
    assert spearman([1, 2, 3, 4], [1, 8, 27, 64]) == pytest.approx(1.0)  # monotone, not linear
    assert spearman([1, 2, 3], [9, 4, 1]) == pytest.approx(-1.0)
