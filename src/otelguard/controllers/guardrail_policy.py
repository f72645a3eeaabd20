"""GuardrailPolicy → a compiled policy row (``resources`` kind GuardrailPolicy).

The guardrails engine's own compiler (``otelguard.guardrails.compile_policy``) checks the spec, so Ready
means exactly "the guard API will run this policy": unknown or not-yet-built validators, bad params, bad
regexes (RE2), unsupported stages and bad actions are ``Ready=False`` with the rule and the reason. The
stored document is the spec with each validator's canonical name (``prompt-injection`` →
``prompt_injection``); its hash leaves out ``description``, so a documentation edit rewrites the row but
does not bump ``compiledVersion``.
"""

from __future__ import annotations

from typing import Any

from otelguard.api.v1alpha1 import GuardrailPolicy, GuardrailPolicyStatus
from otelguard.controllers.base import (
    Applied,
    DbConfig,
    Desired,
    Failure,
    Json,
    ReconcileInput,
    ResourceRow,
    config_status,
    content_hash,
)
from otelguard.guardrails import PolicyCompileError
from otelguard.guardrails import compile_policy as compile_for_engine
from otelguard.guardrails.registry import (
    PLANNED_VALIDATORS,
    ParamsError,
    UnknownValidator,
    bind,
    canonical_name,
)

KIND = "GuardrailPolicy"
COMPILED_FORMAT = 1
ENFORCEMENT = "enforced by the guard API (POST /api/v1/guard) and, for stage ingest, by the collectors"


def canonical_validator(name: str) -> str:
    try:
        return canonical_name(name)
    except UnknownValidator:
        return name.replace("-", "_")


def validator_problems(validator: str, params: dict[str, Any] | None) -> list[Failure]:
    """Problems of one validator use (shared with Evaluator's guardrail-validator kind)."""
    try:
        name = canonical_name(validator)
    except UnknownValidator as exc:
        planned = canonical_name(validator, strict=False) in PLANNED_VALIDATORS
        return [Failure("ValidatorNotImplemented" if planned else "UnknownValidator", exc.message)]
    try:
        bind(name, params)
    except ParamsError as exc:
        return [Failure(exc.reason, "; ".join(exc.problems))]
    return []


def engine_problems(policy: GuardrailPolicy) -> list[Failure]:
    """What the engine's compiler refuses; every failing rule is reported, not just the first."""
    try:
        compile_for_engine(policy)
    except PolicyCompileError as exc:
        first = Failure(exc.reason, exc.message)
        if exc.rule_index is None:
            return [first]
    else:
        return []
    problems = []
    for index, rule in enumerate(policy.spec.rules):
        try:  # each rule alone, so one bad rule does not hide the next
            compile_for_engine(policy.spec.model_copy(update={"rules": [rule]}), name="rule")
        except PolicyCompileError as exc:
            detail = exc.message.split(": ", 1)[1] if ": " in exc.message else exc.message
            problems.append(Failure(exc.reason, f"spec.rules[{index}] ({rule.name}): {detail}"))
    return problems or [first]


def compile_policy(policy: GuardrailPolicy) -> Json:
    """The document the engine loads; its hash is the policy's content hash."""
    doc = policy.spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    doc.pop("description", None)
    for rule in doc["rules"]:
        rule["validator"] = canonical_validator(rule["validator"])
    return {"format": COMPILED_FORMAT, **doc}


def plan(inp: ReconcileInput) -> Desired:
    policy = inp.resource_as(GuardrailPolicy)
    problems = engine_problems(policy)
    if problems:
        return Desired(KIND, invalid=Failure(problems[0].reason, "; ".join(p.message for p in problems)))
    compiled = compile_policy(policy)
    compiled_hash = content_hash(compiled)
    # The row keeps the description for the UI; the hash (and so the version) ignores it.
    stored = {**compiled, "description": policy.spec.description} if policy.spec.description else compiled
    row = ResourceRow(
        KIND, inp.namespace, inp.name, inp.uid, inp.generation, inp.labels, stored, compiled_hash
    )
    return Desired(
        KIND,
        db=DbConfig(row),
        facts={"compiledHash": compiled_hash, "ruleCount": len(policy.spec.rules)},
    )


def status(inp: ReconcileInput, desired: Desired, applied: Applied | None) -> Json:
    spec = inp.resource_as(GuardrailPolicy).spec
    version = applied.version if applied is not None else None
    rules = desired.facts.get("ruleCount")
    stored = f"compiled and stored as version {version} ({rules} rules)"
    return config_status(
        inp,
        desired,
        applied,
        GuardrailPolicyStatus,
        stored=Failure("Stored", stored),
        ready=Failure("Stored", f"{stored}; {ENFORCEMENT}"),
        owned={"compiledVersion": version, **desired.facts},
        suspended=spec.suspend,
        suspended_message="spec.suspend is true: the policy is stored but not applied",
    )
