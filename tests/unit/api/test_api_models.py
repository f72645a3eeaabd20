"""Registry lookups and model behaviour controllers rely on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from otelguard.api.v1alpha1 import (
    KINDS,
    GuardrailPolicySpec,
    ObjectMeta,
    PromptStatus,
    UnknownKind,
    kind_info,
)
from otelguard.api.v1alpha1.guardrail_policy import Action, GuardrailRule


@pytest.mark.parametrize("name", ["GuardrailPolicy", "guardrailpolicy", "guardrailpolicies", "gpol", "GPOL"])
def test_kind_lookup_like_kubectl(name: str) -> None:
    assert kind_info(name).kind == "GuardrailPolicy"


def test_unknown_kind_lookup() -> None:
    with pytest.raises(UnknownKind, match='resource type "widgets"'):
        kind_info("widgets")


def test_every_kind_has_spec_status_and_resource() -> None:
    for info in KINDS:
        assert info.resource.model_fields["spec"].annotation is info.spec
        assert info.crd_name == f"{info.plural}.otelguard.io"
        assert info.list_kind == f"{info.kind}List"


def test_snake_case_in_python_camel_case_on_the_wire() -> None:
    rule = GuardrailRule(name="pii", validator="pii", on_fail=[Action(type="block")])
    assert rule.model_dump(mode="json", exclude_none=True) == {
        "name": "pii",
        "validator": "pii",
        "threshold": 0.5,
        "onFail": [{"type": "block"}],
    }
    assert GuardrailRule.model_validate({"name": "pii", "validator": "pii", "onFail": []}).on_fail == []


def test_models_are_frozen_and_reject_unknown_fields() -> None:
    rule = GuardrailRule(name="pii", validator="pii")
    with pytest.raises(ValidationError):
        rule.threshold = 0.9  # type: ignore[misc]
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        GuardrailRule.model_validate({"name": "pii", "validator": "pii", "treshold": 0.9})


def test_list_map_keys_are_unique_in_python_too() -> None:
    with pytest.raises(ValidationError, match="duplicate"):
        GuardrailPolicySpec.model_validate(
            {
                "stages": ["input"],
                "rules": [{"name": "a", "validator": "pii"}, {"name": "a", "validator": "pii"}],
            }
        )
    with pytest.raises(ValidationError, match="duplicate"):
        GuardrailPolicySpec.model_validate(
            {"stages": ["input", "input"], "rules": [{"name": "a", "validator": "x"}]}
        )


def test_object_meta_ignores_fields_controllers_do_not_read() -> None:
    meta = ObjectMeta.model_validate(
        {
            "name": "p",
            "namespace": "ns",
            "generation": 3,
            "creationTimestamp": "2025-01-01T00:00:00Z",
            "managedFields": [{"manager": "kubectl"}],
            "ownerReferences": [],
        }
    )
    assert meta.generation == 3
    assert meta.creation_timestamp == datetime(2025, 1, 1, tzinfo=UTC)


def test_status_round_trips_to_what_the_api_server_stores() -> None:
    status = PromptStatus.model_validate(
        {
            "observedGeneration": 2,
            "currentVersion": 4,
            "contentHash": "sha256:abc",
            "labels": {"production": 3},
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Reconciled",
                    "message": "",
                    "lastTransitionTime": "2025-01-01T00:00:00Z",
                    "observedGeneration": 2,
                }
            ],
        }
    )
    dumped = status.model_dump(mode="json", exclude_none=True)
    assert dumped["conditions"][0]["lastTransitionTime"] == "2025-01-01T00:00:00Z"
    assert dumped["currentVersion"] == 4 and dumped["labels"] == {"production": 3}
