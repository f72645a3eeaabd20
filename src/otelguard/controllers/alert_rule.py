"""AlertRule → a validated rule row (``resources`` kind AlertRule) the alert evaluator will read.

Checks beyond the schema: dimensions/filters the metric has, and durations (``for``, ``repeatInterval``,
``window``, ``interval``) within ``MAX_DURATION`` — the schema's pattern accepts ``99999999w``. Firing
state (state, lastEvaluation, lastValue, lastFired) belongs to the alert evaluator: until it exists the
controller leaves ``state`` unset rather than claim "ok" for a rule nothing evaluates.
"""

from __future__ import annotations

from otelguard.api.v1alpha1 import AlertRule, AlertRuleStatus
from otelguard.api.v1alpha1.alert_rule import AlertRuleSpec
from otelguard.controllers.base import (
    Applied,
    Desired,
    Failure,
    Json,
    ReconcileInput,
    plan_stored_spec,
    versioned_config_status,
)
from otelguard.controllers.checks import duration_seconds
from otelguard.controllers.queries import query_problems

KIND = "AlertRule"
MAX_DURATION = 366 * 86400
NOT_EVALUATED = "not evaluated yet: this OTelGuard release has no alert evaluator"


def problems(spec: AlertRuleSpec) -> list[Failure]:
    out = [Failure("InvalidSpec", p) for p in query_problems(spec.query, "spec.query")]
    durations = {
        "spec.for": spec.for_,
        "spec.interval": spec.interval,
        "spec.query.window": spec.query.window,
        "spec.repeatInterval": spec.repeat_interval,
    }
    for where, text in durations.items():
        if text is not None and duration_seconds(text) > MAX_DURATION:
            out.append(Failure("InvalidDuration", f"{where}: {text} is longer than 366 days"))
    return out


def plan(inp: ReconcileInput) -> Desired:
    spec = inp.resource_as(AlertRule).spec
    return plan_stored_spec(inp, KIND, spec, problems(spec))


def status(inp: ReconcileInput, desired: Desired, applied: Applied | None) -> Json:
    return versioned_config_status(
        inp,
        desired,
        applied,
        AlertRuleStatus,
        pending=NOT_EVALUATED,
        suspended=inp.resource_as(AlertRule).spec.suspend,
        suspended_message="spec.suspend is true: the rule is stored but not evaluated",
    )
