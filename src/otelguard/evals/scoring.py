"""From a check's outcome to the score the Evaluator's ``spec.score`` asks for.

Heuristics and guardrail validators produce an ``Outcome``: pass/fail, plus a measured value when there
is a meaningful one (a length, a similarity, a latency, a cost). The score then is:

- ``boolean``: 1.0 pass, 0.0 fail;
- ``numeric``: the measured value when there is one, else 1.0/0.0;
- ``categorical``: ``string_value`` is the pass or the fail category and ``value`` is 1.0/0.0. Which
  categories those are is ``otelguard.evalspec.scoring.categorical_labels`` (shared with the Evaluator
  controller): the first named like a pass / like a failure, else the first / last. At least two
  categories are needed.
"""

from __future__ import annotations

from dataclasses import dataclass

from otelguard.api.v1alpha1.evaluator import ScoreConfig
from otelguard.evals.result import Evaluation, EvaluatorConfigError
from otelguard.evalspec import SpecError
from otelguard.evalspec.scoring import FAIL_NAMES, PASS_NAMES, categorical_labels

__all__ = ["FAIL_NAMES", "PASS_NAMES", "Outcome", "ScoreMapper"]


@dataclass(frozen=True, slots=True)
class Outcome:
    passed: bool
    measured: float | None = None
    comment: str = ""


class ScoreMapper:
    """Turns outcomes into evaluations of one ``ScoreConfig``; the category mapping is resolved once."""

    __slots__ = ("_fail", "_pass", "data_type")

    def __init__(self, score: ScoreConfig) -> None:
        self.data_type = score.data_type
        self._pass = self._fail = ""
        if score.data_type == "categorical":
            try:
                self._pass, self._fail = categorical_labels(score)
            except SpecError as exc:
                raise EvaluatorConfigError(str(exc)) from None

    def evaluation(self, outcome: Outcome) -> Evaluation:
        flag = 1.0 if outcome.passed else 0.0
        if self.data_type == "categorical":
            label = self._pass if outcome.passed else self._fail
            return Evaluation(flag, label, "categorical", outcome.comment)
        if self.data_type == "numeric" and outcome.measured is not None:
            return Evaluation(float(outcome.measured), "", "numeric", outcome.comment)
        return Evaluation(flag, "", self.data_type, outcome.comment)
