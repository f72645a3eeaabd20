"""Ingest-stage guardrail policies: check each span's payloads after normalization, before anything is stored.

Which policies. Every stored GuardrailPolicy (hot-reloaded through ``guardrails.PolicySource``) whose stages
include ``ingest`` and that is not suspended. They are selected like the guard API selects them: by the
span's project **name** (``selector.projects`` empty or listing it), its model (``selector.models``) and
labels, which at ingest are the span's resource attributes (``service.name``, ``deployment.environment``…).
A project without such policies costs one dictionary lookup per request.

What is checked. A span's ``input`` and ``output`` columns, its ``events`` (GenAI message events carry the
payload there too) and any payload attribute normalization left in ``attributes`` (a second convention's
copy such as ``input.value`` or ``gen_ai.prompt.0.content``; the winning copy is stored once, in
input/output). Other attributes are not checked.

What happens. Enforce-mode ``sanitize`` redacts the text in place (redaction strings are JSON-escaped inside
JSON payloads, and a JSON payload that redaction would break is redacted value by value instead); ``block``
replaces the text with ``[blocked by policy NAME]`` but keeps the span. ``retry``/``fallback``/``transform``
mean nothing after the fact: they are only recorded. Shadow-mode policies record and never change text.
``alert`` actions go to the ``alert_sink`` the process gives (the local runtime's webhook sink: the action's
``url``/``urlSecretRef``, else ``OTELGUARD_ALERT_WEBHOOK_URL``), deduplicated per ``dedupSeconds`` like the
guard API's; the sink only queues, so an alert never delays ingestion. Re-checks of text already checked (the
spool copy, JSON redacted value by value) do not notify again.
Every failed rule becomes a ``guardrail_events`` row with stage ``ingest`` and the span's trace/span id;
each finding carries ``field`` (input, output, events or the attribute key) since its offsets refer to it.
A changed span gets ``otelguard.guardrail.ingest.action`` (sanitize, block or redaction_failed) and
``otelguard.guardrail.ingest.policies``.

Fast path. When every rule of the project's ingest policies works from RE2 patterns (the regex tier), one
pattern-set scan over the span's texts joined by newlines tells whether any rule can fail; only then does the
engine run. (Joining can only add matches, except for anchored patterns: a policy that may have one is
scanned text by text.)

Durability. The stage runs before the request is spooled. The spool keeps the request as received for crash
replay, so when the stage changed a span, the spooled copy of that span is scrubbed too (each string
attribute and event attribute value is checked and remediated the same way) and the request is
re-serialized: raw PII never reaches the disk. A replay re-runs the stage. Events travel with their spans and
are inserted right after the span batch with a deduplication token derived from the batch's, so a replayed
batch stores them once; events of a scrubbed span are lost only if the process dies between acknowledging
and writing it (the scrubbed copy has nothing left to find).

Failure. The stage never fails ingestion. When the engine raises on a text of a span whose project has an
enforce-mode sanitize or block rule for it, the text is replaced by ``[redaction failed]`` (failing open would
store what the policy exists to remove); otherwise the text is kept. Both are counted in
``otelguard_ingest_guard_errors_total{outcome="fail_closed"|"fail_open"}``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from prometheus_client import Counter, Gauge

from otelguard.collector.writer import InsertFn
from otelguard.guardrails import Engine, GuardResult, Limits, RequestMeta, Snapshot
from otelguard.guardrails.actions import Alert, AlertSink, apply_redactions
from otelguard.guardrails.patterns import ScanText
from otelguard.guardrails.policy import CompiledPolicy
from otelguard.guardrails.policy_source import PolicyLoader, PolicySource
from otelguard.model import SpanRecord
from otelguard.semconv import fields
from otelguard.storage.clickhouse import ClickHouseTransport, insert_guardrail_events

__all__ = [
    "MARK_ACTION",
    "MARK_POLICIES",
    "REDACTION_FAILED",
    "EventSink",
    "IngestGuard",
    "ProjectNames",
    "clickhouse_event_sink",
]

log = logging.getLogger(__name__)

MARK_ACTION = "otelguard.guardrail.ingest.action"
MARK_POLICIES = "otelguard.guardrail.ingest.policies"
REDACTION_FAILED = "[redaction failed]"
_STRENGTH = {"sanitize": 1, "block": 2, "redaction_failed": 3}

ACTIONS = Counter(
    "otelguard_ingest_guard_actions_total",
    "Span texts changed by ingest-stage policies (sanitize, block, redaction_failed)",
    ["action"],
)
ERRORS = Counter(
    "otelguard_ingest_guard_errors_total",
    "Ingest-stage checks that raised: the text was replaced (fail_closed) or kept (fail_open)",
    ["outcome"],
)
EVENTS = Counter(
    "otelguard_ingest_guard_events_total", "guardrail_events rows of the ingest stage", ["result"]
)
SPANS = Counter(
    "otelguard_ingest_guard_spans_total",
    "Spans of projects with ingest policies: cleared by the pattern scan, or evaluated by the engine",
    ["path"],
)
POLICIES = Gauge("otelguard_ingest_guard_policies", "Ingest-stage policies in the collector's snapshot")

# (event rows, dedup token) → stored; raising makes the batch writer retry (spans are deduplicated).
EventSink = Callable[[Sequence[Mapping[str, Any]], str], None]

_PAYLOAD_FIELDS = (
    fields.INPUT_MESSAGES,
    fields.OUTPUT_MESSAGES,
    fields.SYSTEM_INSTRUCTIONS,
    fields.INPUT_VALUE,
    fields.OUTPUT_VALUE,
)
_PAYLOAD_KEYS = frozenset(k for k, (fld, _) in fields.KNOWN.items() if fld in _PAYLOAD_FIELDS)
_PREFIXES = fields.MESSAGE_PREFIXES
_PREFIXED_KEY = re.compile("|".join(re.escape("\0" + p) for p in _PREFIXES))  # over "\0"-joined keys
# Anchors whose meaning changes when texts are joined: ^ $ \A \z outside "[^" and escapes.
_ESCAPES = re.compile(r"\\\\|\\[\^$]|\[\^")
_MAX_PENDING = 1_000_000


def clickhouse_event_sink(transport: ClickHouseTransport) -> EventSink:
    def sink(rows: Sequence[Mapping[str, Any]], token: str) -> None:
        insert_guardrail_events(transport, rows, dedup_token=token)

    return sink


class ProjectNames:
    """Project id → name, reloaded every ``ttl_s`` by :class:`IngestGuard`'s thread and, for an id it does
    not know, at once (at most every ``miss_interval_s``)."""

    def __init__(
        self,
        loader: Callable[[], Iterable[tuple[str, str]]],
        *,
        miss_interval_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._loader = loader
        self._names: dict[str, str] = {}
        self._miss_interval_s = miss_interval_s
        self._clock = clock
        self._last_miss = float("-inf")

    def refresh(self) -> None:
        try:
            self._names = dict(self._loader())
        except Exception:
            log.exception("ingest guard: loading project names failed; keeping the known ones")

    def get(self, project_id: str) -> str | None:
        name = self._names.get(project_id)
        if name is None and self._clock() - self._last_miss >= self._miss_interval_s:
            self._last_miss = self._clock()
            self.refresh()
            name = self._names.get(project_id)
        return name


def _anchored(pattern: str) -> bool:
    bare = _ESCAPES.sub("", pattern)
    return "^" in bare or "$" in bare or "\\A" in bare or "\\z" in bare


@dataclass(frozen=True, slots=True)
class _Plan:
    """The ingest policies a project may see, and how to pre-scan for them."""

    policies: tuple[CompiledPolicy, ...]
    prescan: bool  # every ingest rule has patterns: no pattern hit → no rule can fail
    joined: bool  # no pattern may be anchored: one scan over the texts joined by newlines

    def may_fail(self, texts: list[tuple[str, str]]) -> bool:
        if not self.prescan:
            return True
        if self.joined:
            scan = ScanText("\n".join([t for _, t in texts]))
            for policy in self.policies:  # noqa: SIM110 - a loop, not any(genexpr): this runs per span
                if policy.pattern_set.match(scan):
                    return True
            return False
        scans = [ScanText(t) for _, t in texts]
        return any(p.pattern_set.match(s) for s in scans for p in self.policies)

    def enforces_redaction(self, meta: RequestMeta) -> bool:
        """An enforce-mode sanitize or block rule applies to this span: failing open would leak."""
        return any(
            not p.shadow
            and p.applies("ingest", meta)
            and any(
                "ingest" in r.stages and any(a.type in ("sanitize", "block") for a in r.actions)
                for r in p.rules
            )
            for p in self.policies
        )


def _plan(policies: Sequence[CompiledPolicy]) -> _Plan | None:
    if not policies:
        return None
    rules = [r for p in policies for r in p.rules if "ingest" in r.stages]
    prescan = all(r.validator.patterns for r in rules)
    joined = not any(_anchored(pat) for r in rules for pat in r.validator.patterns)
    return _Plan(tuple(policies), prescan, joined)


def _valid_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


class _Alerts:
    """The engine's alert sink: forwards to ``sink`` except during :meth:`quiet` re-checks on this thread."""

    def __init__(self, sink: AlertSink) -> None:
        self._sink = sink
        self._local = threading.local()

    def send(self, alert: Alert) -> None:
        if not getattr(self._local, "quiet", False):
            self._sink.send(alert)

    @contextlib.contextmanager
    def quiet(self) -> Iterator[None]:
        outer = getattr(self._local, "quiet", False)  # nests: the spool scrub may redact JSON leafwise
        self._local.quiet = True
        try:
            yield
        finally:
            self._local.quiet = outer


class IngestGuard:
    """The collector's ingest stage (``Pipeline`` stage, spool scrubber and event writer in one)."""

    def __init__(
        self,
        policies: PolicyLoader,
        project_names: Callable[[], Iterable[tuple[str, str]]],
        events: EventSink | None = None,
        *,
        max_text_chars: int = 64 * 1024 * 1024,
        reload_interval_s: float = 2.0,
        names_interval_s: float = 30.0,
        max_event_attempts: int = 5,
        alert_sink: AlertSink | None = None,
    ) -> None:
        """``alert_sink`` receives ``alert`` actions that passed deduplication; it must not block (the
        process owns it: starts and closes its sender). Without one, alerts are only recorded."""
        limits = Limits(max_chars=max_text_chars, max_bytes=4 * max_text_chars)
        self._alerts = _Alerts(alert_sink) if alert_sink is not None else None
        self.source = PolicySource(
            policies,
            engine=Engine(limits=limits, alert_sink=self._alerts),
            reload_interval_s=reload_interval_s,
            on_reload=self._reloaded,
            label="ingest guard",
        )
        self.names = ProjectNames(project_names)
        self._sink = events
        self._names_interval_s = names_interval_s
        self._max_event_attempts = max_event_attempts
        self._plans: dict[str | None, _Plan | None] = {}
        self._plans_version = -1
        self._ingest: tuple[CompiledPolicy, ...] = ()
        self._pending: dict[int, tuple[SpanRecord, list[dict[str, Any]]]] = {}  # id(record) → its events
        self._lock = threading.Lock()
        self._failures: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> IngestGuard:
        """Load policies and project names; raises when the policies cannot be read at all (storing spans
        unchecked could store what a policy must remove)."""
        self.source.start(poll=True)
        if not self.source.loaded:
            self.source.close()
            raise RuntimeError(
                "ingest guard: cannot load GuardrailPolicy rows; not accepting spans unchecked"
            )
        self.names.refresh()
        self._thread = threading.Thread(target=self._refresh_names, name="ingest-guard-names", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self.source.close()
        if self._thread is not None:
            self._thread.join(5)

    def _refresh_names(self) -> None:
        while not self._stop.wait(self._names_interval_s):
            self.names.refresh()

    def _reloaded(self, source: PolicySource) -> None:
        POLICIES.set(sum(1 for p in source.snapshot.policies if "ingest" in p.stages and not p.suspend))

    # -- which policies ----------------------------------------------------------------------------------
    def _plan_for(self, snapshot: Snapshot, project_id: str) -> _Plan | None:
        if snapshot.version != self._plans_version:
            ingest = tuple(p for p in snapshot.policies if "ingest" in p.stages and not p.suspend)
            self._plans, self._ingest, self._plans_version = {}, ingest, snapshot.version
        if not self._ingest:
            return None
        name = self.names.get(project_id)
        if name in self._plans:
            return self._plans[name]
        if name is None:
            log.warning("ingest guard: unknown project id %s; only unscoped policies apply", project_id)
        visible = [p for p in self._ingest if not p.selector.projects or name in p.selector.projects]
        plan = self._plans[name] = _plan(visible)
        return plan

    # -- the pipeline stage ------------------------------------------------------------------------------
    def process(self, project_id: str, records: list[SpanRecord]) -> list[SpanRecord]:
        snapshot = self.source.snapshot
        plan = self._plan_for(snapshot, project_id)
        if plan is None:
            return records
        name = self.names.get(project_id)
        evaluated = 0
        for record in records:
            texts = _texts(record)
            if not texts or not plan.may_fail(texts):
                continue
            evaluated += 1
            meta = RequestMeta(
                name, record.model or None, record.resource_attributes, record.trace_id, record.span_id
            )
            try:
                rows = self._check(snapshot, plan, meta, project_id, record, texts)
            except Exception:  # a bug here must not fail ingestion (or leak): treat every text as failed
                log.exception("ingest guard: checking span %s failed", record.span_id)
                rows = []
                for where, _ in texts:
                    self._failed(plan, meta, record, where)
            if rows:
                self._hold(record, rows)
        SPANS.labels("evaluated").inc(evaluated)
        SPANS.labels("scanned").inc(len(records) - evaluated)
        return records

    def _check(
        self,
        snapshot: Snapshot,
        plan: _Plan,
        meta: RequestMeta,
        project_id: str,
        record: SpanRecord,
        texts: list[tuple[str, str]],
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for where, text in texts:
            if len(texts) > 1 and not plan.may_fail([(where, text)]):
                continue  # the joined pre-scan hit another text: this one cannot fail (a scan, not a check)
            try:
                result = snapshot.evaluate(text, "ingest", meta)
            except Exception as exc:
                log.warning("ingest guard: span %s %s: %s", record.span_id, where, exc)
                self._failed(plan, meta, record, where)
                continue
            rows.extend(_event_rows(result, project_id, where))
            new = self._remediate(snapshot, meta, text, result)
            if new is not None:
                action = "block" if result.block is not None else "sanitize"
                _set(record, where, new)
                _mark(record, action, _acting_policies(result))
                ACTIONS.labels(action).inc()
        return rows

    def _failed(self, plan: _Plan, meta: RequestMeta, record: SpanRecord, where: str) -> None:
        if plan.enforces_redaction(meta):
            _set(record, where, REDACTION_FAILED)
            _mark(record, "redaction_failed", ())
            ERRORS.labels("fail_closed").inc()
            ACTIONS.labels("redaction_failed").inc()
        else:
            ERRORS.labels("fail_open").inc()

    def _remediate(self, snapshot: Snapshot, meta: RequestMeta, text: str, result: GuardResult) -> str | None:
        """The text to store instead, or None to keep it."""
        if result.block is not None:
            return f"[blocked by policy {result.block.policy}]"
        if not result.redactions:
            return None
        if text[:1] not in ("[", "{"):
            return apply_redactions(text, result.redactions)
        escaped = [
            dataclasses.replace(r, replacement=json.dumps(r.replacement, ensure_ascii=False)[1:-1])
            for r in result.redactions
        ]
        new = apply_redactions(text, escaped)
        if _valid_json(new) or not _valid_json(text):
            return new
        with self._quiet():  # a finding crossed JSON syntax: redact value by value (alerted already)
            leaves = self._leafwise(snapshot, meta, json.loads(text))
        return json.dumps(leaves, ensure_ascii=False, separators=(",", ":"))

    def _leafwise(self, snapshot: Snapshot, meta: RequestMeta, value: Any) -> Any:
        if isinstance(value, str):
            result = snapshot.evaluate(value, "ingest", meta)
            if result.block is not None:
                return f"[blocked by policy {result.block.policy}]"
            return apply_redactions(value, result.redactions) if result.redactions else value
        if isinstance(value, list):
            return [self._leafwise(snapshot, meta, v) for v in value]
        if isinstance(value, dict):
            return {k: self._leafwise(snapshot, meta, v) for k, v in value.items()}
        return value

    # -- the spool copy ------------------------------------------------------------------------------------
    def spool_payload(
        self,
        project_id: str,
        request: ExportTraceServiceRequest,
        payload: bytes,
        records: Sequence[SpanRecord],
    ) -> bytes:
        """What to spool for this request: ``payload`` unless the stage changed a span, else the request
        with those spans' string attribute values scrubbed the same way."""
        if not self._ingest:
            return payload
        changed = {(r.trace_id, r.span_id): r for r in records if MARK_ACTION in r.attributes}
        if not changed:
            return payload
        snapshot = self.source.snapshot
        plan = self._plan_for(snapshot, project_id)
        if plan is None:
            return payload
        name = self.names.get(project_id)
        with self._quiet():  # these texts were checked (and alerted on) by process()
            self._scrub_request(snapshot, plan, name, request, changed)
        return bytes(request.SerializeToString())

    def _quiet(self) -> contextlib.AbstractContextManager[None]:
        return self._alerts.quiet() if self._alerts is not None else contextlib.nullcontext()

    def _scrub_request(
        self,
        snapshot: Snapshot,
        plan: _Plan,
        name: str | None,
        request: ExportTraceServiceRequest,
        changed: Mapping[tuple[str, str], SpanRecord],
    ) -> None:
        for resource_spans in request.resource_spans:
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    record = changed.get((span.trace_id.hex(), span.span_id.hex()))
                    if record is None:
                        continue
                    meta = RequestMeta(
                        name,
                        record.model or None,
                        record.resource_attributes,
                        record.trace_id,
                        record.span_id,
                    )
                    for kv in span.attributes:
                        self._scrub(snapshot, plan, meta, kv.value)
                    for event in span.events:
                        for kv in event.attributes:
                            self._scrub(snapshot, plan, meta, kv.value)
                    for key in (MARK_ACTION, MARK_POLICIES):
                        if key in record.attributes:
                            span.attributes.append(
                                KeyValue(key=key, value=AnyValue(string_value=record.attributes[key]))
                            )

    def _scrub(self, snapshot: Snapshot, plan: _Plan, meta: RequestMeta, value: AnyValue) -> None:
        kind = value.WhichOneof("value")
        if kind == "string_value" and value.string_value:
            text = value.string_value
            try:
                new = self._remediate(snapshot, meta, text, snapshot.evaluate(text, "ingest", meta))
            except Exception:
                new = REDACTION_FAILED if plan.enforces_redaction(meta) else None
            if new is not None:
                value.string_value = new
        elif kind == "array_value":
            for item in value.array_value.values:
                self._scrub(snapshot, plan, meta, item)
        elif kind == "kvlist_value":
            for kv in value.kvlist_value.values:
                self._scrub(snapshot, plan, meta, kv.value)

    # -- events ------------------------------------------------------------------------------------------
    def _hold(self, record: SpanRecord, rows: list[dict[str, Any]]) -> None:
        with self._lock:
            if len(self._pending) >= _MAX_PENDING:  # only if records vanish without discard(): never grow
                _, old = self._pending.pop(next(iter(self._pending)))
                EVENTS.labels("dropped").inc(len(old))
            self._pending[id(record)] = (record, rows)

    def discard(self, records: Sequence[SpanRecord]) -> None:
        """The request was refused (queue full, shutting down, disk error): forget its events."""
        if self._pending:
            with self._lock:
                for record in records:
                    self._pending.pop(id(record), None)

    def wrap_insert(self, insert: InsertFn) -> InsertFn:
        """``insert`` followed by the batch's ingest events (dedup token: the batch's, suffixed)."""

        def insert_with_events(records: Sequence[SpanRecord], token: str) -> None:
            insert(records, token)
            if self._pending:
                self._write_events(records, token)

        return insert_with_events

    def _write_events(self, records: Sequence[SpanRecord], token: str) -> None:
        with self._lock:
            held = [(id(r), self._pending.get(id(r))) for r in records]
        found = [(key, entry[1]) for key, entry in held if entry is not None]
        if not found:
            return
        rows = [row for _, rs in found for row in rs]
        if self._sink is not None:
            try:
                self._sink(rows, f"{token}:ingest-events")
            except Exception:
                attempts = self._failures.get(token, 0) + 1
                if attempts < self._max_event_attempts:
                    self._failures[token] = attempts
                    raise  # the writer retries the batch; its spans are deduplicated by token
                log.exception(
                    "ingest guard: dropping %d guardrail events after %d attempts", len(rows), attempts
                )
                EVENTS.labels("dropped").inc(len(rows))
            else:
                EVENTS.labels("written").inc(len(rows))
            self._failures.pop(token, None)
        with self._lock:
            for key, _ in found:
                self._pending.pop(key, None)


# -- helpers ---------------------------------------------------------------------------------------------
def _texts(record: SpanRecord) -> list[tuple[str, str]]:
    """(where, text) of the span's payloads."""
    out = []
    if record.input:
        out.append(("input", record.input))
    if record.output:
        out.append(("output", record.output))
    if record.events != "[]" and record.events:
        out.append(("events", record.events))
    attrs = record.attributes
    # One regex search over the joined keys is ~3x cheaper than a str.startswith loop over them.
    if not _PAYLOAD_KEYS.isdisjoint(attrs) or _PREFIXED_KEY.search("\0" + "\0".join(attrs)):
        out.extend((k, v) for k, v in attrs.items() if v and (k in _PAYLOAD_KEYS or k.startswith(_PREFIXES)))
    return out


def _set(record: SpanRecord, where: str, text: str) -> None:
    if where == "input":
        record.input = text
    elif where == "output":
        record.output = text
    elif where == "events":
        record.events = text
    else:
        record.attributes[where] = text


def _mark(record: SpanRecord, action: str, policies: Iterable[str]) -> None:
    attrs = record.attributes
    current = attrs.get(MARK_ACTION)
    if current is None or _STRENGTH.get(action, 0) > _STRENGTH.get(current, 0):
        attrs[MARK_ACTION] = action
    names = {n for n in attrs.get(MARK_POLICIES, "").split(",") if n} | set(policies)
    if names:
        attrs[MARK_POLICIES] = ",".join(sorted(names))


def _acting_policies(result: GuardResult) -> set[str]:
    if result.block is not None:
        return {result.block.policy}
    return {o.policy for o in result.outcomes if not o.shadow and "sanitize" in o.actions}


def _event_rows(result: GuardResult, project_id: str, where: str) -> list[dict[str, Any]]:
    rows = []
    extra = {"field": where}
    for pending in result.pending_events:
        row = pending.build(result.stage, result.request, extra).as_row()
        row["project_id"] = project_id
        rows.append(row)
    return rows
