"""The ``otelguard.evaluate`` task: score one batch of spans with one evaluator version.

A message carries the evaluator's spec snapshot and the spans' content (``EvalSubject``), so workers
need neither ClickHouse nor Postgres: results go back through Redis (``stats``). Transient failures
(timeouts, 429, 5xx) retry the unfinished part of the batch with backoff; permanent ones, and
transient ones after the last retry, become dead letters and count as errors.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import redis
from celery import Celery, Task

from otelguard.api.v1alpha1.evaluator import EvaluatorSpec
from otelguard.evals.app import EVALUATE_TASK
from otelguard.evals.registry import Evaluator, build_evaluator
from otelguard.evals.result import Evaluation, PermanentEvalError, TransientEvalError
from otelguard.evals.stats import record_batch, record_dead, undone
from otelguard.evals.subject import EvalSubject

__all__ = [
    "MAX_RETRIES",
    "BatchOutcome",
    "EvalRuntime",
    "SecretResolver",
    "register_tasks",
    "score_id",
]

log = logging.getLogger(__name__)

MAX_RETRIES = 5
# (namespace, secret name, key) -> value, or None when it does not exist
SecretResolver = Callable[[str, str, str], str | None]


def score_id(evaluator: str, version: int, span_id: str) -> str:
    """Deterministic, so a span scored twice (a redelivered message) is one row after dedup."""
    return hashlib.blake2b(f"{evaluator}:{version}:{span_id}".encode(), digest_size=16).hexdigest()


@dataclass(slots=True)
class BatchOutcome:
    scored: int = 0
    skipped: int = 0  # already scored by this evaluator version
    dead: int = 0
    retry: list[dict[str, Any]] = field(default_factory=list)  # subjects to try again
    retry_after: float | None = None


def _row(ref: str, version: int, spec: EvaluatorSpec, s: EvalSubject, e: Evaluation) -> dict[str, Any]:
    return {
        "id": score_id(ref, version, s.span_id),
        "project_id": s.project_id,
        "trace_id": s.trace_id,
        "span_id": s.span_id,
        "session_id": s.session_id,
        "name": spec.score.name,
        "value": float(e.value),
        "string_value": e.string_value,
        "data_type": e.data_type,
        "source": "evaluator",
        "comment": e.comment,
        "evaluator_name": ref,
        "evaluator_version": str(version),
        "timestamp_ns": s.start_ns,
    }


class EvalRuntime:
    """Per worker process: built evaluators cached by (evaluator, version), and the Redis client."""

    def __init__(self, client: redis.Redis, secrets: SecretResolver) -> None:
        self.redis = client
        self._secrets = secrets
        self._lock = threading.Lock()
        self._evaluators: dict[tuple[str, int], Evaluator] = {}

    def _evaluator(self, namespace: str, ref: str, version: int, spec: EvaluatorSpec) -> Evaluator:
        with self._lock:
            found = self._evaluators.get((ref, version))
            if found is not None:
                return found
            api_key = None
            secret = spec.judge.api_key_secret_ref if spec.judge is not None else None
            if secret is not None:
                api_key = self._secrets(namespace, secret.name, secret.key)
                if api_key is None:
                    where = "spec.judge.apiKeySecretRef"
                    raise PermanentEvalError(
                        f"Secret {namespace}/{secret.name} has no key {secret.key!r} ({where})"
                    )
            built = build_evaluator(spec, api_key=api_key)
            for (old_ref, old_version), old in list(self._evaluators.items()):
                if old_ref == ref and old_version != version:  # a newer version replaces it
                    del self._evaluators[(old_ref, old_version)]
                    old.close()
            self._evaluators[(ref, version)] = built
            return built

    def close(self) -> None:
        with self._lock:
            for e in self._evaluators.values():
                e.close()
            self._evaluators.clear()

    def run(self, payload: Mapping[str, Any], *, final_attempt: bool) -> BatchOutcome:
        meta = payload["evaluator"]
        namespace, name, version = str(meta["namespace"]), str(meta["name"]), int(meta["version"])
        ref = f"{namespace}/{name}"
        spec = EvaluatorSpec.model_validate(meta["spec"])
        subjects: list[EvalSubject] = []
        dead: list[dict[str, Any]] = []
        for raw in payload["subjects"]:
            try:
                subjects.append(EvalSubject.from_dict(raw))
            except PermanentEvalError as exc:  # a corrupt message part: recorded, the rest is scored
                span_id = raw.get("span_id") if isinstance(raw, Mapping) else None
                dead.append({"version": version, "span_id": str(span_id or ""), "error": str(exc)})
        todo = undone(self.redis, ref, version, [s.span_id for s in subjects])
        pending = [s for s, open_ in zip(subjects, todo, strict=True) if open_]
        out = BatchOutcome(skipped=len(subjects) - len(pending))
        rows: list[dict[str, Any]] = []
        cost = 0.0
        try:
            evaluator = self._evaluator(namespace, ref, version, spec)
        except PermanentEvalError as exc:
            evaluator, failure = None, str(exc)
        except Exception as exc:  # a spec the controller accepted but the builder refuses: a bug, not a retry
            log.exception("evaluator %s v%d cannot be built", ref, version)
            evaluator, failure = None, f"evaluator cannot be built: {exc}"
        for i, subject in enumerate(pending):
            if evaluator is None:
                dead.append(_dead(subject, version, failure))
                continue
            try:
                result = evaluator.evaluate(subject)
            except TransientEvalError as exc:
                if final_attempt:
                    dead.append(_dead(subject, version, f"gave up after {MAX_RETRIES} retries: {exc}"))
                    continue
                # Stop here: hammering a rate-limited judge with the rest of the batch only makes it worse.
                out.retry = [s.to_dict() for s in pending[i:]]
                out.retry_after = exc.retry_after
                break
            except PermanentEvalError as exc:
                dead.append(_dead(subject, version, str(exc)))
                continue
            except Exception as exc:
                log.exception("evaluator %s v%d failed on span %s", ref, version, subject.span_id)
                dead.append(_dead(subject, version, f"{type(exc).__name__}: {exc}"))
                continue
            rows.append(_row(ref, version, spec, subject, result))
            cost += result.judge_cost_usd
        if rows or cost:
            record_batch(self.redis, ref, version, rows, judge_cost_usd=cost)
        out.scored = len(rows)
        out.dead = record_dead(self.redis, ref, dead)
        return out


def _dead(subject: EvalSubject, version: int, reason: str) -> dict[str, Any]:
    return {
        "version": version,
        "project_id": subject.project_id,
        "trace_id": subject.trace_id,
        "span_id": subject.span_id,
        "error": reason,
    }


def register_tasks(app: Celery, runtime: Callable[[], EvalRuntime]) -> None:
    """Register ``otelguard.evaluate`` on ``app``; ``runtime`` is called in the worker (after a fork)."""

    @app.task(bind=True, name=EVALUATE_TASK, max_retries=MAX_RETRIES)  # type: ignore[untyped-decorator]
    def evaluate(self: Task, payload: dict[str, Any]) -> dict[str, int]:
        retries = int(self.request.retries or 0)
        out = runtime().run(payload, final_attempt=retries >= MAX_RETRIES)
        if out.retry:
            countdown = out.retry_after if out.retry_after is not None else min(60.0, 2.0 ** (retries + 1))
            raise self.retry(args=[{**payload, "subjects": out.retry}], countdown=countdown)
        return {"scored": out.scored, "skipped": out.skipped, "dead": out.dead}
