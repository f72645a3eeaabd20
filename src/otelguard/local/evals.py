"""The evaluation side of ``otelguard up``: eval worker processes, the span enqueuer, the score drain,
and Evaluator status from the workers' counters.

Workers are ``otelguard worker`` child processes (Celery on the embedded Redis); they die with this
process (``PR_SET_PDEATHSIG``) so a killed ``up`` leaves no orphans behind. Only this process writes
the embedded chDB, hence the drain runs here.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import redis

from otelguard.evals.app import create_celery
from otelguard.evals.drain import ScoreDrain
from otelguard.evals.selection import EvalEnqueuer, postgres_snapshot
from otelguard.evals.stats import read_stats, status_fields
from otelguard.model import SpanRecord
from otelguard.storage import postgres
from otelguard.storage.clickhouse import ClickHouseTransport
from otelguard.storage.clickhouse.scores import insert_scores

__all__ = ["LocalEvals", "update_evaluator_statuses"]

log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def update_evaluator_statuses(db: postgres.Database, client: redis.Redis) -> int:
    """Copy the workers' counters into each local Evaluator's status; returns how many were written."""
    written = 0
    for obj in postgres.list_local_objects(db, "Evaluator"):
        stats = read_stats(client, f"{obj.namespace}/{obj.name}")
        if stats.last_run is None:  # no worker has run it yet: nothing to report, nothing to write
            continue
        fields = status_fields(stats)
        if all(obj.status.get(k) == v for k, v in fields.items()):
            continue
        try:
            put = postgres.put_local_object(
                db,
                kind=obj.kind,
                namespace=obj.namespace,
                name=obj.name,
                generation=obj.generation,
                manifest=obj.manifest,
                status={**obj.status, **fields},
                source=obj.source,
                origin=obj.origin,
                expected_version=obj.resource_version,
            )
        except postgres.ConflictError:  # reconciled meanwhile: the next round writes the counters
            continue
        written += int(put.written)
    return written


class LocalEvals:
    def __init__(
        self,
        db: postgres.Database,
        clickhouse: ClickHouseTransport,
        redis_url: str,
        *,
        workers: int = 1,
        concurrency: int = 8,
        manifests: Path | None = None,
        local_statuses: bool = True,
        status_interval_s: float = 2.0,
    ) -> None:
        """``local_statuses``: copy the workers' counters into local Evaluator objects (``otelguard up``); a
        cluster's collector leaves that to the operator, so it polls nothing."""
        self._db = db
        self._redis_url = redis_url
        self._redis = redis.Redis.from_url(redis_url)
        self._workers = workers
        self._concurrency = concurrency
        self._manifests = manifests
        self._status_interval_s = status_interval_s
        self._local_statuses = local_statuses
        self._procs: list[subprocess.Popen[bytes]] = []
        self._stop = threading.Event()
        self._status_thread: threading.Thread | None = None
        self.enqueuer = EvalEnqueuer(create_celery(redis_url), postgres_snapshot(db))
        self.drain = ScoreDrain(self._redis, lambda rows: insert_scores(clickhouse, None, rows))

    def _worker_command(self) -> list[str]:
        cmd = [sys.executable, "-c", "from otelguard.cli import main; main()", "worker"]
        cmd += ["--pool", "threads", "--concurrency", str(self._concurrency)]
        if self._manifests is not None:
            cmd += ["--manifests", str(self._manifests)]
        return cmd

    def start(self) -> LocalEvals:
        env = {**os.environ, "OTELGUARD_REDIS_URL": self._redis_url}
        for _ in range(self._workers):
            self._procs.append(
                subprocess.Popen(self._worker_command(), env=env, preexec_fn=_die_with_parent)  # noqa: PLW1509
            )
        self.enqueuer.start()
        self.drain.start()
        if self._local_statuses:
            self._status_thread = threading.Thread(
                target=self._statuses, name="otelguard-eval-status", daemon=True
            )
            self._status_thread.start()
        return self

    def offer(self, records: Sequence[SpanRecord]) -> None:
        self.enqueuer.offer(records)

    def _statuses(self) -> None:
        while not self._stop.wait(self._status_interval_s):
            try:
                update_evaluator_statuses(self._db, self._redis)
            except Exception:
                log.exception("evaluator status update failed")

    def stop(self) -> None:
        self._stop.set()
        self.enqueuer.stop()
        for proc in self._procs:  # Celery's warm shutdown: running tasks finish, the rest stay queued
            proc.send_signal(signal.SIGTERM)
        for proc in self._procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.drain.stop()
        if self._status_thread is not None:
            self._status_thread.join(5)
            with contextlib.suppress(Exception):
                update_evaluator_statuses(self._db, self._redis)
        self._redis.close()
