"""The policy engine: evaluate a text for a stage against the matching policies → a :class:`GuardResult`.

An :class:`Engine` holds an immutable :class:`Snapshot` of compiled policies. ``swap``/``upsert``/``remove``
build a new snapshot and replace the reference atomically; a check in flight keeps the snapshot it started
with, so a reload never drops or mixes in-flight checks.

Evaluation, per matching policy in order (priority desc, then name): one RE2 pattern-set scan of the text,
then each rule whose validator supports the stage (skipped outright when its patterns did not occur). A rule
fails when its validator's score >= threshold; its onFail actions then run in order — sanitize, alert and
transform continue the chain; retry (while attempts remain), fallback and block end it. Enforce-mode
policies act; shadow-mode policies record the same decisions (``shadow=True`` events) and never act. All
validators see the original text, so every finding's offsets refer to it; sanitize then redacts all
collected spans in one pass, and transforms run on the result. A block stops evaluation.

Time budgets. The policy's ``timeoutMs`` is checked before each rule (once spent, the remaining rules are
skipped with a ``timeout_<onTimeout>`` event), and each validator's run is held to its rule's ``timeoutMs``
(default: the policy's; never past the policy's deadline). A ``preemptible`` validator (model inference)
runs on a worker thread and the engine stops waiting when its budget is spent: the rule is abandoned
(``validator_timeout_<onTimeout>``; the run finishes in the background and its result is dropped). The
regex tier runs inline — microseconds, where a thread hop would cost more than the work — so its budget is
measured: an overrun still completes and its result counts (``validator_timeout`` event). Both, like a
validator that raises (``validator_error_<onTimeout>``), are failures for the rule's circuit breaker; while
the breaker is open the rule is skipped (``circuit_open_<onTimeout>``). Skipped rules get the policy's
``onTimeout`` verdict: ``pass``, or ``block`` (enforce mode only).

Verdict: ``block`` (``result.block`` has the safe message, which is also ``result.text``), ``flag`` (a rule
failed; use ``result.text`` and honour ``result.retry`` / ``result.fallback`` when set), or ``pass``.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import threading
import time
from collections.abc import Collection, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from otelguard.guardrails.actions import DEFAULT_BLOCK_MESSAGE as _DEFAULT_BLOCK
from otelguard.guardrails.actions import (
    Alert,
    AlertDeduper,
    AlertParams,
    AlertSink,
    BlockDecision,
    BlockParams,
    FallbackDecision,
    FallbackParams,
    Redaction,
    RetryDecision,
    RetryParams,
    SanitizeParams,
    TransformParams,
    alert_key,
    apply_redactions,
    plan_redactions,
    transform_text,
)
from otelguard.guardrails.base import (
    STAGES,
    CheckContext,
    Finding,
    GuardrailError,
    InputTooLarge,
    RequestMeta,
    Stage,
    UnknownStage,
)
from otelguard.guardrails.breaker import BreakerBoard
from otelguard.guardrails.patterns import ScanText
from otelguard.guardrails.policy import CompiledPolicy, CompiledRule, policy_order
from otelguard.guardrails.registry import Validator

__all__ = [
    "Engine",
    "GuardResult",
    "GuardrailEvent",
    "InvalidText",
    "Limits",
    "RuleOutcome",
    "Snapshot",
    "UnknownPolicy",
    "ValidatorTiming",
    "Verdict",
    "decode_input",
]

Verdict = Literal["pass", "flag", "block"]
log = logging.getLogger(__name__)
_now_ns = time.perf_counter_ns

# Worker threads for preemptible validators, shared by every engine in the process. Bounded: hung runs can
# occupy them all, after which every wait times out and the rules' breakers open.
_PREEMPT_WORKERS = max(2, min(8, os.cpu_count() or 2))
_preempt_pool: ThreadPoolExecutor | None = None
_preempt_lock = threading.Lock()


def _pool() -> ThreadPoolExecutor:
    global _preempt_pool
    if _preempt_pool is None:
        with _preempt_lock:
            if _preempt_pool is None:
                _preempt_pool = ThreadPoolExecutor(_PREEMPT_WORKERS, thread_name_prefix="guard-validator")
    return _preempt_pool


def _forget_pool() -> None:
    global _preempt_pool
    _preempt_pool = None  # a forked child (Celery prefork) has none of the parent's threads


os.register_at_fork(after_in_child=_forget_pool)


class _Abandoned(Exception):
    """A preemptible validator that did not finish within its budget."""


class InvalidText(GuardrailError, ValueError):
    """Bytes that are not UTF-8 when ``Limits.invalid_utf8 == 'reject'``."""


@dataclass(frozen=True, slots=True)
class Limits:
    max_chars: int = 1_000_000
    max_bytes: int = 4_000_000
    invalid_utf8: Literal["replace", "reject"] = "replace"


def decode_input(data: str | bytes, limits: Limits) -> tuple[str, tuple[str, ...]]:
    """The text to check and problems found decoding it. Raises InputTooLarge / InvalidText / TypeError."""
    problems: list[str] = []
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        if len(raw) > limits.max_bytes:
            raise InputTooLarge(len(raw), limits.max_bytes, "bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            where = f"invalid UTF-8 at byte {exc.start}: {exc.reason}"
            if limits.invalid_utf8 == "reject":
                raise InvalidText(where) from None
            text = raw.decode("utf-8", "replace")
            problems.append(f"{where}; invalid sequences replaced with U+FFFD")
        controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r")
        if controls:
            problems.append(f"{controls} control characters (binary content?)")
    elif isinstance(data, str):
        text = data
    else:
        raise TypeError(f"text must be str or bytes, not {type(data).__name__}")
    if len(text) > limits.max_chars:
        raise InputTooLarge(len(text), limits.max_chars, "characters")
    return text, tuple(problems)


@dataclass(frozen=True, slots=True)
class GuardrailEvent:
    """One row of the ``guardrail_events`` table (``ingested_at`` is filled by ClickHouse)."""

    id: str
    project_id: str
    trace_id: str
    span_id: str
    timestamp: datetime
    policy: str
    policy_version: str
    rule: str
    validator: str
    stage: str
    action: str
    verdict: str
    findings: str  # JSON: [{validator, entity, start, end, score, text (redacted), detail}]
    latency_us: int
    shadow: bool

    def as_row(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


# Event ids: a random per-process prefix and a counter (unique, and ~10x cheaper than uuid4).
_ID_PREFIX = os.urandom(8).hex()
_ID_SEQ = itertools.count()


def _event_id() -> str:
    return f"{_ID_PREFIX}{next(_ID_SEQ):016x}"


@dataclass(slots=True)  # not frozen: ~3x cheaper to create, and it never leaves this module's results
class _PendingEvent:
    """What an event needs; the row (findings JSON etc.) is built only when asked for."""

    id: str
    timestamp: float
    policy: CompiledPolicy
    rule: str
    validator: str
    action: str
    verdict: str
    findings: tuple[Finding, ...]
    latency_us: int

    def build(
        self, stage: str, request: RequestMeta, finding_extra: Mapping[str, Any] | None = None
    ) -> GuardrailEvent:
        """The event row; ``finding_extra`` is merged into every finding's JSON (e.g. which field of a span
        the finding is in)."""
        found = [f.to_json() for f in self.findings]
        if finding_extra:
            found = [{**f, **finding_extra} for f in found]
        return GuardrailEvent(
            id=self.id,
            project_id=request.project or "",
            trace_id=request.trace_id,
            span_id=request.span_id,
            timestamp=datetime.fromtimestamp(self.timestamp, UTC),
            policy=self.policy.name,
            policy_version=self.policy.version,
            rule=self.rule,
            validator=self.validator,
            stage=stage,
            action=self.action,
            verdict=self.verdict,
            findings=json.dumps(found, separators=(",", ":"), ensure_ascii=False),
            latency_us=self.latency_us,
            shadow=self.policy.shadow,
        )


@dataclass(frozen=True, slots=True)
class RuleOutcome:
    policy: str
    policy_version: str
    rule: str
    validator: str
    shadow: bool
    score: float
    verdict: Verdict
    findings: tuple[Finding, ...]
    actions: tuple[str, ...]
    latency_us: int


@dataclass(frozen=True, slots=True)
class ValidatorTiming:
    policy: str
    rule: str
    validator: str
    latency_us: int


@dataclass(frozen=True, slots=True)
class GuardResult:
    verdict: Verdict
    text: str  # what to use: the remediated text, or the safe response when blocked
    changed: bool
    stage: Stage
    outcomes: tuple[RuleOutcome, ...] = ()
    redactions: tuple[Redaction, ...] = ()
    transforms: tuple[str, ...] = ()
    block: BlockDecision | None = None
    retry: RetryDecision | None = None
    fallback: FallbackDecision | None = None
    alerts: tuple[Alert, ...] = ()
    pending_events: tuple[_PendingEvent, ...] = ()
    request: RequestMeta = field(default_factory=RequestMeta)
    timings: tuple[ValidatorTiming, ...] = ()
    input_errors: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()
    snapshot_version: int = 0
    latency_us: int = 0

    # Placeholder → original value for reversible sanitizes: the caller's own data, returned to it by the
    # guard API for de-anonymising the model's output (``actions.deanonymize``); never in events.
    mapping: tuple[tuple[str, str], ...] = ()

    @property
    def events(self) -> list[GuardrailEvent]:
        """``guardrail_events`` rows: one per failed rule (shadow ones flagged) and per policy timeout."""
        return [e.build(self.stage, self.request) for e in self.pending_events]

    @property
    def findings(self) -> list[Finding]:
        """Findings of failed enforce-mode rules (shadow findings are only in ``outcomes``/``events``)."""
        return [f for o in self.outcomes if not o.shadow for f in o.findings]

    @property
    def actions(self) -> list[str]:
        return [a for o in self.outcomes if not o.shadow for a in o.actions]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the guard API."""
        return {
            "verdict": self.verdict,
            "text": self.text,
            "changed": self.changed,
            "stage": self.stage,
            "findings": [
                {"policy": o.policy, "rule": o.rule, **f.to_json()}
                for o in self.outcomes
                if not o.shadow
                for f in o.findings
            ],
            "actions": [
                {"policy": o.policy, "rule": o.rule, "actions": list(o.actions), "shadow": o.shadow}
                for o in self.outcomes
            ],
            "block": None
            if self.block is None
            else {"message": self.block.message, "reason": self.block.reason},
            "retry": None
            if self.retry is None
            else {
                "attempt": self.retry.attempt,
                "maxAttempts": self.retry.max_attempts,
                "params": dict(self.retry.params),
                "instruction": self.retry.instruction,
            },
            "fallback": None
            if self.fallback is None
            else {"model": self.fallback.model, "response": self.fallback.response},
            "timings": [
                {"policy": t.policy, "rule": t.rule, "validator": t.validator, "latencyUs": t.latency_us}
                for t in self.timings
            ],
            "inputErrors": list(self.input_errors),
            "policies": list(self.policies),
            "latencyUs": self.latency_us,
            **({"mapping": dict(self.mapping)} if self.mapping else {}),
        }


@dataclass(slots=True)
class _Run:
    """Mutable state of one evaluation."""

    text: str
    stage: Stage
    request: RequestMeta
    attempt: int
    input_text: str  # an output check's prompt: reversible stand-ins are numbered clear of its ones
    outcomes: list[RuleOutcome] = field(default_factory=list)
    redact: list[tuple[Finding, SanitizeParams]] = field(default_factory=list)
    transforms: list[TransformParams] = field(default_factory=list)
    timings: list[ValidatorTiming] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    events: list[_PendingEvent] = field(default_factory=list)
    block: BlockDecision | None = None
    retry: RetryDecision | None = None
    fallback: FallbackDecision | None = None


class Snapshot:
    """An immutable, ordered set of compiled policies and everything needed to evaluate against them."""

    __slots__ = ("_breakers", "_deduper", "_sink", "limits", "policies", "version")

    def __init__(
        self,
        policies: Iterable[CompiledPolicy],
        version: int,
        limits: Limits,
        sink: AlertSink | None,
        deduper: AlertDeduper,
        breakers: BreakerBoard | None = None,
    ) -> None:
        ordered = policy_order(policies)
        names = [p.name for p in ordered]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate policy names: {sorted({n for n in names if names.count(n) > 1})}")
        self.policies: tuple[CompiledPolicy, ...] = tuple(ordered)
        self.version = version
        self.limits = limits
        self._sink = sink
        self._deduper = deduper
        self._breakers = breakers or BreakerBoard()

    def policy(self, name: str) -> CompiledPolicy | None:
        return next((p for p in self.policies if p.name == name), None)

    def evaluate(
        self,
        text: str | bytes,
        stage: Stage,
        request: RequestMeta | None = None,
        *,
        input_text: str | None = None,
        attempt: int = 1,
        policies: Collection[str] | None = None,
        context: str | None = None,
    ) -> GuardResult:
        started = _now_ns()
        if stage not in STAGES:
            raise UnknownStage(stage)
        request = request or _NO_REQUEST
        s, problems = decode_input(text, self.limits)
        if policies is not None:
            unknown = set(policies) - {p.name for p in self.policies}
            if unknown:
                raise UnknownPolicy(sorted(unknown))
        scan = ScanText(s)
        ctx = CheckContext(stage, request, input_text, attempt, context)
        run = _Run(s, stage, request, attempt, input_text or "")
        matched: list[str] = []
        for policy in self.policies:
            if policies is not None and policy.name not in policies:
                continue
            if not policy.applies(stage, request):
                continue
            matched.append(policy.name)
            self._evaluate_policy(policy, scan, ctx, run)
            if run.block is not None:
                break
        return self._result(run, problems, matched, started)

    # -- one policy --------------------------------------------------------------------------------------
    def _evaluate_policy(self, policy: CompiledPolicy, scan: ScanText, ctx: CheckContext, run: _Run) -> None:
        begun = _now_ns()
        deadline = begun + policy.timeout_ms * 1_000_000
        hits = policy.scan(scan)
        scan.use_set(
            policy.pattern_set
        )  # the rules' hits come from this set: Detector searches from its floor
        for pos, rule in enumerate(policy.rules):
            if run.stage not in rule.stages:
                continue
            validator = rule.validator
            rule_hits = hits[pos]
            if validator.patterns and not rule_hits:
                continue  # none of its patterns occur: it cannot find anything
            now = _now_ns()
            if now > deadline:
                self._timeout(policy, rule, run, (now - begun) // 1000)
                return
            breaker = self._breakers.get((policy.name, policy.version, rule.name), policy.breaker)
            if not breaker.allow():
                if self._skip(policy, rule, run, "circuit_open", "its circuit breaker is open", 0):
                    return
                continue
            t0 = _now_ns()
            budget_ns = (rule.timeout_ms or policy.timeout_ms) * 1_000_000
            try:
                if validator.preemptible:
                    wait_ns = min(budget_ns, deadline - t0)
                    findings = self._run_bounded(validator, scan, ctx, rule_hits, wait_ns)
                else:
                    findings = validator.check(scan, ctx, rule_hits if validator.patterns else None)
            except _Abandoned:
                breaker.failure()
                latency = (_now_ns() - t0) // 1000
                run.timings.append(ValidatorTiming(policy.name, rule.name, rule.validator_name, latency))
                detail = f"its validator overran its {budget_ns // 1_000_000} ms budget and was abandoned"
                if self._skip(policy, rule, run, "validator_timeout", detail, latency):
                    return
                continue
            except Exception as exc:  # a broken validator must not fail the request: onTimeout decides
                breaker.failure()
                log.warning(
                    "validator %s (policy %s rule %s) failed: %r",
                    rule.validator_name,
                    policy.name,
                    rule.name,
                    exc,
                )
                if self._skip(
                    policy,
                    rule,
                    run,
                    "validator_error",
                    f"its validator raised {type(exc).__name__}",
                    (_now_ns() - t0) // 1000,
                ):
                    return
                continue
            elapsed = _now_ns() - t0
            latency = elapsed // 1000
            run.timings.append(ValidatorTiming(policy.name, rule.name, rule.validator_name, latency))
            if elapsed > budget_ns:
                # It cannot be interrupted, so its (late) result still counts; the breaker stops the next.
                breaker.failure()
                run.events.append(
                    self._event(
                        policy, rule.name, rule.validator_name, "validator_timeout", "pass", (), latency, run
                    )
                )
            else:
                breaker.success()
            if not findings:
                continue
            score = validator.score(findings)
            if score < rule.threshold:
                continue
            reported = tuple(f for f in findings if f.score >= rule.threshold) or tuple(findings)
            self._fail(policy, rule, score, reported, latency, run)
            if run.block is not None and not policy.shadow:
                return

    @staticmethod
    def _run_bounded(
        validator: Validator, scan: ScanText, ctx: CheckContext, hits: Collection[int], wait_ns: int
    ) -> list[Finding]:
        """``validator.check`` on a worker thread, waited for at most ``wait_ns``. The worker gets its own
        :class:`ScanText` (its caches are not thread-safe, and an abandoned run outlives this call)."""
        own = ScanText(scan.text)
        future = _pool().submit(validator.check, own, ctx, hits if validator.patterns else None)
        try:
            result: list[Finding] = future.result(timeout=max(wait_ns, 0) / 1e9)
        except FutureTimeout:
            future.cancel()  # still queued behind hung runs: never start it
            raise _Abandoned from None
        return result

    def _fail(
        self,
        policy: CompiledPolicy,
        rule: CompiledRule,
        score: float,
        findings: tuple[Finding, ...],
        latency: int,
        run: _Run,
    ) -> None:
        shadow = policy.shadow
        taken: list[str] = []
        for action in rule.actions:
            kind, params = action.type, action.params
            if kind == "sanitize":
                assert isinstance(params, SanitizeParams)
                if not shadow:
                    run.redact.extend((f, params) for f in findings if f.has_span)
                taken.append("sanitize")
            elif kind == "transform":
                assert isinstance(params, TransformParams)
                if not shadow:
                    run.transforms.append(params)
                taken.append("transform")
            elif kind == "alert":
                assert isinstance(params, AlertParams)
                taken.append(self._alert(policy, rule, findings, params, run))
            elif kind == "retry":
                assert isinstance(params, RetryParams)
                if run.attempt >= params.max_attempts:
                    taken.append("retry_exhausted")
                    continue
                if not shadow and run.retry is None:
                    run.retry = RetryDecision(
                        run.attempt + 1,
                        params.max_attempts,
                        params.params,
                        params.instruction,
                        policy.name,
                        rule.name,
                    )
                taken.append("retry")
                break
            elif kind == "fallback":
                assert isinstance(params, FallbackParams)
                if not shadow and run.fallback is None:
                    run.fallback = FallbackDecision(params.model, params.response, policy.name, rule.name)
                taken.append("fallback")
                break
            elif kind == "block":
                assert isinstance(params, BlockParams)
                if not shadow:
                    entities = ", ".join(sorted({f.entity for f in findings}))
                    reason = params.reason or f"{rule.validator_name} found {entities} (rule {rule.name})"
                    run.block = BlockDecision(params.message, reason, policy.name, rule.name)
                taken.append("block")
                break
        verdict: Verdict = "block" if "block" in taken else "flag"
        run.outcomes.append(
            RuleOutcome(
                policy.name,
                policy.version,
                rule.name,
                rule.validator_name,
                shadow,
                score,
                verdict,
                findings,
                tuple(taken),
                latency,
            )
        )
        run.events.append(
            self._event(
                policy,
                rule.name,
                rule.validator_name,
                ",".join(taken) or "none",
                verdict,
                findings,
                latency,
                run,
            )
        )

    def _alert(
        self,
        policy: CompiledPolicy,
        rule: CompiledRule,
        findings: tuple[Finding, ...],
        params: AlertParams,
        run: _Run,
    ) -> str:
        entities = tuple(sorted({f.entity for f in findings}))
        key = alert_key(policy.name, rule.name, run.request.project, entities)
        alert = Alert(
            key,
            policy.name,
            rule.name,
            rule.validator_name,
            run.stage,
            params.severity,
            params.channel,
            entities,
            run.request.project,
            policy.shadow,
            url=params.url,
            url_secret_ref=params.url_secret_ref,
        )
        run.alerts.append(alert)
        if policy.shadow:
            return "alert"
        if not self._deduper.admit(key, params.dedup_seconds):
            return "alert_deduplicated"
        if self._sink is not None:
            try:
                self._sink.send(alert)
            except Exception:  # a failing notifier must not fail the check
                return "alert_failed"
        return "alert"

    def _timeout(self, policy: CompiledPolicy, rule: CompiledRule, run: _Run, elapsed_us: int) -> None:
        action = f"timeout_{policy.on_timeout}"
        verdict: Verdict = "block" if policy.on_timeout == "block" else "pass"
        if verdict == "block" and not policy.shadow:
            run.block = BlockDecision(
                _DEFAULT_BLOCK,
                f"policy {policy.name} exceeded its {policy.timeout_ms} ms budget",
                policy.name,
                rule.name,
            )
        run.events.append(self._event(policy, rule.name, "", action, verdict, (), elapsed_us, run))

    def _skip(
        self, policy: CompiledPolicy, rule: CompiledRule, run: _Run, why: str, detail: str, latency: int
    ) -> bool:
        """Record a rule that did not run; apply onTimeout. True when that blocked the request."""
        verdict: Verdict = "block" if policy.on_timeout == "block" else "pass"
        if verdict == "block" and not policy.shadow:
            run.block = BlockDecision(
                _DEFAULT_BLOCK,
                f"rule {rule.name} of policy {policy.name} was skipped: {detail}",
                policy.name,
                rule.name,
            )
        run.events.append(
            self._event(
                policy,
                rule.name,
                rule.validator_name,
                f"{why}_{policy.on_timeout}",
                verdict,
                (),
                latency,
                run,
            )
        )
        return run.block is not None

    @staticmethod
    def _event(
        policy: CompiledPolicy,
        rule: str,
        validator: str,
        action: str,
        verdict: str,
        findings: tuple[Finding, ...],
        latency: int,
        run: _Run,
    ) -> _PendingEvent:
        return _PendingEvent(
            _event_id(), time.time(), policy, rule, validator, action, verdict, findings, latency
        )

    # -- result --------------------------------------------------------------------------------------------
    def _result(self, run: _Run, problems: tuple[str, ...], matched: list[str], started: int) -> GuardResult:
        text = run.text
        redactions: list[Redaction] = []
        mapping: dict[str, str] = {}
        done: list[str] = []
        if run.block is not None:
            verdict: Verdict = "block"
            text = run.block.message
        else:
            verdict = "flag" if any(not o.shadow for o in run.outcomes) else "pass"
            if run.redact:
                redactions = plan_redactions(text, run.redact, avoid=run.input_text)
                mapping = {r.replacement: text[r.start : r.end] for r in redactions if r.reversible}
                text = apply_redactions(text, redactions)
            for params in run.transforms:
                text, steps = transform_text(text, params, json_expected=run.stage == "output")
                done.extend(steps)
            if run.fallback is not None and run.fallback.response is not None:
                text = run.fallback.response
        return GuardResult(
            verdict=verdict,
            text=text,
            changed=text != run.text,
            stage=run.stage,
            outcomes=tuple(run.outcomes),
            redactions=tuple(redactions),
            mapping=tuple(mapping.items()),
            transforms=tuple(done),
            block=run.block,
            retry=run.retry,
            fallback=run.fallback,
            alerts=tuple(run.alerts),
            pending_events=tuple(run.events),
            request=run.request,
            timings=tuple(run.timings),
            input_errors=problems,
            policies=tuple(matched),
            snapshot_version=self.version,
            latency_us=(_now_ns() - started) // 1000,
        )


class UnknownPolicy(GuardrailError, KeyError):
    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.message = f"unknown policy: {', '.join(names)}"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


_NO_REQUEST = RequestMeta()


class Engine:
    """Evaluates texts against the current snapshot; reloads swap the snapshot atomically."""

    def __init__(
        self,
        policies: Iterable[CompiledPolicy] = (),
        *,
        limits: Limits | None = None,
        alert_sink: AlertSink | None = None,
        deduper: AlertDeduper | None = None,
        breakers: BreakerBoard | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._limits = limits or Limits()
        self._sink = alert_sink
        self._deduper = deduper or AlertDeduper()
        self.breakers = breakers or BreakerBoard()
        self._snapshot = self._new([*policies], 1)

    def _new(self, policies: Iterable[CompiledPolicy], version: int) -> Snapshot:
        return Snapshot(policies, version, self._limits, self._sink, self._deduper, self.breakers)

    @property
    def snapshot(self) -> Snapshot:
        return self._snapshot

    def swap(self, policies: Iterable[CompiledPolicy]) -> Snapshot:
        """Replace every policy at once; returns the new snapshot."""
        with self._lock:
            new = self._new(policies, self._snapshot.version + 1)
            self._snapshot = new
            return new

    def upsert(self, policy: CompiledPolicy) -> Snapshot:
        with self._lock:
            kept = [p for p in self._snapshot.policies if p.name != policy.name]
            new = self._new([*kept, policy], self._snapshot.version + 1)
            self._snapshot = new
            return new

    def remove(self, name: str) -> Snapshot:
        with self._lock:
            kept = [p for p in self._snapshot.policies if p.name != name]
            new = self._new(kept, self._snapshot.version + 1)
            self._snapshot = new
            return new

    def evaluate(
        self,
        text: str | bytes,
        stage: Stage,
        request: RequestMeta | None = None,
        *,
        input_text: str | None = None,
        attempt: int = 1,
        policies: Collection[str] | None = None,
        context: str | None = None,
    ) -> GuardResult:
        """Check ``text`` at ``stage`` (see the module docstring); ``policies`` limits evaluation to those
        names (UnknownPolicy when one does not exist)."""
        return self._snapshot.evaluate(
            text, stage, request, input_text=input_text, attempt=attempt, policies=policies, context=context
        )

    @property
    def policies(self) -> Mapping[str, CompiledPolicy]:
        return {p.name: p for p in self._snapshot.policies}
