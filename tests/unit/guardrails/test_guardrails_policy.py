from __future__ import annotations

import time
from typing import Any

import pytest

from otelguard.api.v1alpha1 import GuardrailPolicy
from otelguard.controllers import guardrail_policy as controller
from otelguard.guardrails import PolicyCompileError, RequestMeta, compile_policy, policy_order
from otelguard.guardrails.patterns import ScanText
from otelguard.guardrails.registry import PLANNED_VALIDATORS

# A planned validator name, or (none planned) an unknown one: a rule using it must not compile.
NOT_BUILT = min(PLANNED_VALIDATORS, default="not_built_yet")


def spec(*rules: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"stages": ["input", "output"], "rules": list(rules), **extra}


def rule(name: str, validator: str, params: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "validator": validator, **extra}
    if params is not None:
        out["params"] = params
    return out


MANIFEST = {
    "apiVersion": "otelguard.io/v1alpha1",
    "kind": "GuardrailPolicy",
    "metadata": {"name": "pii-redact", "namespace": "team-a"},
    "spec": spec(
        rule("pii", "pii", onFail=[{"type": "sanitize"}]),
        rule("inj", "prompt-injection", onFail=[{"type": "block", "params": {"message": "no"}}]),
    ),
}


def test_compile_from_manifest_model_and_controller_row() -> None:
    from_dict = compile_policy(MANIFEST, version=3)
    assert from_dict.name == "team-a/pii-redact" and from_dict.version == "3"
    resource = GuardrailPolicy.model_validate(MANIFEST)
    assert compile_policy(resource).name == "team-a/pii-redact"
    row = controller.compile_policy(resource)  # what the controller stores (canonical names, "format")
    compiled = compile_policy(row, name="team-a/pii-redact", version=1)
    assert [r.validator_name for r in compiled.rules] == ["pii", "prompt_injection"]
    assert [r.index for r in compiled.rules] == [0, 1]
    assert compiled.pattern_set.size == sum(len(r.validator.patterns) for r in compiled.rules)


def test_bare_spec_needs_a_name() -> None:
    with pytest.raises(ValueError, match="needs a name"):
        compile_policy(spec(rule("a", "pii")))


@pytest.mark.parametrize(
    ("policy", "reason", "index", "message"),
    [
        (
            spec(rule("ok", "pii"), rule("typo", "pi-i")),
            "UnknownValidator",
            1,
            "spec.rules[1] (typo): unknown validator 'pi-i'",
        ),
        (
            spec(rule("cite", NOT_BUILT)),
            "ValidatorNotImplemented" if PLANNED_VALIDATORS else "UnknownValidator",
            0,
            f"spec.rules[0] (cite): {'validator' if PLANNED_VALIDATORS else 'unknown validator'} "
            f"'{NOT_BUILT}'",
        ),
        (
            spec(rule("a", "pii"), rule("b", "regex", {"pattern": "(a)\\1"})),
            "InvalidPattern",
            1,
            "spec.rules[1] (b): params.pattern: invalid RE2 pattern '(a)\\\\1': invalid escape sequence: \\1"
            " (RE2 has no backreferences or lookaround",
        ),
        (
            spec(rule("a", "regex", {"pattern": "["})),
            "InvalidPattern",
            0,
            "spec.rules[0] (a): params.pattern: invalid RE2 pattern '[': missing ]",
        ),
        (
            spec(rule("a", "pii", {"entities": ["EMAIL"], "colour": "red"})),
            "InvalidParams",
            0,
            "spec.rules[0] (a): params.colour: unknown parameter",
        ),
        (
            {"stages": ["input"], "rules": [rule("j", "json-valid")]},
            "UnsupportedStage",
            0,
            "spec.rules[0] (j): validator json_valid runs on output; the policy's stages are input",
        ),
        (
            spec(rule("f", "pii", onFail=[{"type": "fallback", "params": {}}])),
            "InvalidAction",
            0,
            "spec.rules[0] (f): onFail[0].params: Value error, fallback needs exactly one of",
        ),
        (
            spec(rule("a", "pii"), rule("b", "pii", onFail=[{"type": "block"}, {"type": "alert"}])),
            "InvalidSpec",
            1,
            "block ends the chain",
        ),
        ({"stages": ["input"], "rules": []}, "InvalidSpec", None, "spec.rules: List should have at least 1"),
        ({"stages": ["nowhere"], "rules": [rule("a", "pii")]}, "InvalidSpec", None, "spec.stages[0]"),
    ],
)
def test_compile_errors(policy: dict[str, Any], reason: str, index: int | None, message: str) -> None:
    with pytest.raises(PolicyCompileError) as err:
        compile_policy(policy, name="p")
    assert err.value.reason == reason
    assert err.value.rule_index == index
    assert message in str(err.value)


def test_catastrophic_pattern_compiles_and_matches_linearly() -> None:
    policy = compile_policy(spec(rule("evil", "regex", {"pattern": "(a+)+$"})), name="p")
    text = ScanText("a" * 100_000 + "b")
    started = time.perf_counter()
    hits = policy.scan(text)
    assert policy.rules[0].validator.check(text, _ctx(), hits[0] or None) == []
    assert time.perf_counter() - started < 0.5


def _ctx() -> Any:
    from otelguard.guardrails import CheckContext

    return CheckContext()


@pytest.mark.parametrize(
    ("selector", "request_meta", "expected"),
    [
        ({}, RequestMeta(), True),
        ({"projects": ["shop"]}, RequestMeta(project="shop"), True),
        ({"projects": ["shop"]}, RequestMeta(project="other"), False),
        ({"models": ["gpt-4o*", "claude-*"]}, RequestMeta(model="gpt-4o-mini"), True),
        ({"models": ["gpt-4o*"]}, RequestMeta(model="gpt-4"), False),
        ({"models": ["gpt-4o*"]}, RequestMeta(), False),
        ({"matchLabels": {"app": "chat"}}, RequestMeta(labels={"app": "chat", "route": "x"}), True),
        ({"matchLabels": {"app": "chat"}}, RequestMeta(labels={"app": "search"}), False),
        (
            {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["free", "trial"]}]},
            RequestMeta(labels={"tier": "free"}),
            True,
        ),
        (
            {"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["paid"]}]},
            RequestMeta(),
            True,
        ),
        ({"matchExpressions": [{"key": "beta", "operator": "Exists"}]}, RequestMeta(), False),
        ({"matchExpressions": [{"key": "beta", "operator": "DoesNotExist"}]}, RequestMeta(), True),
    ],
)
def test_selector(selector: dict[str, Any], request_meta: RequestMeta, expected: bool) -> None:
    policy = compile_policy(spec(rule("a", "pii"), selector=selector), name="p")
    assert policy.applies("input", request_meta) is expected


def test_stage_and_suspend() -> None:
    policy = compile_policy({"stages": ["output"], "rules": [rule("a", "pii")]}, name="p")
    assert not policy.applies("input", RequestMeta()) and policy.applies("output", RequestMeta())
    suspended = compile_policy(spec(rule("a", "pii"), suspend=True), name="p")
    assert not suspended.applies("input", RequestMeta())


def test_policy_order_priority_then_name() -> None:
    policies = [
        compile_policy(spec(rule("a", "pii"), priority=p), name=n)
        for n, p in [("b", 0), ("a", 0), ("z", 10), ("low", -5)]
    ]
    assert [p.name for p in policy_order(policies)] == ["z", "a", "b", "low"]
