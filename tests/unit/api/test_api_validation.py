"""validation.py rejects what the API server rejects, with the API server's messages."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from api_cases import CASES, FIXTURES, Case, fixture
from pydantic import ValidationError

from otelguard.api.v1alpha1 import (
    KINDS,
    AlertRule,
    Dashboard,
    Evaluator,
    FieldError,
    GuardrailPolicy,
    InvalidManifest,
    OTelGuard,
    Prompt,
    UnknownKindError,
    check_manifest,
    default_manifest,
    parse_manifest,
    validate_manifest,
)
from otelguard.api.v1alpha1.base import RULES
from otelguard.api.v1alpha1.errors import go_float
from otelguard.api.v1alpha1.validation import openapi_schema

FIXTURE_NAMES = sorted(p.stem for p in FIXTURES.glob("*.yaml"))
CEL_MESSAGES = {rule.message for rule in RULES.values()}


def cel_message(error: str) -> str | None:
    return next((m for m in CEL_MESSAGES if error.endswith(": " + m)), None)


def test_one_fixture_per_kind() -> None:
    assert sorted(fixture(n)["kind"] for n in FIXTURE_NAMES) == sorted(k.kind for k in KINDS)


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixtures_are_valid(name: str) -> None:
    manifest = fixture(name)
    assert validate_manifest(manifest) == []
    resource = parse_manifest(manifest)
    assert resource.kind == manifest["kind"]  # type: ignore[attr-defined]
    assert resource.metadata.name == manifest["metadata"]["name"]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_invalid_manifests_fail_like_the_api_server(case: Case) -> None:
    assert sorted(str(e) for e in validate_manifest(case.manifest())) == sorted(case.errors)


def test_every_cel_rule_has_a_failing_case() -> None:
    covered = {cel_message(e) for case in CASES for e in case.errors}
    generated = {rule["message"] for kind in KINDS for rule in _rules(openapi_schema(kind.kind))}
    assert generated - covered == set()


def _rules(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(node.get("x-kubernetes-validations", []))
    for sub in node.get("properties", {}).values():
        found += _rules(sub)
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            found += _rules(node[key])
    return found


CEL_CASES = [c for c in CASES if c.errors and all(cel_message(e) for e in c.errors)]
# Where the pydantic field type already rejects the value (a label target is `int >= 1 | "latest"`).
REJECTED_BY_TYPE = {"label-version"}


@pytest.mark.parametrize("case", CEL_CASES, ids=[c.id for c in CEL_CASES])
def test_models_enforce_the_same_cel_rules(case: Case) -> None:
    """Building the pydantic model runs the same Python twins, so programmatic objects are checked too."""
    manifest = default_manifest(case.manifest())
    info = next(k for k in KINDS if k.kind == manifest["kind"])
    with pytest.raises(ValidationError) as caught:
        info.resource.model_validate(manifest)
    if case.id not in REJECTED_BY_TYPE:
        for error in case.errors:
            assert str(cel_message(error)) in str(caught.value)


def test_invalid_manifest_message_is_the_api_servers() -> None:
    manifest = fixture("guardrailpolicy")
    manifest["spec"]["rules"][0]["threshold"] = 1.5
    with pytest.raises(InvalidManifest) as caught:
        check_manifest(manifest)
    assert str(caught.value) == (
        'GuardrailPolicy.otelguard.io "support-bot-safety" is invalid: spec.rules[0].threshold: '
        "Invalid value: 1.5: spec.rules[0].threshold in body should be less than or equal to 1"
    )
    manifest["spec"]["mode"] = "loud"
    with pytest.raises(InvalidManifest) as caught:
        check_manifest(manifest)
    assert str(caught.value).startswith(
        'GuardrailPolicy.otelguard.io "support-bot-safety" is invalid: [spec.'
    )
    assert len(caught.value.errors) == 3


def test_unknown_fields_fail_strict_decoding_first() -> None:
    manifest = fixture("prompt")
    manifest["spec"]["temperature"] = 0.2
    manifest["spec"]["messages"][0]["name"] = "system"
    manifest["spec"]["labels"]["production"] = "three"  # not reported: decoding fails first
    manifest["metadata"]["nme"] = "typo"
    errors = validate_manifest(manifest)
    assert [str(e) for e in errors] == [
        'unknown field "metadata.nme"',
        'unknown field "spec.messages[0].name"',
        'unknown field "spec.temperature"',
    ]
    with pytest.raises(
        InvalidManifest, match=r'^Prompt in version "v1alpha1" cannot be handled as a Prompt: '
    ):
        check_manifest(manifest)


def test_free_form_params_accept_anything() -> None:
    manifest = fixture("guardrailpolicy")
    manifest["spec"]["rules"][0]["params"] = {"nested": {"deep": [1, {"x": None}]}, "anything": True}
    assert validate_manifest(manifest) == []


def test_unknown_kind_or_version() -> None:
    with pytest.raises(
        UnknownKindError, match=r'no matches for kind "Widget" in version "otelguard\.io/v1alpha1"'
    ):
        validate_manifest(
            {"apiVersion": "otelguard.io/v1alpha1", "kind": "Widget", "metadata": {"name": "w"}}
        )
    with pytest.raises(UnknownKindError, match=r'in version "otelguard\.io/v1"'):
        validate_manifest({**fixture("prompt"), "apiVersion": "otelguard.io/v1"})


def test_missing_name() -> None:
    manifest = fixture("prompt")
    del manifest["metadata"]["name"]
    assert [str(e) for e in validate_manifest(manifest)] == [
        "metadata.name: Required value: name or generateName is required",
        "<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; "
        "correct the existing errors to complete validation",
    ]


def test_status_is_dropped_on_create_but_checked_on_request() -> None:
    manifest = fixture("alertrule")
    manifest["status"] = {
        "state": "exploded",
        "conditions": [
            {"type": "Ready", "status": "True", "reason": "not camel", "lastTransitionTime": "yesterday"}
        ],
    }
    assert validate_manifest(manifest) == []
    assert sorted(str(e) for e in validate_manifest(manifest, include_status=True)) == [
        "<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; "
        "correct the existing errors to complete validation",
        'status.conditions[0].lastTransitionTime: Invalid value: "yesterday": status.conditions[0].'
        'lastTransitionTime in body must be of type date-time: "yesterday"',
        'status.conditions[0].reason: Invalid value: "not camel": status.conditions[0].reason in body should '
        "match '^[A-Z][A-Za-z0-9]*$'",
        'status.state: Unsupported value: "exploded": supported values: "ok", "pending", "firing"',
    ]


def test_defaults_match_the_api_server() -> None:
    """The expected spec is what the real API server stored for this manifest (test_api_parity checks it)."""
    storage = {
        "clickhouse": {"inCluster": {}},
        "postgres": {"dsnSecretRef": {"name": "pg", "key": "dsn"}},
        "redis": {"url": "redis://redis:6379"},
    }
    minimal = {
        "apiVersion": "otelguard.io/v1alpha1",
        "kind": "OTelGuard",
        "metadata": {"name": "minimal"},
        "spec": {"storage": copy.deepcopy(storage)},
    }
    assert check_manifest(minimal)["spec"] == {
        "api": {"port": 8080, "replicas": 1},
        "collector": {
            "maxBodyBytes": 4194304,
            "ports": {"otlpGrpc": 4317, "otlpHttp": 4318},
            "replicas": 1,
            "samplingRatio": 1.0,
        },
        "images": {"pullPolicy": "IfNotPresent"},
        "retention": {"guardrailEvents": 90, "scores": 90, "spans": 30},
        "storage": {
            "clickhouse": {"database": "otelguard", "inCluster": {"storageSize": "20Gi"}},
            "postgres": {"dsnSecretRef": {"key": "dsn", "name": "pg"}},
            "redis": {"url": "redis://redis:6379"},
        },
        "suspend": False,
        "workers": {"concurrency": 4, "replicas": 1},
    }
    assert minimal["spec"] == {"storage": storage}  # the input is not modified


def test_parsed_models_expose_typed_fields() -> None:
    policy = parse_manifest(fixture("guardrailpolicy"))
    assert isinstance(policy, GuardrailPolicy)
    assert [r.name for r in policy.spec.rules] == ["pii", "prompt-injection", "secrets"]
    assert policy.spec.rules[1].on_fail[-1].type == "block"
    assert policy.spec.selector.match_labels == {"environment": "production"}
    prompt = parse_manifest(fixture("prompt"))
    assert isinstance(prompt, Prompt) and prompt.spec.labels == {"production": 3, "staging": "latest"}
    assert prompt.spec.llm is not None and prompt.spec.llm.model == "gpt-4o-mini"
    install = parse_manifest(fixture("otelguard"))
    assert isinstance(install, OTelGuard) and install.spec.smtp is not None
    assert install.spec.smtp.from_ == "otelguard-alerts@example.com"
    alert = parse_manifest(fixture("alertrule"))
    assert isinstance(alert, AlertRule) and alert.spec.for_ == "10m"
    assert alert.model_dump(mode="json", exclude_none=True)["spec"]["for"] == "10m"
    assert isinstance(parse_manifest(fixture("evaluator")), Evaluator)
    assert isinstance(parse_manifest(fixture("dashboard")), Dashboard)


def test_model_name_limits() -> None:
    manifest = default_manifest(fixture("otelguard"))
    manifest["metadata"]["name"] = "x" * 41
    with pytest.raises(ValidationError, match="may not be longer than 40"):
        OTelGuard.model_validate(manifest)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.5, "1.5"),
        (2.0, "2"),
        (1e6, "1e+06"),
        (123456789.0, "1.23456789e+08"),
        (0.0001, "0.0001"),
        (1e-5, "1e-05"),
    ],
)
def test_floats_print_like_go(value: float, text: str) -> None:
    assert go_float(value) == text


def test_field_error_rendering() -> None:
    assert str(FieldError("FieldValueRequired", "spec.x", detail="why")) == "spec.x: Required value: why"
    assert str(FieldError("FieldValueInvalid", "spec.x", {"b": 1, "a": [True]}, "d")) == (
        'spec.x: Invalid value: {"a":[true],"b":1}: d'
    )
    assert (
        str(FieldError("FieldValueDuplicate", "spec.x[1]", "input")) == 'spec.x[1]: Duplicate value: "input"'
    )
