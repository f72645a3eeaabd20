"""Batch evaluation over a past time range: stored spans through one Evaluator's selection, onto the
eval queue. The API server reads the spans (it holds the ClickHouse connection) and hands them here."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from celery import Celery

from otelguard.evals.app import EVAL_QUEUE, EVALUATE_TASK
from otelguard.evals.selection import Snapshot, SpanLike, active_evaluator, build_payloads
from otelguard.storage import postgres

__all__ = ["BackfillResult", "CeleryEvaluationQueue"]


@dataclass(frozen=True, slots=True)
class BackfillResult:
    matched: int  # spans that match the target and the sampling rate
    tasks: int


class CeleryEvaluationQueue:
    """Enqueues spans for one evaluator (selection and sampling as at ingest, ignoring ``suspend``: a
    backfill is an explicit request). Spans an evaluator version already scored are skipped by the
    workers, so running the same backfill twice scores nothing twice."""

    def __init__(self, app: Celery) -> None:
        self._app = app

    def backfill(
        self, evaluator: postgres.StoredResource, project_name: str, spans: Sequence[SpanLike]
    ) -> BackfillResult:
        active = active_evaluator(evaluator)
        if active is None:
            raise ValueError(
                f"Evaluator {evaluator.namespace}/{evaluator.name}: its stored spec is not valid"
            )
        project_names = {s.project_id: project_name for s in spans}
        payloads = build_payloads(Snapshot((active,), project_names), spans, time.time())
        with self._app.producer_or_acquire() as producer:
            for p in payloads:
                self._app.send_task(EVALUATE_TASK, args=[p], queue=EVAL_QUEUE, producer=producer)
        return BackfillResult(sum(len(p["subjects"]) for p in payloads), len(payloads))
