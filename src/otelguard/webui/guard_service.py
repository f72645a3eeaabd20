"""The guard service behind ``POST /api/v1/guard``: policies from Postgres, hot reload, a result cache and an
asynchronous writer of ``guardrail_events``.

Policies. Every ``GuardrailPolicy`` row of table ``resources`` (all namespaces) is compiled with
``guardrails.compile_all`` under the name ``namespace/name`` and its stored version; a row that does not
compile is skipped and logged (the controller reports it on the resource). Which policies apply to a caller:
the engine's selector, matched with ``RequestMeta.project`` = the caller's project **name** — so a policy
applies to a project when its ``selector.projects`` is empty or lists that project's name (and its models /
labels selectors match the request). A policy named in a request must be visible to the caller by the same
rule, else it is unknown (404); it may be named ``namespace/name`` or just ``name`` when that is unique.

Hot reload. ``guardrails.policy_source.PolicySource`` (shared with the collector's ingest stage) polls the
rows every ``reload_interval_s`` (through ``list_resources``) and, when the set of (name, version, spec hash,
updated_at) changed, recompiles (unchanged rows reuse their compiled policy) and swaps the engine's snapshot
atomically: a check in flight keeps the snapshot it started with.

Cache. Results are cached in a bounded LRU keyed by (content hash of text, input and context, stage,
attempt, project name, model, labels, named policy, snapshot version); a reload changes the version, so a
stale result is never served. A cached decision still records its events (fresh ids, this request's
trace/span).

Events. Each decision's events go, with the caller's project id, onto a bounded queue that a writer thread
drains in batches into ClickHouse; a full queue drops (counted in
``otelguard_guardrail_events_dropped_total``) and never blocks a request.

Alerts. ``alert`` actions that pass the engine's deduplication are posted by a background
``WebhookSender`` to the action's ``url`` or the URL in its ``urlSecretRef`` (read at send time through the
``secrets`` resolver the process was given, cached ``secret_ttl_s``), else ``OTELGUARD_ALERT_WEBHOOK_URL``,
with retries; a full queue drops the alert rather than delay the check.

Webhook destinations (alerts and async callbacks) are checked against ``webhook_allow_networks`` at delivery
(``guardrails.webhooks``: no loopback, private, link-local… unless allowed). ``from_env(local=True)`` (the
single-user ``otelguard up``) allows loopback and private networks when ``OTELGUARD_WEBHOOK_ALLOW_NETWORKS``
is unset; a cluster's API server keeps the strict default.

Async checks. :class:`AsyncGuard` validates a request up front (same 4xx as the sync API), runs the check on a
small thread pool (at most ``async_max_pending`` waiting: beyond that :class:`AsyncQueueFull`, a 429), keeps
the decision for ``async_ttl_s`` for ``GET``, and POSTs it to the caller's callback URL with retries.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import itertools
import logging
import os
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

from otelguard.guardrails import (
    GuardrailError,
    GuardrailEvent,
    GuardResult,
    InputTooLarge,
    InvalidText,
    RequestMeta,
    Snapshot,
    UnknownPolicy,
    UnknownStage,
)
from otelguard.guardrails.egress import ALLOW_NETWORKS_ENV, LOCAL_NETWORKS, AddressPolicy, parse_networks
from otelguard.guardrails.engine import Engine
from otelguard.guardrails.policy import CompiledPolicy
from otelguard.guardrails.policy_source import PolicyRow, PolicySource
from otelguard.guardrails.webhooks import (
    Delivery,
    DeliveryResult,
    SecretResolver,
    SecretStore,
    WebhookAlertSink,
    WebhookSender,
    check_webhook_url,
)
from otelguard.storage import postgres
from otelguard.storage.clickhouse import ClickHouseTransport, insert_guardrail_events

__all__ = [
    "API_STAGES",
    "MAX_ATTEMPT",
    "AsyncGuard",
    "AsyncJob",
    "AsyncQueueFull",
    "EmptyText",
    "EventWriter",
    "GuardConfig",
    "GuardRequest",
    "GuardService",
    "InvalidAttempt",
    "PolicyRow",
    "clickhouse_event_sink",
    "postgres_policy_loader",
]

log = logging.getLogger(__name__)

API_STAGES = ("input", "output")
MAX_ATTEMPT = 100  # a request's ``attempt``: 1..100 (retry actions allow at most 5)

CHECKS = Counter("otelguard_guard_checks_total", "Guard API decisions", ["stage", "verdict"])
CHECK_SECONDS = Histogram(
    "otelguard_guard_check_seconds",
    "Time to decide one guard check (cache hits included)",
    ["stage"],
    buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0),
)
CACHE = Counter("otelguard_guard_cache_total", "Guard result cache lookups", ["result"])
EVENTS_DROPPED = Counter(
    "otelguard_guardrail_events_dropped_total", "Guardrail events not written (queue full or store errors)"
)
EVENTS_WRITTEN = Counter("otelguard_guardrail_events_written_total", "Guardrail events written to ClickHouse")
POLICIES_LOADED = Gauge("otelguard_guard_policies_loaded", "Guardrail policies in the guard's snapshot")
POLICY_ERRORS = Gauge("otelguard_guard_policy_compile_errors", "GuardrailPolicy rows that did not compile")
RELOADS = Counter("otelguard_guard_reloads_total", "Guard policy snapshot swaps")


class EmptyText(GuardrailError, ValueError):
    """The text to check is missing or empty (400)."""


class InvalidAttempt(GuardrailError, ValueError):
    """``attempt`` is not an integer in 1..MAX_ATTEMPT (400)."""


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if not raw:
        return default
    value = int(raw)
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class GuardConfig:
    max_text_bytes: int = 256 * 1024  # per text (UTF-8); over it: 413
    max_batch_items: int = 100
    max_batch_bytes: int = 8 * 1024 * 1024  # a whole batch request body
    cache_size: int = 4096
    reload_interval_s: float = 2.0
    event_queue: int = 10_000  # decisions waiting for the writer
    event_batch: int = 2_000  # rows per insert
    event_flush_s: float = 0.5
    event_linger_s: float = 0.25  # a batch collects events for this long after its first
    alert_webhook_url: str | None = None  # alerts whose action names no url go here
    webhook_allow_networks: tuple[str, ...] = ()  # CIDRs webhooks may reach besides public addresses
    secret_ttl_s: float = 30.0  # how long a Secret-held webhook URL is cached
    webhook_queue: int = 1000  # deliveries waiting per sender (alerts; async callbacks)
    webhook_attempts: int = 4
    webhook_backoff_s: float = 0.5  # doubles after each failed attempt
    webhook_timeout_s: float = 5.0
    async_workers: int = 2
    async_max_pending: int = 1000  # async checks accepted but not yet decided
    async_ttl_s: float = 3600.0  # how long GET /guard/async/{id} answers
    async_max_jobs: int = 10_000

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, local: bool = False) -> GuardConfig:
        """``OTELGUARD_GUARD_MAX_BYTES``, ``OTELGUARD_GUARD_CACHE_SIZE``, ``OTELGUARD_ALERT_WEBHOOK_URL`` and
        ``OTELGUARD_WEBHOOK_ALLOW_NETWORKS`` (comma-separated CIDRs; unset: none, or with ``local`` the
        loopback and private networks) override the defaults. ValueError names the bad variable."""
        env = os.environ if env is None else env
        default = cls()
        raw_allow = env.get(ALLOW_NETWORKS_ENV)
        allow: tuple[str, ...]
        if raw_allow is None:
            allow = LOCAL_NETWORKS if local else ()
        else:
            allow = tuple(str(n) for n in parse_networks(raw_allow, ALLOW_NETWORKS_ENV))
        url = env.get("OTELGUARD_ALERT_WEBHOOK_URL") or None
        if url is not None:
            try:
                check_webhook_url(url)
                AddressPolicy(allow).check_literal(url)
            except ValueError as exc:
                raise ValueError(f"OTELGUARD_ALERT_WEBHOOK_URL: {exc}") from None
        return cls(
            max_text_bytes=_env_int(env, "OTELGUARD_GUARD_MAX_BYTES", default.max_text_bytes),
            cache_size=_env_int(env, "OTELGUARD_GUARD_CACHE_SIZE", default.cache_size),
            alert_webhook_url=url,
            webhook_allow_networks=allow,
        )

    def sender(self, name: str) -> WebhookSender:
        return WebhookSender(
            name,
            max_queue=self.webhook_queue,
            max_attempts=self.webhook_attempts,
            backoff_s=self.webhook_backoff_s,
            timeout_s=self.webhook_timeout_s,
            allow_networks=self.webhook_allow_networks,
        )

    @property
    def max_body_bytes(self) -> int:
        """A single check's request body: its texts (input + output + context) and JSON overhead."""
        return 3 * self.max_text_bytes * 2 + 64 * 1024  # escaped JSON may double the size


@dataclass(frozen=True, slots=True)
class GuardRequest:
    stage: str
    text: str | None
    input_text: str | None = None  # the prompt, when checking an output
    context: str | None = None
    model: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    trace_id: str = ""
    span_id: str = ""
    policy: str | None = None
    attempt: int = 1  # which attempt of the caller's LLM call: retry actions compare it with maxAttempts

    @classmethod
    def from_body(
        cls,
        stage: str,
        input: str | None,
        output: str | None,
        context: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        policy: str | None = None,
        *,
        attempt: int = 1,
    ) -> GuardRequest:
        meta = metadata or {}
        return cls(
            stage=stage,
            text=input if stage == "input" else output,
            input_text=input if stage == "output" else None,
            context=context,
            model=meta.get("model"),
            labels=dict(meta.get("labels") or {}),
            trace_id=meta.get("trace_id") or "",
            span_id=meta.get("span_id") or "",
            policy=policy,
            attempt=attempt,
        )


@dataclass(frozen=True, slots=True)
class Decision:
    result: GuardResult
    cached: bool
    latency_us: int

    def to_dict(self) -> dict[str, Any]:
        out = self.result.to_dict()
        out["cached"] = self.cached
        out["snapshotVersion"] = self.result.snapshot_version
        if self.cached:
            out["latencyUs"] = self.latency_us
        return out


# -- events ------------------------------------------------------------------------------------------------
_ID_PREFIX = os.urandom(6).hex()
_ID_SEQ = itertools.count()


@dataclass(frozen=True, slots=True)
class _Pending:
    result: GuardResult
    project_id: str
    trace_id: str
    span_id: str
    fresh: bool  # a cached result: new ids and timestamps
    at: float

    def rows(self) -> list[dict[str, Any]]:
        events: list[GuardrailEvent] = self.result.events
        out = []
        for event in events:
            changes: dict[str, Any] = {"project_id": self.project_id}
            if self.fresh:
                changes.update(
                    id=f"c{_ID_PREFIX}{next(_ID_SEQ):015x}",
                    timestamp=datetime.fromtimestamp(self.at, UTC),
                    trace_id=self.trace_id,
                    span_id=self.span_id,
                )
            out.append(dataclasses.replace(event, **changes).as_row())
        return out


EventSink = Callable[[Sequence[Mapping[str, Any]]], None]


class EventWriter:
    """A bounded queue of decisions and a thread inserting their events in batches."""

    def __init__(
        self,
        sink: EventSink,
        *,
        max_queue: int = 10_000,
        batch: int = 2_000,
        flush_s: float = 0.5,
        linger_s: float = 0.25,
    ) -> None:
        self._sink = sink
        self._linger_s = linger_s
        self._queue: queue.Queue[_Pending | None] = queue.Queue(max_queue)  # None wakes the thread
        self._batch = batch
        self._flush_s = flush_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="guardrail-events", daemon=True)
        self.written = 0
        self.dropped = 0

    def start(self) -> None:
        self._thread.start()

    def submit(self, item: _Pending) -> bool:
        try:
            self._queue.put_nowait(item)
            return True
        except queue.Full:
            n = len(item.result.pending_events)
            self.dropped += n
            EVENTS_DROPPED.inc(n)
            return False

    def _take(self) -> list[_Pending | None]:
        """The next batch: what arrives within ``linger_s`` of its first item (or until ``batch`` rows, or
        a wake-up). Lingering matters: at a few hundred checks per second, inserting whatever is queued
        the moment it arrives means ~100 tiny inserts per second, each holding the interpreter long enough
        to show in the guard API's p99; a batch per ``linger_s`` costs two or three."""
        try:
            first = self._queue.get(timeout=self._flush_s)
        except queue.Empty:
            return []
        items = [first]
        if first is None:
            return items
        rows = len(first.result.pending_events)
        deadline = time.monotonic() + self._linger_s
        while rows < self._batch:
            wait = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            items.append(item)
            if item is None:
                break
            rows += len(item.result.pending_events)
        return items

    def _run(self) -> None:
        while not (self._stop.is_set() and self._queue.empty()):
            items = self._take()
            if items:
                try:
                    rows = [row for item in items if item is not None for row in item.rows()]
                    if rows:
                        self._write(rows)
                finally:
                    for _ in items:
                        self._queue.task_done()

    def _write(self, rows: list[dict[str, Any]]) -> None:
        for attempt in range(3):
            try:
                self._sink(rows)
                self.written += len(rows)
                EVENTS_WRITTEN.inc(len(rows))
                return
            except Exception:
                log.exception("writing %d guardrail events failed (attempt %d)", len(rows), attempt + 1)
                if self._stop.is_set():
                    break
                time.sleep(0.2 * (attempt + 1))
        self.dropped += len(rows)
        EVENTS_DROPPED.inc(len(rows))

    def flush(self, timeout_s: float = 10.0) -> None:
        """Wait (bounded) until the queue is empty and its last batch written."""
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def close(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        if self._thread.is_alive():
            self._thread.join(timeout_s)


def clickhouse_event_sink(transport: ClickHouseTransport) -> EventSink:
    def sink(rows: Sequence[Mapping[str, Any]]) -> None:
        insert_guardrail_events(transport, rows)

    return sink


def postgres_policy_loader(db: postgres.Database) -> Callable[[], list[PolicyRow]]:
    def load() -> list[PolicyRow]:
        return [
            PolicyRow(
                f"{r.namespace}/{r.name}",
                r.version,
                r.spec,
                (r.namespace, r.name, r.version, r.spec_hash, r.updated_at),
            )
            for r in postgres.list_resources(db, "GuardrailPolicy")
        ]

    return load


# -- the service -------------------------------------------------------------------------------------------
def _visible(policy: CompiledPolicy, project_name: str) -> bool:
    projects = policy.selector.projects
    return not projects or project_name in projects


class GuardService:
    def __init__(
        self,
        loader: Callable[[], Sequence[PolicyRow]],
        sink: EventSink | None = None,
        config: GuardConfig | None = None,
        *,
        secrets: SecretResolver | None = None,
    ) -> None:
        """``secrets`` resolves alert ``urlSecretRef``s (namespace, name, key → value); without one such an
        alert fails with that reason."""
        self.config = config or GuardConfig()
        self.alert_sender = self.config.sender("guard-alerts")
        self.secrets = SecretStore(secrets, ttl_s=self.config.secret_ttl_s) if secrets is not None else None
        self.alert_sink = WebhookAlertSink(self.alert_sender, self.config.alert_webhook_url, self.secrets)
        self.source = PolicySource(
            loader,
            engine=Engine(alert_sink=self.alert_sink),
            reload_interval_s=self.config.reload_interval_s,
            on_reload=self._reloaded,
            label="guard",
        )
        self.engine = self.source.engine
        self._cache: OrderedDict[tuple[Any, ...], GuardResult] = OrderedDict()
        self._cache_lock = threading.Lock()
        self.writer = (
            EventWriter(
                sink,
                max_queue=self.config.event_queue,
                batch=self.config.event_batch,
                flush_s=self.config.event_flush_s,
                linger_s=self.config.event_linger_s,
            )
            if sink is not None
            else None
        )
        self.jobs = AsyncGuard(self)

    # -- lifecycle ---------------------------------------------------------------------------------------
    def start(self, *, poll: bool = True) -> GuardService:
        self.source.start(poll=poll)  # serves with no policies if the first load fails; the poller retries
        if self.writer is not None:
            self.writer.start()
        self.alert_sender.start()
        self.jobs.start()
        return self

    def close(self) -> None:
        self.source.close()
        self.jobs.close()
        self.alert_sender.close()
        if self.writer is not None:
            self.writer.close()

    @property
    def snapshot(self) -> Snapshot:
        return self.engine.snapshot

    @property
    def errors(self) -> dict[str, str]:
        """Policies that do not compile: name → error."""
        return self.source.errors

    def reload(self) -> bool:
        """Read the rows; swap the snapshot when they changed. True when a new snapshot was installed."""
        return self.source.reload()

    def _reloaded(self, source: PolicySource) -> None:
        POLICIES_LOADED.set(len(source.snapshot.policies))
        POLICY_ERRORS.set(len(source.errors))
        RELOADS.inc()
        with self._cache_lock:
            self._cache.clear()

    # -- checks ------------------------------------------------------------------------------------------
    def resolve_policy(self, snapshot: Snapshot, name: str, project_name: str) -> str:
        visible = [p for p in snapshot.policies if _visible(p, project_name)]
        exact = [p.name for p in visible if p.name == name]
        if exact:
            return exact[0]
        short = [p.name for p in visible if p.name.rpartition("/")[2] == name]
        if len(short) == 1:
            return short[0]
        raise UnknownPolicy([name])

    def validate(self, req: GuardRequest) -> str:
        if req.stage not in API_STAGES:
            raise UnknownStage(req.stage)
        attempt = req.attempt
        if type(attempt) is not int or not 1 <= attempt <= MAX_ATTEMPT:
            raise InvalidAttempt(f"attempt must be an integer from 1 to {MAX_ATTEMPT}, got {attempt!r}")
        text = req.text
        if text is None or text == "":
            field_name = "input" if req.stage == "input" else "output"
            raise EmptyText(f"{field_name} is required and must not be empty for stage {req.stage!r}")
        limit = self.config.max_text_bytes
        for value in (text, req.input_text, req.context):
            if value is None or (value.isascii() and len(value) <= limit):
                continue
            try:
                size = len(value.encode("utf-8"))
            except UnicodeEncodeError as exc:  # a lone surrogate escaped in the JSON
                raise InvalidText(f"text is not valid Unicode at character {exc.start}") from None
            if size > limit:
                raise InputTooLarge(size, limit, "bytes")
        return text

    def check(self, req: GuardRequest, *, project_id: str, project_name: str) -> Decision:
        """Decide; raises UnknownStage/EmptyText (400), InputTooLarge (413), UnknownPolicy (404)."""
        started = time.perf_counter_ns()
        text = self.validate(req)
        snapshot = self.engine.snapshot  # this check's snapshot, whatever reloads happen meanwhile
        policy = self.resolve_policy(snapshot, req.policy, project_name) if req.policy else None
        labels = tuple(sorted(req.labels.items()))
        digest = hashlib.blake2b(digest_size=16)
        for part in (text, req.input_text, req.context):
            digest.update(b"\x01" if part is None else b"\x00" + str(len(part)).encode() + b":")
            if part:
                digest.update(part.encode("utf-8"))
        key = (
            digest.digest(),
            req.stage,
            req.attempt,  # a retry's decision depends on it
            project_name,
            req.model,
            labels,
            policy,
            snapshot.version,
        )
        with self._cache_lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
        if hit is not None:
            CACHE.labels("hit").inc()
            result, cached = hit, True
        else:
            CACHE.labels("miss").inc()
            meta = RequestMeta(project_name, req.model, dict(req.labels), req.trace_id, req.span_id)
            result = snapshot.evaluate(
                text,
                req.stage,  # type: ignore[arg-type]  # validated above
                meta,
                input_text=req.input_text,
                attempt=req.attempt,
                policies=None if policy is None else (policy,),
                context=req.context,
            )
            cached = False
            if self.config.cache_size > 0:
                with self._cache_lock:
                    self._cache[key] = result
                    if len(self._cache) > self.config.cache_size:
                        self._cache.popitem(last=False)
        if result.pending_events and self.writer is not None:
            self.writer.submit(_Pending(result, project_id, req.trace_id, req.span_id, cached, time.time()))
        elapsed = time.perf_counter_ns() - started
        CHECKS.labels(req.stage, result.verdict).inc()
        CHECK_SECONDS.labels(req.stage).observe(elapsed / 1e9)
        return Decision(result, cached, elapsed // 1000)


# -- async checks ------------------------------------------------------------------------------------------
class AsyncQueueFull(Exception):
    """Too many async checks waiting (429)."""


@dataclass(slots=True)
class AsyncJob:
    id: str
    project_id: str
    callback_url: str
    created: float
    status: str = "pending"  # pending → done | error
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    callback: dict[str, Any] = field(
        default_factory=lambda: {"status": "pending", "attempts": 0, "httpStatus": None, "error": None}
    )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "createdAt": datetime.fromtimestamp(self.created, UTC).isoformat(),
            "result": self.result,
            "error": self.error,
            "callback": dict(self.callback),
        }


class AsyncGuard:
    """Async checks: accepted (validated) now, decided on a thread pool, delivered to a callback URL."""

    def __init__(self, service: GuardService) -> None:
        self.service = service
        config = service.config
        self.sender = config.sender("guard-callbacks")
        self._pool: ThreadPoolExecutor | None = None
        self._jobs: OrderedDict[str, AsyncJob] = OrderedDict()
        self._lock = threading.Lock()
        self._pending = 0

    def start(self) -> None:
        self.sender.start()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.service.config.async_workers, "guard-async")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        self.sender.close()

    def submit(self, req: GuardRequest, callback_url: str, *, project_id: str, project_name: str) -> AsyncJob:
        """Accept a check. Raises ValueError (bad callback URL, or an IP address webhooks may not reach:
        host names are checked at delivery), the sync API's errors (bad request, unknown policy) and
        AsyncQueueFull."""
        check_webhook_url(callback_url)
        self.sender.addresses.check_literal(callback_url)
        self.service.validate(req)
        if req.policy:
            self.service.resolve_policy(self.service.snapshot, req.policy, project_name)
        config = self.service.config
        now = time.time()
        with self._lock:
            if self._pool is None:
                raise AsyncQueueFull("the async guard is not running")
            if self._pending >= config.async_max_pending:
                raise AsyncQueueFull(f"{self._pending} async checks are waiting; try again later")
            self._expire(now)
            job = AsyncJob(f"ga_{os.urandom(12).hex()}", project_id, callback_url, now)
            self._jobs[job.id] = job
            self._pending += 1
        self._pool.submit(self._run, job, req, project_name)
        return job

    def get(self, job_id: str, project_id: str) -> AsyncJob | None:
        """The job, if it exists, has not expired and belongs to the caller's project."""
        with self._lock:
            self._expire(time.time())
            job = self._jobs.get(job_id)
        return job if job is not None and job.project_id == project_id else None

    def _expire(self, now: float) -> None:
        ttl, cap = self.service.config.async_ttl_s, self.service.config.async_max_jobs
        while self._jobs:
            oldest = next(iter(self._jobs.values()))
            if now - oldest.created < ttl and (len(self._jobs) < cap or oldest.status == "pending"):
                break
            del self._jobs[oldest.id]

    def _run(self, job: AsyncJob, req: GuardRequest, project_name: str) -> None:
        try:
            decision = self.service.check(req, project_id=job.project_id, project_name=project_name)
            job.result, job.status = decision.to_dict(), "done"
        except GuardrailError as exc:  # e.g. the named policy was removed meanwhile
            job.error, job.status = {"message": str(exc), "type": type(exc).__name__}, "error"
        except Exception as exc:
            log.exception("async guard check %s failed", job.id)
            job.error, job.status = {"message": "internal error", "type": type(exc).__name__}, "error"
        finally:
            with self._lock:
                self._pending -= 1
        payload = {"id": job.id, "status": job.status, "result": job.result, "error": job.error}
        if not self.sender.submit(Delivery(job.callback_url, payload, lambda r: self._delivered(job, r))):
            job.callback = {**job.callback, "status": "dropped", "error": "callback queue full"}

    @staticmethod
    def _delivered(job: AsyncJob, result: DeliveryResult) -> None:
        job.callback = {
            "status": "delivered" if result.ok else "refused" if result.refused else "failed",
            "attempts": result.attempts,
            "httpStatus": result.status,
            "error": result.error,
        }
