"""``GuardrailPolicy``: which requests to guard, at which stages, with which validators and remediations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field

from otelguard.api.v1alpha1.base import ApiModel, CelRule, ListMap, ListSet
from otelguard.api.v1alpha1.common import (
    FreeForm,
    Glob,
    Identifier,
    LabelSelector,
    Resource,
    Slug,
    StatusBase,
)

Stage = Literal["input", "output", "ingest"]
ActionType = Literal["block", "sanitize", "retry", "fallback", "alert", "transform"]
# What the collector can do with a span it has already received (DESIGN.md: ingest policies detect, redact).
INGEST_ACTIONS: tuple[ActionType, ...] = ("sanitize", "alert")


class Action(ApiModel):
    """One remediation step; a rule's onFail actions run in order."""

    type: ActionType = Field(
        description="block: reject with a safe response; sanitize: redact the matches; retry: call the model "
        "again (params may change the request); fallback: another model or a fixed response; alert: notify; "
        "transform: rewrite the output."
    )
    params: FreeForm | None = Field(None, description="Action-specific parameters, e.g. the fallback model.")


def _block_last(rule: Mapping[str, Any]) -> bool:
    actions = [a["type"] for a in rule.get("onFail") or []]
    return "block" not in actions or (actions.count("block") == 1 and actions[-1] == "block")


class GuardrailRule(ApiModel):
    """A validator check; when it fails (score >= threshold) the onFail actions run."""

    cel_rules = (
        CelRule(
            rule="!has(self.onFail) || !self.onFail.exists(a, a.type == 'block')"
            " || (self.onFail.filter(a, a.type == 'block').size() == 1"
            " && self.onFail[self.onFail.size() - 1].type == 'block')",
            message="block ends the chain: it may appear once, as the last action",
            field_path=".onFail",
            check=_block_last,
        ),
    )

    name: Slug = Field(description="Rule name, unique in the policy; guardrail events record it.")
    validator: Identifier = Field(
        description="Validator to run, e.g. pii, prompt-injection, toxicity, regex."
    )
    params: FreeForm | None = Field(None, description="Validator parameters, e.g. entity types or a pattern.")
    threshold: float = Field(
        0.5, ge=0, le=1, description="The rule fails when the validator's score >= this."
    )
    on_fail: list[Action] = Field(
        default_factory=list, max_length=8, description="Remediation chain; empty records the event only."
    )
    timeout_ms: int | None = Field(
        None,
        ge=1,
        le=60000,
        description="Time budget for this rule's validator (default: the policy's timeoutMs). Model-backed "
        "validators are abandoned when it is spent (onTimeout applies); regex-tier ones run inline and "
        "finish (a validator_timeout event). Either counts as a circuit-breaker failure.",
    )


class PolicySelector(LabelSelector):
    """Which requests the policy applies to; every non-empty criterion must match, empty matches all."""

    projects: Annotated[list[Slug], ListSet()] = Field(
        default_factory=list, max_length=32, description="Project names; empty means every project."
    )
    models: Annotated[list[Glob], ListSet()] = Field(
        default_factory=list,
        max_length=32,
        description="Model names or globs (gpt-4o*); empty means every model.",
    )


class CircuitBreakerSpec(ApiModel):
    """Skips a rule whose validator keeps failing (raising, or running over its time budget)."""

    failure_threshold: int = Field(
        5, ge=1, le=1000, description="Consecutive failures that open the breaker (the rule is then skipped)."
    )
    cooldown_seconds: int = Field(
        30, ge=1, le=86400, description="Seconds the breaker stays open before one trial call is let through."
    )


def _ingest_actions(spec: Mapping[str, Any]) -> bool:
    if "ingest" not in spec["stages"]:
        return True
    return all(a["type"] in INGEST_ACTIONS for r in spec["rules"] for a in r.get("onFail") or [])


class GuardrailPolicySpec(ApiModel):
    """Desired state of a guardrail policy."""

    cel_rules = (
        CelRule(
            rule="!self.stages.exists(s, s == 'ingest') || self.rules.all(r, !has(r.onFail)"
            " || r.onFail.all(a, a.type == 'sanitize' || a.type == 'alert'))",
            message="the ingest stage can only sanitize or alert: remove other actions or the ingest stage",
            field_path=".rules",
            check=_ingest_actions,
        ),
        CelRule(
            rule="!self.stages.exists(s, s == 'ingest') || self.onTimeout == 'pass'",
            message="the ingest stage cannot block: onTimeout must be pass",
            field_path=".onTimeout",
            check=lambda o: "ingest" not in o["stages"] or o["onTimeout"] == "pass",
        ),
    )

    description: str | None = Field(None, max_length=2048, description="What the policy protects against.")
    selector: PolicySelector = Field(
        default_factory=PolicySelector, description="Requests the policy applies to; empty selects all."
    )
    stages: Annotated[list[Stage], ListSet()] = Field(
        min_length=1,
        max_length=3,
        description="input: prompts before the model; output: completions; ingest: spans as they arrive.",
    )
    rules: Annotated[list[GuardrailRule], ListMap(("name",))] = Field(
        min_length=1, max_length=32, description="Rules, evaluated in order."
    )
    mode: Literal["enforce", "shadow"] = Field(
        "enforce", description="enforce applies actions; shadow only records what would have happened."
    )
    priority: int = Field(
        0, ge=-1000, le=1000, description="Policies with higher priority run first; ties run by name."
    )
    timeout_ms: int = Field(1000, ge=1, le=60000, description="Time budget for all rules of one request.")
    on_timeout: Literal["pass", "block"] = Field(
        "pass",
        description="Verdict for rules that could not run: skipped because the request's budget was "
        "spent, because their circuit breaker is open, or because their validator raised.",
    )
    circuit_breaker: CircuitBreakerSpec = Field(
        default_factory=CircuitBreakerSpec, description="Per-rule circuit breaker settings."
    )
    suspend: bool = Field(False, description="Stop applying the policy without deleting it.")


class GuardrailPolicyStatus(StatusBase):
    """Observed state of a guardrail policy."""

    compiled_version: int | None = Field(
        None, ge=0, description="Version of the compiled policy row; increments when its content changes."
    )
    compiled_hash: str | None = Field(
        None, max_length=128, description="Content hash of the compiled policy."
    )
    rule_count: int | None = Field(None, ge=0, description="Number of rules compiled.")


class GuardrailPolicy(Resource):
    """A guardrail policy: validators and remediation actions applied to matching LLM requests and spans."""

    kind: Literal["GuardrailPolicy"] = Field("GuardrailPolicy", description="Kind of the resource.")
    spec: GuardrailPolicySpec  # described by the spec model's docstring
    status: GuardrailPolicyStatus | None = Field(None, description="Observed state, written by the operator.")
