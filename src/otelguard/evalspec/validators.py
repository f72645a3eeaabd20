"""A guardrail validator as an evaluator: split the evaluator's keys off, bind the validator.

``spec.validator.params`` are the validator's own params plus ``stage`` (input|output, default output)
and ``threshold`` (in [0, 1], default 0.5), taken out before the validator sees them. Binding uses the
guardrails registry (the same as GuardrailPolicy rules): params validated, patterns compiled with RE2.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from otelguard.api.v1alpha1.evaluator import ValidatorConfig
from otelguard.evalspec.errors import SpecError
from otelguard.guardrails import Stage
from otelguard.guardrails.registry import (
    PLANNED_VALIDATORS,
    ParamsError,
    UnknownValidator,
    Validator,
    bind,
    canonical_name,
)

__all__ = ["EVALUATOR_KEYS", "bind_validator", "split_params", "validator_errors"]

EVALUATOR_KEYS = frozenset({"stage", "threshold"})


def _stage(value: Any) -> Stage:
    if value not in ("input", "output"):
        raise SpecError(
            "InvalidParams", f"spec.validator.params.stage must be input or output, got {value!r}"
        )
    return cast(Stage, value)


def _threshold(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise SpecError("InvalidParams", f"spec.validator.params.threshold must be in [0, 1], got {value!r}")
    return float(value)


def split_params(params: Mapping[str, Any] | None) -> tuple[Stage, float, dict[str, Any]]:
    """(stage, threshold, the validator's own params); ``SpecError`` on a bad stage or threshold."""
    raw = dict(params or {})
    stage = _stage(raw.pop("stage", "output"))
    threshold = _threshold(raw.pop("threshold", 0.5))
    return stage, threshold, raw


def _bind(name: str, own: dict[str, Any], stage: Stage | None) -> Validator:
    try:
        validator = bind(name, own)
    except UnknownValidator as exc:
        planned = canonical_name(name, strict=False) in PLANNED_VALIDATORS
        reason = "ValidatorNotImplemented" if planned else "UnknownValidator"
        raise SpecError(reason, f"spec.validator.name: {exc.message}") from None
    except ParamsError as exc:
        paths = [
            f"spec.validator.{p}" if p.startswith("params") else f"spec.validator: {p}" for p in exc.problems
        ]
        raise SpecError(exc.reason, f"spec.validator: {exc}", paths) from None
    if stage is not None and stage not in validator.stages:
        allowed = ", ".join(sorted(validator.stages))
        raise SpecError(
            "UnsupportedStage",
            f"validator {validator.name} does not run on the {stage} stage (only {allowed})",
            [
                f"spec.validator.params.stage: validator {validator.name} does not run on the {stage} stage "
                f"(only {allowed})"
            ],
        )
    return validator


def bind_validator(config: ValidatorConfig) -> tuple[Stage, float, Validator]:
    """(stage, threshold, the bound validator); ``SpecError`` for the first problem."""
    stage, threshold, own = split_params(config.params)
    return stage, threshold, _bind(config.name, own, stage)


def validator_errors(config: ValidatorConfig) -> list[SpecError]:
    """Every problem ``bind_validator`` would stop at the first of (stage, threshold, name, params)."""
    raw = dict(config.params or {})
    errors: list[SpecError] = []
    stage: Stage | None = None
    try:
        stage = _stage(raw.pop("stage", "output"))
    except SpecError as exc:
        errors.append(exc)
    try:
        _threshold(raw.pop("threshold", 0.5))
    except SpecError as exc:
        errors.append(exc)
    try:
        _bind(config.name, raw, stage)
    except SpecError as exc:
        errors.append(exc)
    return errors
