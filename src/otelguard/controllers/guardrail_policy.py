"""GuardrailPolicy → a validated, compiled policy row (``resources`` kind GuardrailPolicy).

"Compiling" here checks what the schema cannot: validator names, regex parameters (``re.compile``),
JSON Schema parameters. The compiled document is the spec with each validator's canonical name
(``prompt-injection`` → ``prompt_injection``); its hash leaves out ``description``, so a documentation
edit rewrites the row but does not bump ``compiledVersion``. The guardrails engine (its own issue) loads
these rows; until it lands the policy is stored and reported, not enforced, and Ready says so.

``VALIDATORS`` lives here until ``otelguard.guardrails`` has its registry; then this module should read
that registry instead.
"""

from __future__ import annotations

from typing import Any

from otelguard.api.v1alpha1 import GuardrailPolicy, GuardrailPolicyStatus
from otelguard.api.v1alpha1.guardrail_policy import GuardrailRule
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
from otelguard.controllers.checks import json_schema_error, pattern_params, regex_error

KIND = "GuardrailPolicy"
COMPILED_FORMAT = 1

# Validator names the guardrails engine implements (issue: Guardrails engine). Canonical form uses '_';
# manifests may write '-' instead (``prompt-injection``).
VALIDATORS = frozenset(
    {
        "pii",
        "secrets",
        "prompt_injection",
        "jailbreak",
        "toxicity",
        "json_schema",
        "json_valid",
        "regex",
        "keywords",
        "competitors",
        "language",
        "length",
        "token_limit",
        "topic",
        "relevance",
        "factual_consistency",
        "citations",
        "completeness",
        "refusal",
        "invisible_text",
        "format",
    }
)
NOT_ENFORCED = "not enforced yet: this OTelGuard release has no guardrails engine"


def canonical_validator(name: str) -> str:
    return name.replace("-", "_")


def validator_problems(validator: str, params: dict[str, Any] | None) -> list[Failure]:
    """Problems of one validator use (shared with Evaluator's guardrail-validator kind)."""
    name = canonical_validator(validator)
    if name not in VALIDATORS:
        known = ", ".join(sorted(VALIDATORS))
        return [Failure("UnknownValidator", f"unknown validator {validator!r} (known: {known})")]
    out = [
        Failure("InvalidPattern", f"{path}: {err}")
        for path, pattern in pattern_params(params)
        if (err := regex_error(pattern)) is not None
    ]
    if name == "regex" and not any(True for _ in pattern_params(params)):
        out.append(Failure("InvalidParams", "the regex validator needs params.pattern or params.patterns"))
    if name == "json_schema":
        schema = (params or {}).get("schema")
        if schema is None:
            out.append(Failure("InvalidParams", "the json_schema validator needs params.schema"))
        elif (err := json_schema_error(schema)) is not None:
            out.append(Failure("InvalidParams", f"params.schema: {err}"))
    return out


def _rule_problems(index: int, rule: GuardrailRule) -> list[Failure]:
    where = f"spec.rules[{index}] ({rule.name})"
    return [
        Failure(p.reason, f"{where}: {p.message}") for p in validator_problems(rule.validator, rule.params)
    ]


def compile_policy(policy: GuardrailPolicy) -> Json:
    """The document the engine loads; its hash is the policy's content hash."""
    doc = policy.spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    doc.pop("description", None)
    for rule in doc["rules"]:
        rule["validator"] = canonical_validator(rule["validator"])
    return {"format": COMPILED_FORMAT, **doc}


def plan(inp: ReconcileInput) -> Desired:
    policy = inp.resource_as(GuardrailPolicy)
    problems = [p for i, rule in enumerate(policy.spec.rules) for p in _rule_problems(i, rule)]
    if problems:
        message = "; ".join(p.message for p in problems)
        return Desired(KIND, invalid=Failure(problems[0].reason, message))
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
        ready=Failure("Stored", f"{stored}; {NOT_ENFORCED}"),
        owned={"compiledVersion": version, **desired.facts},
        suspended=spec.suspend,
        suspended_message="spec.suspend is true: the policy is stored but not applied",
    )
