"""Which freshly written spans each Evaluator scores, and handing them to the eval workers.

The collector calls ``EvalEnqueuer.offer`` after a batch is durably written; matching and sending happen
on the enqueuer's own thread, so ingestion never waits for Redis. Evaluators (``resources`` rows of kind
Evaluator) and project names are re-read every ``refresh_s``. Sampling is deterministic (a hash of the
span id and the evaluator), so a replayed batch samples the same spans.
"""

from __future__ import annotations

import contextlib
import fnmatch
import logging
import queue
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from celery import Celery

from otelguard.api.v1alpha1.evaluator import EvaluatorSpec
from otelguard.evals.app import EVAL_QUEUE, EVALUATE_TASK
from otelguard.evals.message_text import message_text
from otelguard.evals.subject import EvalSubject
from otelguard.model import SpanRecord
from otelguard.storage import postgres

__all__ = [
    "ActiveEvaluator",
    "EvalEnqueuer",
    "Snapshot",
    "SpanLike",
    "active_evaluator",
    "build_payloads",
    "postgres_snapshot",
    "sampled",
    "subject_from_record",
]

log = logging.getLogger(__name__)

BATCH_SIZE = 64  # spans per task: big enough to amortise a message, small enough to spread over workers
FIELD_LIMIT = 16 * 1024  # characters of input/output carried to the worker
ATTRIBUTE_LIMIT = 1024  # longer attribute values stay behind (payloads are input/output)
EXPECTED_ATTR = "otelguard.eval.expected"
CONTEXT_ATTR = "otelguard.eval.context"


class SpanLike(Protocol):
    """What selection reads of a span: a fresh ``SpanRecord`` or a stored span read back for a backfill."""

    @property
    def project_id(self) -> str: ...
    @property
    def trace_id(self) -> str: ...
    @property
    def span_id(self) -> str: ...
    @property
    def session_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def model(self) -> str: ...
    @property
    def tags(self) -> list[str]: ...
    @property
    def prompt_name(self) -> str: ...
    @property
    def prompt_version(self) -> int: ...
    @property
    def input(self) -> str: ...
    @property
    def output(self) -> str: ...
    @property
    def start_time(self) -> int: ...
    @property
    def end_time(self) -> int: ...
    @property
    def total_cost(self) -> float: ...
    @property
    def cost_source(self) -> str: ...
    @property
    def status_code(self) -> str: ...
    @property
    def attributes(self) -> Mapping[str, str]: ...


@dataclass(frozen=True, slots=True)
class ActiveEvaluator:
    namespace: str
    name: str
    version: int
    spec: EvaluatorSpec
    spec_json: dict[str, Any]  # as stored (camelCase): what the worker validates again

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"

    def matches(self, record: SpanLike, project_name: str | None) -> bool:
        t = self.spec.target
        if t.projects and project_name not in t.projects:
            return False
        if t.span_kinds and record.kind not in t.span_kinds:
            return False
        if t.models and not any(fnmatch.fnmatchcase(record.model, m) for m in t.models):
            return False
        if t.tags and not set(t.tags).issubset(record.tags):
            return False
        if t.prompt_name is not None and record.prompt_name != t.prompt_name:
            return False
        return t.prompt_version is None or record.prompt_version == t.prompt_version


@dataclass(frozen=True, slots=True)
class Snapshot:
    evaluators: tuple[ActiveEvaluator, ...]
    project_names: dict[str, str]  # project id -> name


def sampled(span_id: str, evaluator: str, rate: float) -> bool:
    if rate >= 1.0:
        return True
    if rate <= 0.0:
        return False
    return zlib.crc32(f"{evaluator}\x00{span_id}".encode()) < rate * 0x1_0000_0000


def subject_from_record(r: SpanLike) -> EvalSubject:
    return EvalSubject(
        project_id=r.project_id,
        trace_id=r.trace_id,
        span_id=r.span_id,
        session_id=r.session_id,
        name=r.name,
        kind=r.kind,
        model=r.model,
        input=message_text(r.input)[:FIELD_LIMIT],
        output=message_text(r.output)[:FIELD_LIMIT],
        start_ns=r.start_time,
        latency_ms=max(0, r.end_time - r.start_time) / 1e6,
        cost_usd=r.total_cost if r.cost_source else None,
        status_error=r.status_code == "error",
        attributes={k: v for k, v in r.attributes.items() if len(v) <= ATTRIBUTE_LIMIT},
        expected=r.attributes.get(EXPECTED_ATTR),
        context=r.attributes.get(CONTEXT_ATTR),
    )


def payload(evaluator: ActiveEvaluator, subjects: Sequence[EvalSubject], now: float) -> dict[str, Any]:
    return {
        "evaluator": {
            "namespace": evaluator.namespace,
            "name": evaluator.name,
            "version": evaluator.version,
            "spec": evaluator.spec_json,
        },
        "subjects": [s.to_dict() for s in subjects],
        "enqueued_at": now,
    }


def build_payloads(snapshot: Snapshot, records: Iterable[SpanLike], now: float) -> list[dict[str, Any]]:
    """The task payloads for ``records``: per evaluator, its matching sampled spans in batches."""
    chosen: dict[str, list[EvalSubject]] = {}
    for record in records:
        project = snapshot.project_names.get(record.project_id)
        for ev in snapshot.evaluators:
            if ev.matches(record, project) and sampled(record.span_id, ev.ref, ev.spec.sampling_rate):
                chosen.setdefault(ev.ref, []).append(subject_from_record(record))
    by_ref = {ev.ref: ev for ev in snapshot.evaluators}
    out: list[dict[str, Any]] = []
    for ref, subjects in chosen.items():
        for i in range(0, len(subjects), BATCH_SIZE):
            out.append(payload(by_ref[ref], subjects[i : i + BATCH_SIZE], now))
    return out


def active_evaluator(row: postgres.StoredResource) -> ActiveEvaluator | None:
    """The stored Evaluator row as a selector; None when its spec no longer validates (stored by an older
    release with a different schema: skipped, never stalling selection)."""
    try:
        spec = EvaluatorSpec.model_validate(row.spec)
    except ValueError:
        log.warning("Evaluator %s/%s: stored spec no longer validates", row.namespace, row.name)
        return None
    return ActiveEvaluator(row.namespace, row.name, row.version, spec, row.spec)


def postgres_snapshot(db: postgres.Database) -> Callable[[], Snapshot]:
    def load() -> Snapshot:
        evaluators = []
        for row in postgres.list_resources(db, "Evaluator"):
            found = active_evaluator(row)
            if found is not None and not found.spec.suspend:
                evaluators.append(found)
        names = {p.id: p.name for p in postgres.list_projects(db)}
        return Snapshot(tuple(evaluators), names)

    return load


class EvalEnqueuer:
    """A bounded hand-off from the collector's writer to the eval queue (spans over the bound are not
    evaluated, and counted in ``dropped``: evaluation is sampling, ingestion must not stall for it)."""

    def __init__(
        self,
        app: Celery,
        load: Callable[[], Snapshot],
        *,
        refresh_s: float = 2.0,
        max_pending: int = 256,
    ) -> None:
        self._app = app
        self._load = load
        self._refresh_s = refresh_s
        self._queue: queue.Queue[list[SpanRecord] | None] = queue.Queue(maxsize=max_pending)
        self._snapshot = Snapshot((), {})
        self._loaded_at = float("-inf")
        self._thread: threading.Thread | None = None
        self.enqueued_tasks = 0
        self.enqueued_spans = 0
        self.dropped = 0

    def start(self) -> EvalEnqueuer:
        self._thread = threading.Thread(target=self._run, name="otelguard-eval-enqueuer", daemon=True)
        self._thread.start()
        return self

    def offer(self, records: Sequence[SpanRecord]) -> None:
        try:
            self._queue.put_nowait(list(records))
        except queue.Full:
            self.dropped += len(records)

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is None:
            return
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=timeout)
        self._thread.join(timeout)
        self._thread = None

    def _snapshot_now(self) -> Snapshot:
        now = time.monotonic()
        if now - self._loaded_at >= self._refresh_s:
            try:
                self._snapshot = self._load()
            except Exception:
                log.exception("eval selection: cannot load evaluators; keeping the previous set")
            self._loaded_at = now
        return self._snapshot

    def _run(self) -> None:
        while True:
            records = self._queue.get()
            if records is None:
                return
            snapshot = self._snapshot_now()
            if not snapshot.evaluators:
                continue
            try:
                payloads = build_payloads(snapshot, records, time.time())
                with self._app.producer_or_acquire() as producer:
                    for p in payloads:
                        self._app.send_task(EVALUATE_TASK, args=[p], queue=EVAL_QUEUE, producer=producer)
                        self.enqueued_tasks += 1
                        self.enqueued_spans += len(p["subjects"])
            except Exception:
                log.exception("eval selection: cannot enqueue %d spans", len(records))
                self.dropped += len(records)
