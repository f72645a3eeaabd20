"""Evaluator → a validated config row (``resources`` kind Evaluator) the eval workers will read.

Checks beyond the schema are ``otelguard.evalspec.evaluator_spec_problems``: the eval workers' own
build steps (judge template syntax and variables, built-in template names, heuristic params models
with unknown keys refused, RE2 compilation of regexes, JSON Schemas, guardrail-validator binding and
stage, the categorical score mapping), so a spec that is Ready here is one every worker can build.
One check is stricter than the builder: ``length`` bounds must be JSON integers (the builder would
coerce a quoted ``"3"``; in a manifest that is most likely a typo). Status counters (lastRun,
scoredSpans, errors, judgeCostUsd, spansPerMinute) belong to the eval workers and are left untouched.
"""

from __future__ import annotations

from otelguard.api.v1alpha1 import Evaluator, EvaluatorStatus
from otelguard.api.v1alpha1.evaluator import EvaluatorSpec
from otelguard.controllers.base import (
    Applied,
    Desired,
    Failure,
    Json,
    ReconcileInput,
    plan_stored_spec,
    versioned_config_status,
)
from otelguard.evalspec import JUDGE_VARIABLES, evaluator_spec_problems

__all__ = ["JUDGE_VARIABLES", "KIND", "plan", "problems", "status"]

KIND = "Evaluator"
RUNNING = "eval workers score sampled matching spans as they are ingested"


def _stricter_than_the_builder(spec: EvaluatorSpec) -> list[Failure]:
    h = spec.heuristic
    if spec.kind != "heuristic" or h is None or h.type != "length":
        return []
    params = h.params or {}
    bad = [k for k in ("min", "max") if k in params and not isinstance(params[k], int)]
    return [Failure("InvalidParams", f"spec.heuristic.params.{bad[0]} must be an integer")] if bad else []


def problems(spec: EvaluatorSpec) -> list[Failure]:
    found = [Failure(reason, message) for reason, message in evaluator_spec_problems(spec)]
    return found or _stricter_than_the_builder(spec)


def plan(inp: ReconcileInput) -> Desired:
    spec = inp.resource_as(Evaluator).spec
    return plan_stored_spec(inp, KIND, spec, problems(spec))


def status(inp: ReconcileInput, desired: Desired, applied: Applied | None) -> Json:
    return versioned_config_status(
        inp,
        desired,
        applied,
        EvaluatorStatus,
        pending=RUNNING,
        suspended=inp.resource_as(Evaluator).spec.suspend,
        suspended_message="spec.suspend is true: no new spans will be evaluated",
    )
