"""GuardrailPolicy controller: compile checks, compiled row, status."""

from __future__ import annotations

from otelguard.api.v1alpha1 import GuardrailPolicy
from otelguard.controllers import Applied
from otelguard.controllers.guardrail_policy import compile_policy
from otelguard.guardrails import registry
from otelguard.guardrails.registry import PLANNED_VALIDATORS
from unit.controllers.ctl_support import T1, condition, edited, make_input, manifest, ready, reconcile


def test_the_example_compiles_and_is_stored_for_the_guard_api() -> None:
    desired, status = reconcile(manifest("guardrailpolicy"), Applied(version=3))
    assert desired.invalid is None and desired.children == ()
    assert desired.db is not None
    row = desired.db.row
    assert (row.kind, row.namespace, row.name) == ("GuardrailPolicy", "otelguard", "support-bot-safety")
    assert [r["validator"] for r in row.spec["rules"]] == ["pii", "prompt_injection", "secrets"]
    assert status["compiledVersion"] == 3
    assert status["compiledHash"] == row.spec_hash
    assert status["ruleCount"] == 3
    assert ready(status) == (
        "True",
        "Stored",
        "compiled and stored as version 3 (3 rules); enforced by the guard API (POST /api/v1/guard) and, "
        "for stage ingest, by the collectors",
    )


def test_the_hash_follows_rules_not_the_description() -> None:
    obj = manifest("guardrailpolicy")
    base, _ = reconcile(obj)
    described, _ = reconcile(edited(obj, "spec.description", "new words"))
    threshold, _ = reconcile(edited(obj, "spec.rules.0.threshold", 0.9))
    assert base.db and described.db and threshold.db
    assert described.db.row.spec_hash == base.db.row.spec_hash
    assert described.db.row.spec["description"] == "new words"  # stored for the UI all the same
    assert threshold.db.row.spec_hash != base.db.row.spec_hash


def test_hyphen_and_underscore_validator_names_compile_alike() -> None:
    obj = manifest("guardrailpolicy")
    underscored = edited(obj, "spec.rules.1.validator", "prompt_injection")
    a = compile_policy(make_input(obj).resource_as(GuardrailPolicy))
    b = compile_policy(make_input(underscored).resource_as(GuardrailPolicy))
    assert a == b
    assert "prompt_injection" in registry.names()


def test_unknown_validator_names_the_rule() -> None:
    _, status = reconcile(edited(manifest("guardrailpolicy"), "spec.rules.2.validator", "toxicityy"))
    state, reason, message = ready(status)
    assert (state, reason) == ("False", "UnknownValidator")
    assert message.startswith(
        "spec.rules[2] (secrets): unknown validator 'toxicityy' (known: citations, competitors, "
    )


def test_a_validator_not_built_yet_is_not_ready() -> None:
    # Ready must mean "the guard API runs this policy": a planned validator is reported, not hidden.
    # With nothing planned, an unbuilt name is simply unknown: either way the policy is not Ready.
    name = min(PLANNED_VALIDATORS, default="not_built_yet")
    _, status = reconcile(edited(manifest("guardrailpolicy"), "spec.rules.2.validator", name))
    state, reason, message = ready(status)
    expected = "ValidatorNotImplemented" if PLANNED_VALIDATORS else "UnknownValidator"
    assert (state, reason) == ("False", expected)
    assert "spec.rules[2] (secrets)" in message and name in message


def test_params_the_engine_refuses_are_not_ready() -> None:
    _, status = reconcile(edited(manifest("guardrailpolicy"), "spec.rules.0.params", {"entities": ["NAME"]}))
    state, reason, message = ready(status)
    assert (state, reason) == ("False", "InvalidParams")
    assert message.startswith("spec.rules[0] (pii): params.entities[0]")


def test_bad_regex_reports_rule_index_and_position() -> None:
    rule = {"name": "ids", "validator": "regex", "params": {"patterns": [r"\d{4}", "order-(\\d+"]}}
    obj = edited(manifest("guardrailpolicy"), "spec.rules.0", rule)
    desired, status = reconcile(obj)
    assert desired.db is None
    assert ready(status) == (
        "False",
        "InvalidPattern",
        "spec.rules[0] (ids): params.patterns[1]: invalid RE2 pattern 'order-(\\\\d+': "
        "missing ): order-(\\d+",
    )


def test_regex_needs_a_pattern_and_json_schema_a_valid_schema() -> None:
    obj = manifest("guardrailpolicy")
    _, status = reconcile(edited(obj, "spec.rules.0", {"name": "r", "validator": "regex"}))
    assert ready(status)[1:] == (
        "InvalidParams",
        "spec.rules[0] (r): params: Value error, the regex validator needs params.pattern or params.patterns",
    )
    schema_rule = {"name": "s", "validator": "json-schema", "params": {"schema": {"type": "objekt"}}}
    _, status = reconcile(edited(obj, "spec.rules.0", schema_rule))
    state, reason, message = ready(status)
    assert (state, reason) == ("False", "InvalidParams")
    assert message.startswith("spec.rules[0] (s): params.schema")


def test_several_problems_are_all_reported() -> None:
    obj = edited(manifest("guardrailpolicy"), "spec.rules.0.validator", "nope")
    obj = edited(obj, "spec.rules.1.params", {"pattern": "("}, bump=False)
    _, status = reconcile(obj)
    message = ready(status)[2]
    assert "spec.rules[0] (pii): unknown validator" in message
    assert "; spec.rules[1] (prompt-injection): params" in message


def test_an_invalid_edit_keeps_the_last_stored_facts() -> None:
    obj = manifest("guardrailpolicy")
    _, good = reconcile(obj, Applied(version=2))
    _, bad = reconcile(edited(obj, "spec.rules.0.validator", "nope"), status=good, now=T1)
    assert (bad["compiledVersion"], bad["compiledHash"], bad["ruleCount"]) == (
        2,
        good["compiledHash"],
        3,
    )
    assert bad["observedGeneration"] == 2
    assert condition(bad, "Ready")["lastTransitionTime"] == "2025-01-01T12:05:00Z"  # type: ignore[index]


def test_suspended_policies_are_stored_and_shown_suspended() -> None:
    desired, status = reconcile(edited(manifest("guardrailpolicy"), "spec.suspend", True), Applied(version=1))
    assert desired.db is not None and desired.db.row.spec["suspend"] is True
    state, reason, message = ready(status)
    assert (state, reason) == ("True", "Suspended")
    assert message.endswith("spec.suspend is true: the policy is stored but not applied")
    assert condition(status, "Suspended")["status"] == "True"  # type: ignore[index]


def test_storage_failure_is_not_ready() -> None:
    _, status = reconcile(manifest("guardrailpolicy"), Applied.failed("StorageUnavailable", "pg down"))
    assert ready(status) == ("False", "StorageUnavailable", "pg down")
    assert "compiledVersion" not in status
