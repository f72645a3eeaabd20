"""Guardrail validators as offline evaluators: the same registry and code as GuardrailPolicy rules.

``spec.validator.params`` are the validator's own params plus two evaluator keys, taken out before the
validator sees them: ``stage`` (``output``, the default, checks the span's output with its input as the
prompt; ``input`` checks the input) and ``threshold`` (default 0.5, as a policy rule's: the check fails
when the validator's score is >= it). The score is pass (1.0) / fail (0.0) mapped through ``spec.score``;
the comment summarises the findings (entities and counts, redacted previews: never the matched text).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from otelguard.api.v1alpha1.evaluator import ValidatorConfig
from otelguard.evals.heuristics import MAX_TEXT_CHARS
from otelguard.evals.result import Evaluation, EvaluatorConfigError, PermanentEvalError
from otelguard.evals.scoring import Outcome, ScoreMapper
from otelguard.evals.subject import EvalSubject
from otelguard.evalspec import SpecError
from otelguard.evalspec import validators as spec
from otelguard.evalspec.validators import EVALUATOR_KEYS, bind_validator
from otelguard.guardrails import CheckContext, Finding, GuardrailError, RequestMeta, Stage
from otelguard.guardrails.patterns import ScanText

__all__ = ["EVALUATOR_KEYS", "ValidatorEvaluator", "split_params", "summarize"]

_MAX_COMMENT = 1000


def split_params(params: dict[str, Any] | None) -> tuple[Stage, float, dict[str, Any]]:
    """(stage, threshold, the validator's own params); ``EvaluatorConfigError`` on bad values."""
    try:
        return spec.split_params(params)
    except SpecError as exc:
        raise EvaluatorConfigError(str(exc)) from None


def summarize(findings: list[Finding]) -> str:
    """``PII/EMAIL x2 (jo…om (14 chars)); JSON_VALID/INVALID_JSON: invalid JSON …`` (bounded)."""
    counts = Counter((f.validator, f.entity) for f in findings)
    first: dict[tuple[str, str], Finding] = {}
    for f in findings:
        first.setdefault((f.validator, f.entity), f)
    parts = []
    for key, n in counts.most_common():
        f = first[key]
        part = f"{key[0]}/{key[1]}" + (f" x{n}" if n > 1 else "")
        if f.preview:
            part += f" ({f.preview})"
        if f.detail:
            part += f": {f.detail}"
        parts.append(part)
    text = "; ".join(parts)
    return text if len(text) <= _MAX_COMMENT else text[: _MAX_COMMENT - 1] + "…"


class ValidatorEvaluator:
    """One bound validator (params validated and precompiled once); thread-safe like the guard engine."""

    def __init__(self, config: ValidatorConfig, scores: ScoreMapper) -> None:
        # The binding steps are otelguard.evalspec's, which the Evaluator controller runs at reconcile.
        try:
            self.stage, self.threshold, self._validator = bind_validator(config)
        except SpecError as exc:
            raise EvaluatorConfigError(str(exc)) from None
        self._scores = scores

    def evaluate(self, subject: EvalSubject) -> Evaluation:
        text = subject.output if self.stage == "output" else subject.input
        note = ""
        if len(text) > MAX_TEXT_CHARS:
            note = f" (checked the first {MAX_TEXT_CHARS:,} of {len(text):,} characters)"
            text = text[:MAX_TEXT_CHARS]
        context = CheckContext(
            stage=self.stage,
            request=RequestMeta(
                project=subject.project_id,
                model=subject.model or None,
                trace_id=subject.trace_id,
                span_id=subject.span_id,
            ),
            input_text=subject.input if self.stage == "output" else None,
        )
        try:
            findings = self._validator.check(ScanText(text), context)
        except GuardrailError as exc:
            raise PermanentEvalError(f"validator {self._validator.name}: {exc}") from None
        score = self._validator.score(findings) if findings else 0.0
        passed = not findings or score < self.threshold
        if not findings:
            comment = f"{self._validator.name}: no findings in the {self.stage}{note}"
        else:
            verdict = "pass" if passed else "fail"
            comment = (
                f"{self._validator.name} {verdict}: score {score:.2f} (threshold {self.threshold:g}); "
                f"{summarize(findings)}{note}"
            )
        return self._scores.evaluation(Outcome(passed, None, comment))

    def close(self) -> None:
        return None
