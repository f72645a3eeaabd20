"""Guardrails: validators (registered by name), GuardrailPolicy compilation, actions and the policy engine.

Typical use (guard service, collector ingest stage, SDK local mode)::

    policy = compile_policy(spec_or_row, name="team-a/pii", version=3)   # PolicyCompileError on bad specs
    engine = Engine([policy])
    result = engine.evaluate(text, "input", RequestMeta(project="p", model="gpt-4o", labels={...}))
    result.verdict, result.text, result.findings, result.events
    engine.upsert(new_policy)                                             # hot reload
"""

from __future__ import annotations

from otelguard.guardrails.actions import Alert, AlertSink, BlockDecision, FallbackDecision, RetryDecision
from otelguard.guardrails.base import (
    CheckContext,
    Finding,
    GuardrailError,
    InputTooLarge,
    RequestMeta,
    Stage,
    UnknownStage,
)
from otelguard.guardrails.engine import (
    Engine,
    GuardrailEvent,
    GuardResult,
    InvalidText,
    Limits,
    RuleOutcome,
    Snapshot,
    UnknownPolicy,
    Verdict,
)
from otelguard.guardrails.patterns import PatternError
from otelguard.guardrails.policy import CompiledPolicy, PolicyCompileError, compile_policy, policy_order
from otelguard.guardrails.registry import ParamsError, UnknownValidator, Validator, canonical_name, names

__all__ = [
    "Alert",
    "AlertSink",
    "BlockDecision",
    "CheckContext",
    "CompiledPolicy",
    "Engine",
    "FallbackDecision",
    "Finding",
    "GuardResult",
    "GuardrailError",
    "GuardrailEvent",
    "InputTooLarge",
    "InvalidText",
    "Limits",
    "ParamsError",
    "PatternError",
    "PolicyCompileError",
    "RequestMeta",
    "RetryDecision",
    "RuleOutcome",
    "Snapshot",
    "Stage",
    "UnknownPolicy",
    "UnknownStage",
    "UnknownValidator",
    "Validator",
    "Verdict",
    "canonical_name",
    "compile_policy",
    "names",
    "policy_order",
]
