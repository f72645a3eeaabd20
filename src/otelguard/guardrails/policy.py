"""GuardrailPolicy spec → :class:`CompiledPolicy`: validators bound and precompiled, all their patterns in
one RE2 set, actions' params validated, the selector ready to match request metadata.

A compile error raises :class:`PolicyCompileError` with the rule index (None for spec-level problems), a
reason (``UnknownValidator``, ``ValidatorNotImplemented``, ``InvalidParams``, ``InvalidPattern``,
``UnsupportedStage``, ``InvalidAction``, ``InvalidSpec``) and a message naming ``spec.rules[i] (name)``,
ready for a status condition.

Several policies apply to a request in :func:`policy_order`: higher ``priority`` first, then by name.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from otelguard.api.v1alpha1.guardrail_policy import GuardrailPolicy, GuardrailPolicySpec, PolicySelector
from otelguard.guardrails.actions import CompiledAction, compile_action
from otelguard.guardrails.base import GuardrailError, RequestMeta, Stage
from otelguard.guardrails.breaker import BreakerSettings
from otelguard.guardrails.patterns import PatternError, PatternSet, ScanText
from otelguard.guardrails.registry import PLANNED_VALIDATORS as _PLANNED
from otelguard.guardrails.registry import ParamsError, UnknownValidator, Validator, bind, canonical_name

__all__ = [
    "CompiledPolicy",
    "CompiledRule",
    "PolicyCompileError",
    "Selector",
    "compile_all",
    "compile_policy",
    "policy_order",
]


class PolicyCompileError(GuardrailError, ValueError):
    def __init__(self, message: str, *, reason: str, rule_index: int | None = None, rule: str | None = None):
        self.reason = reason
        self.rule_index = rule_index
        self.rule = rule
        self.message = message
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    index: int
    name: str
    validator_name: str
    validator: Validator
    threshold: float
    actions: tuple[CompiledAction, ...]
    stages: frozenset[Stage]  # the policy's stages this rule's validator supports
    timeout_ms: int | None = None  # the validator's budget; None: the policy's timeout_ms


@dataclass(frozen=True, slots=True)
class Selector:
    projects: frozenset[str] = frozenset()
    models: tuple[re.Pattern[str], ...] = ()
    match_labels: tuple[tuple[str, str], ...] = ()
    match_expressions: tuple[tuple[str, str, frozenset[str]], ...] = ()

    @classmethod
    def compile(cls, sel: PolicySelector) -> Selector:
        return cls(
            frozenset(sel.projects),
            tuple(re.compile(fnmatch.translate(g)) for g in sel.models),
            tuple(sorted(sel.match_labels.items())),
            tuple((e.key, e.operator, frozenset(e.values)) for e in sel.match_expressions),
        )

    def matches(self, request: RequestMeta) -> bool:
        if self.projects and request.project not in self.projects:
            return False
        if self.models and (request.model is None or not any(g.match(request.model) for g in self.models)):
            return False
        labels = request.labels
        for key, value in self.match_labels:
            if labels.get(key) != value:
                return False
        for key, op, values in self.match_expressions:
            present = key in labels
            if op == "In" and (not present or labels[key] not in values):
                return False
            if op == "NotIn" and present and labels[key] in values:
                return False
            if op == "Exists" and not present:
                return False
            if op == "DoesNotExist" and present:
                return False
        return True


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    name: str
    version: str
    stages: frozenset[Stage]
    selector: Selector
    rules: tuple[CompiledRule, ...]
    mode: Literal["enforce", "shadow"]
    priority: int
    timeout_ms: int
    on_timeout: Literal["pass", "block"]
    suspend: bool
    pattern_set: PatternSet = field(repr=False)
    # pattern-set index → (rule position, index into that rule's validator.patterns)
    pattern_owners: tuple[tuple[int, int], ...] = field(repr=False)
    breaker: BreakerSettings = field(default_factory=BreakerSettings)

    @property
    def shadow(self) -> bool:
        return self.mode == "shadow"

    def applies(self, stage: Stage, request: RequestMeta) -> bool:
        return not self.suspend and stage in self.stages and self.selector.matches(request)

    def scan(self, text: ScanText) -> list[list[int]]:
        """Per rule position: the indices of its validator's patterns that occur in ``text``."""
        hits: list[list[int]] = [[] for _ in self.rules]
        owners = self.pattern_owners
        for i in self.pattern_set.match(text):
            pos, local = owners[i]
            hits[pos].append(local)
        return hits


def policy_order(policies: Iterable[CompiledPolicy]) -> list[CompiledPolicy]:
    """Deterministic evaluation order: higher priority first, then name."""
    return sorted(policies, key=lambda p: (-p.priority, p.name))


def _spec_of(source: GuardrailPolicySpec | GuardrailPolicy | Mapping[str, Any]) -> GuardrailPolicySpec:
    if isinstance(source, GuardrailPolicySpec):
        return source
    if isinstance(source, GuardrailPolicy):
        return source.spec
    doc = dict(source.get("spec", source)) if "spec" in source else dict(source)
    doc.pop("format", None)  # the controller's compiled row carries its format number
    try:
        return GuardrailPolicySpec.model_validate(doc)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = first["loc"]
        index = loc[1] if len(loc) > 1 and loc[0] == "rules" and isinstance(loc[1], int) else None
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise PolicyCompileError(
            f"spec{path}: {first['msg']}{more}", reason="InvalidSpec", rule_index=index
        ) from None


def _compile_rule(index: int, rule: Any, stages: frozenset[Stage]) -> CompiledRule:
    where = f"spec.rules[{index}] ({rule.name})"

    def fail(reason: str, message: str) -> PolicyCompileError:
        return PolicyCompileError(f"{where}: {message}", reason=reason, rule_index=index, rule=rule.name)

    try:
        name = canonical_name(rule.validator)
    except UnknownValidator as exc:
        planned = canonical_name(rule.validator, strict=False) in _PLANNED
        raise fail("ValidatorNotImplemented" if planned else "UnknownValidator", exc.message) from None
    try:
        validator = bind(name, rule.params)
    except ParamsError as exc:
        raise fail(exc.reason, "; ".join(exc.problems)) from None
    supported = validator.stages & stages
    if not supported:
        raise fail(
            "UnsupportedStage",
            f"validator {name} runs on {', '.join(sorted(validator.stages))}; "
            f"the policy's stages are {', '.join(sorted(stages))}",
        )
    actions = []
    for j, action in enumerate(rule.on_fail):
        try:
            actions.append(compile_action(action.type, action.params, f"onFail[{j}].params"))
        except ParamsError as exc:
            raise fail("InvalidAction", "; ".join(exc.problems)) from None
    return CompiledRule(
        index, rule.name, name, validator, rule.threshold, tuple(actions), supported, rule.timeout_ms
    )


def compile_policy(
    source: GuardrailPolicySpec | GuardrailPolicy | Mapping[str, Any],
    *,
    name: str | None = None,
    version: str | int = "",
) -> CompiledPolicy:
    """Compile a spec (model, resource or dict: a manifest, its spec, or the controller's compiled row).

    ``name`` identifies the policy in events and ordering (default: the resource's ``namespace/name``);
    ``version`` is the compiled version recorded in events.
    """
    if name is None:
        if isinstance(source, GuardrailPolicy):
            meta = source.metadata
            name = f"{meta.namespace}/{meta.name}" if getattr(meta, "namespace", None) else meta.name
        elif isinstance(source, Mapping) and isinstance(source.get("metadata"), Mapping):
            meta_doc = source["metadata"]
            name = "/".join(str(x) for x in (meta_doc.get("namespace"), meta_doc.get("name")) if x)
        if not name:
            raise ValueError("compile_policy needs a name for a bare spec")
    spec = _spec_of(source)
    stages: frozenset[Stage] = frozenset(spec.stages)
    rules = tuple(_compile_rule(i, rule, stages) for i, rule in enumerate(spec.rules))
    patterns: list[str] = []
    owners: list[tuple[int, int]] = []
    for pos, rule in enumerate(rules):
        for local, pattern in enumerate(rule.validator.patterns):
            patterns.append(pattern)
            owners.append((pos, local))
    try:
        pattern_set = PatternSet(patterns)
    except PatternError as exc:
        raise PolicyCompileError(f"spec.rules: {exc}", reason="InvalidPattern") from None
    return CompiledPolicy(
        name=name,
        version=str(version),
        stages=stages,
        selector=Selector.compile(spec.selector),
        rules=rules,
        mode=spec.mode,
        priority=spec.priority,
        timeout_ms=spec.timeout_ms,
        on_timeout=spec.on_timeout,
        suspend=spec.suspend,
        pattern_set=pattern_set,
        pattern_owners=tuple(owners),
        breaker=BreakerSettings(
            spec.circuit_breaker.failure_threshold, float(spec.circuit_breaker.cooldown_seconds)
        ),
    )


def compile_all(
    sources: Sequence[tuple[str, str | int, GuardrailPolicySpec | Mapping[str, Any]]],
) -> tuple[list[CompiledPolicy], dict[str, PolicyCompileError]]:
    """Compile many ``(name, version, spec)``; the ones that fail are returned with their error."""
    ok: list[CompiledPolicy] = []
    failed: dict[str, PolicyCompileError] = {}
    for name, version, spec in sources:
        try:
            ok.append(compile_policy(spec, name=name, version=version))
        except PolicyCompileError as exc:
            failed[name] = exc
    return ok, failed
