"""Which categories a pass/fail check writes (``spec.score`` of heuristic and validator evaluators).

The pass category is the first of ``spec.score.categories`` named like a pass (pass, passed, true, yes,
ok, good, valid, correct, success; any case), else the first category; the fail category is the first
named like a failure (fail, failed, false, no, bad, invalid, incorrect, failure), else the last category
(the first, when the last one is the pass category). At least two categories are needed.
"""

from __future__ import annotations

from otelguard.api.v1alpha1.evaluator import ScoreConfig
from otelguard.evalspec.errors import SpecError

__all__ = ["FAIL_NAMES", "PASS_NAMES", "categorical_labels"]

PASS_NAMES = frozenset({"pass", "passed", "true", "yes", "ok", "good", "valid", "correct", "success"})
FAIL_NAMES = frozenset({"fail", "failed", "false", "no", "bad", "invalid", "incorrect", "failure"})


def categorical_labels(score: ScoreConfig) -> tuple[str, str]:
    """(pass category, fail category); ``SpecError`` (InvalidScore) with fewer than two categories."""
    cats = list(score.categories)
    if len(cats) < 2:
        raise SpecError(
            "InvalidScore",
            "spec.score.categories: a pass/fail check needs at least two categories",
            [
                "spec.score.categories: a pass/fail check needs at least two categories "
                f"(one for pass, one for fail), got {len(cats)}"
            ],
        )
    passed = next((c for c in cats if c.lower() in PASS_NAMES), cats[0])
    failed = next((c for c in cats if c.lower() in FAIL_NAMES and c != passed), cats[-1])
    if failed == passed:  # e.g. ["ok", "meh"] with "ok" last: fall back to the other end
        failed = cats[0] if passed == cats[-1] else cats[-1]
    return passed, failed
