"""Evaluator → a validated config row (``resources`` kind Evaluator) the eval workers will read.

Checks beyond the schema: the judge template (syntax; only ``input``, ``output``, ``expected`` and
``context`` are available), heuristic parameters (regex compiles, JSON Schema is valid, length bounds
ordered) and guardrail-validator names/params (same registry as GuardrailPolicy). Status counters
(lastRun, scoredSpans, errors, judgeCostUsd) belong to the eval workers and are left untouched.
"""

from __future__ import annotations

from otelguard.api.v1alpha1 import Evaluator, EvaluatorStatus
from otelguard.api.v1alpha1.evaluator import EvaluatorSpec, HeuristicConfig
from otelguard.controllers.base import (
    Applied,
    Desired,
    Failure,
    Json,
    ReconcileInput,
    plan_stored_spec,
    versioned_config_status,
)
from otelguard.controllers.checks import json_schema_error, pattern_params, regex_error
from otelguard.controllers.guardrail_policy import validator_problems
from otelguard.controllers.templates import check_template

KIND = "Evaluator"
JUDGE_VARIABLES = ("input", "output", "expected", "context")
NOT_RUN = "spans are not evaluated yet: this OTelGuard release has no eval workers"


def _heuristic_problems(h: HeuristicConfig) -> list[Failure]:
    params = h.params or {}
    where = "spec.heuristic"
    if h.type == "regex":
        found = list(pattern_params(params))
        if not found:
            return [Failure("InvalidParams", f"{where}: type regex needs params.pattern or params.patterns")]
        return [
            Failure("InvalidPattern", f"{where}.{path}: {err}")
            for path, pattern in found
            if (err := regex_error(pattern)) is not None
        ]
    if h.type == "json-schema":
        err = json_schema_error(params.get("schema"))
        return [Failure("InvalidParams", f"{where}.params.schema: {err}")] if err else []
    if h.type == "length":
        low, high = params.get("min"), params.get("max")
        bad = [k for k in ("min", "max") if k in params and not isinstance(params[k], int)]
        if bad:
            return [Failure("InvalidParams", f"{where}.params.{bad[0]} must be an integer")]
        if isinstance(low, int) and isinstance(high, int) and low > high:
            return [Failure("InvalidParams", f"{where}.params: min {low} is greater than max {high}")]
    return []


def problems(spec: EvaluatorSpec) -> list[Failure]:
    out: list[Failure] = []
    if spec.judge is not None and spec.judge.template is not None:
        out += [
            Failure(
                p.reason, f"spec.judge.template: {p.message.replace('spec.variables', 'the judge context')}"
            )
            for p in check_template(spec.judge.template, JUDGE_VARIABLES)
        ]
    if spec.heuristic is not None:
        out += _heuristic_problems(spec.heuristic)
    if spec.validator is not None:
        out += [
            Failure(p.reason, f"spec.validator: {p.message}")
            for p in validator_problems(spec.validator.name, spec.validator.params)
        ]
    return out


def plan(inp: ReconcileInput) -> Desired:
    spec = inp.resource_as(Evaluator).spec
    return plan_stored_spec(inp, KIND, spec, problems(spec))


def status(inp: ReconcileInput, desired: Desired, applied: Applied | None) -> Json:
    return versioned_config_status(
        inp,
        desired,
        applied,
        EvaluatorStatus,
        pending=NOT_RUN,
        suspended=inp.resource_as(Evaluator).spec.suspend,
        suspended_message="spec.suspend is true: no new spans will be evaluated",
    )
