"""Shared controller pieces: input parsing, hashing, status rendering, registry, quiet steady state."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from otelguard.api.v1alpha1 import KINDS, EvaluatorStatus
from otelguard.controllers import CONTROLLERS, Applied, StorageOutcome, content_hash, unparseable_status
from otelguard.controllers.base import previous_conditions, render_status
from unit.controllers.ctl_support import KIND_FIXTURES, T0, T1, UID, make_input, manifest, ready, reconcile

# What a successful apply returns per kind (OTelGuard: children applied and the DDL step done).
APPLIED = {
    "OTelGuard": Applied(storage=StorageOutcome(ok=True, message="schema 0004", schema_version=4)),
    "Prompt": Applied(version=1, labels={"staging": 1}),
}


def test_every_kind_has_a_controller() -> None:
    assert set(CONTROLLERS) == {info.kind for info in KINDS}


def test_input_from_an_api_object() -> None:
    obj = manifest("guardrailpolicy", team="ml")
    obj["metadata"]["annotations"] = {"otelguard.io/git-revision": "abc123"}
    obj["status"] = {"ruleCount": 3}
    inp = make_input(obj, status=None)
    assert (inp.kind, inp.namespace, inp.name, inp.uid, inp.generation) == (
        "GuardrailPolicy",
        "otelguard",
        "support-bot-safety",
        UID,
        1,
    )
    assert inp.labels == {"team": "ml"} and inp.git_revision == "abc123"
    assert inp.status == {"ruleCount": 3}
    del obj["metadata"]["namespace"]
    assert make_input(obj).namespace == "default"


def test_content_hash_is_canonical() -> None:
    assert content_hash({"a": 1, "b": [1, 2]}) == content_hash({"b": [1, 2], "a": 1})
    assert content_hash({"a": 1}) != content_hash({"a": 1.5})
    assert len(content_hash({})) == 64


def test_render_status_keeps_foreign_fields_and_drops_unknown_ones() -> None:
    inp = make_input(
        manifest("evaluator"),
        status={"scoredSpans": 7, "bogus": True, "observedGeneration": 0, "conditions": [{"type": "x"}]},
    )
    out = render_status(inp, EvaluatorStatus, [], {"errors": 1, "scoredSpans": None})
    assert out == {"errors": 1, "observedGeneration": 1, "conditions": []}
    assert previous_conditions({"conditions": [{"type": "x"}, "junk"]}) == []


@pytest.mark.parametrize("kind", list(KIND_FIXTURES))
def test_steady_state_is_quiet(kind: str) -> None:
    """Re-planning an unchanged resource, later, from its own status yields the identical status dict."""
    obj = manifest(KIND_FIXTURES[kind])
    applied = APPLIED.get(kind, Applied(version=1))
    first_desired, first = reconcile(obj, applied, now=T0)
    second_desired, second = reconcile(obj, applied, status=first, now=T1)
    assert second == first
    assert second_desired == first_desired
    assert ready(first)[0] == "True"


@pytest.mark.parametrize("kind", list(KIND_FIXTURES))
def test_status_for_a_new_generation_moves_only_observed_generations(kind: str) -> None:
    obj = manifest(KIND_FIXTURES[kind])
    applied = APPLIED.get(kind, Applied(version=1))
    _, first = reconcile(obj, applied, now=T0)
    obj["metadata"]["generation"] = 2
    _, second = reconcile(obj, applied, status=first, now=T1)
    assert second["observedGeneration"] == 2
    assert {c["type"]: c["lastTransitionTime"] for c in second["conditions"]} == {
        c["type"]: c["lastTransitionTime"] for c in first["conditions"]
    }
    assert all(c["observedGeneration"] == 2 for c in second["conditions"])


@pytest.mark.parametrize("kind", list(KIND_FIXTURES))
def test_invalid_then_fixed_flips_ready_twice(kind: str) -> None:
    obj = manifest(KIND_FIXTURES[kind])
    applied = APPLIED.get(kind, Applied(version=1))
    _, good = reconcile(obj, applied, now=T0)
    _, bad = reconcile(obj, Applied.failed("StorageUnavailable", "down"), status=good, now=T1)
    assert ready(bad) == ("False", "StorageUnavailable", "down")
    _, fixed = reconcile(obj, applied, status=bad, now=T1)
    assert ready(fixed)[0] == "True"
    assert next(c for c in fixed["conditions"] if c["type"] == "Ready")["lastTransitionTime"] == (
        "2025-01-01T12:05:00Z"
    )


def test_objects_the_model_rejects_get_an_invalid_status() -> None:
    obj = manifest("guardrailpolicy")
    obj["spec"]["rules"][0]["threshold"] = 7
    with pytest.raises(ValidationError) as err:
        make_input(obj)
    status = unparseable_status(obj, str(err.value), T0)
    assert ready(status)[:2] == ("False", "InvalidSpec")
    assert status["observedGeneration"] == 1
