"""Pure helpers for ``status.conditions`` (used by controllers; no I/O).

Conventions (metav1.Condition, cert-manager, the OpenTelemetry operator): ``lastTransitionTime`` changes only
when ``status`` flips, so re-reconciling an unchanged resource yields an equal list and nothing to write;
``Ready`` summarizes the other conditions; a condition is trusted only for its ``observedGeneration``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from otelguard.api.v1alpha1.common import Condition, ConditionStatus

READY = "Ready"
RECONCILING = "Reconciling"


def find_condition(conditions: Sequence[Condition], type_: str) -> Condition | None:
    return next((c for c in conditions if c.type == type_), None)


def set_condition(
    conditions: Sequence[Condition],
    type_: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    observed_generation: int | None,
    now: datetime,
) -> list[Condition]:
    """A new list with condition ``type_`` set; others keep their order and identity.

    ``lastTransitionTime`` is ``now`` (whole seconds, like the API server stores it) for a new condition or
    a status flip, and kept otherwise — also when only reason, message or observedGeneration change.
    """
    old = find_condition(conditions, type_)
    kept = old is not None and old.status == status
    new = Condition(
        type=type_,
        status=status,
        reason=reason,
        message=message,
        observed_generation=observed_generation,
        last_transition_time=old.last_transition_time
        if old is not None and kept
        else now.replace(microsecond=0),
    )
    if old is not None and old == new:
        return list(conditions)
    if old is None:
        return [*conditions, new]
    return [new if c.type == type_ else c for c in conditions]


def ready_summary(
    conditions: Sequence[Condition],
    depends_on: Sequence[str],
    observed_generation: int | None,
    now: datetime,
    *,
    reason: str = "Reconciled",
    message: str = "",
) -> list[Condition]:
    """Set ``Ready`` from the ``depends_on`` conditions, in their order of importance.

    False when any is False (first one's reason and message); else Unknown when any is Unknown, missing or
    computed for an older generation; else True with ``reason`` and ``message``.
    """
    status: ConditionStatus = "True"
    why, detail = reason, message
    for type_ in depends_on:
        cond = find_condition(conditions, type_)
        stale = cond is not None and _older(cond.observed_generation, observed_generation)
        if cond is not None and cond.status == "False" and not stale:
            status, why, detail = "False", cond.reason, cond.message
            break
        if status == "True" and (cond is None or stale or cond.status == "Unknown"):
            status = "Unknown"
            if cond is None or stale:
                why, detail = RECONCILING, f"waiting for {type_}"
            else:
                why, detail = cond.reason, cond.message
    return set_condition(conditions, READY, status, why, detail, observed_generation, now)


def is_ready(conditions: Sequence[Condition], generation: int | None) -> bool:
    """Ready is True and was computed for ``generation`` (the rule Argo CD's health check applies)."""
    ready = find_condition(conditions, READY)
    return ready is not None and ready.status == "True" and not _older(ready.observed_generation, generation)


def _older(seen: int | None, current: int | None) -> bool:
    return current is not None and (seen is None or seen < current)
