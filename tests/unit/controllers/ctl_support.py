"""Helpers for controller tests: fixtures as API objects, one pure reconcile, CRD status validation.

Imported as ``unit.controllers.ctl_support`` (``tests/`` is on sys.path) by unit and integration tests.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from otelguard.api.v1alpha1 import default_manifest, validate_manifest
from otelguard.controllers import CONTROLLERS, Applied, Desired, ReconcileInput, ready_condition

FIXTURES = Path(__file__).parents[1] / "api" / "fixtures"
KIND_FIXTURES = {
    "OTelGuard": "otelguard",
    "GuardrailPolicy": "guardrailpolicy",
    "Prompt": "prompt",
    "Evaluator": "evaluator",
    "Dashboard": "dashboard",
    "AlertRule": "alertrule",
}
T0 = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)
UID = "6f1f7c1e-0000-4000-8000-000000000001"


def manifest(name: str, generation: int = 1, **labels: str) -> dict[str, Any]:
    """A fixture as the API server returns it: defaults applied, uid and generation set."""
    data: dict[str, Any] = yaml.safe_load((FIXTURES / f"{name}.yaml").read_text())
    data["metadata"].update(uid=UID, generation=generation)
    if labels:
        data["metadata"]["labels"] = dict(labels)
    return default_manifest(data)


def edited(obj: dict[str, Any], path: str, value: Any, *, bump: bool = True) -> dict[str, Any]:
    """A copy with ``spec.a.b`` (dots; list indexes as numbers) set, and generation bumped like the
    API server does on a spec change."""
    out = copy.deepcopy(obj)
    *parents, last = path.split(".")
    node: Any = out
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    if bump:
        out["metadata"]["generation"] += 1
    return out


def make_input(
    obj: dict[str, Any],
    *,
    now: datetime = T0,
    status: dict[str, Any] | None = None,
    observed: dict[str, dict[str, Any]] | None = None,
) -> ReconcileInput:
    return ReconcileInput.from_object(obj, now=now, status=status, observed=observed)


def reconcile(
    obj: dict[str, Any],
    applied: Applied | None = None,
    *,
    status: dict[str, Any] | None = None,
    now: datetime = T0,
    observed: dict[str, dict[str, Any]] | None = None,
) -> tuple[Desired, dict[str, Any]]:
    """plan + status, with ``applied`` standing in for the I/O step (default: stored as version 1)."""
    inp = make_input(obj, now=now, status=status, observed=observed)
    controller = CONTROLLERS[inp.kind]
    desired = controller.plan(inp)
    if applied is None:
        applied = Applied() if desired.invalid or desired.suspended else Applied(version=1)
    new = controller.status(inp, desired, applied)
    assert_valid_status(obj, new)
    return desired, new


def assert_valid_status(obj: dict[str, Any], status: dict[str, Any]) -> None:
    """The status passes the CRD schema (what the API server checks on /status)."""
    errors = validate_manifest({**obj, "status": status}, include_status=True)
    assert errors == [], [str(e) for e in errors]


def ready(status: dict[str, Any]) -> tuple[str, str, str]:
    cond = ready_condition(status)
    assert cond is not None
    return cond.status, cond.reason, cond.message


def condition(status: dict[str, Any], type_: str) -> dict[str, Any] | None:
    return next((c for c in status.get("conditions", []) if c["type"] == type_), None)
