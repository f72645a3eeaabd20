"""The score drain: moves score rows the workers queued in Redis into ClickHouse.

One drain writes at a time (a Redis lock, renewed while it works), so several platform processes can
run one each. Rows are read, inserted, then trimmed: a crash in between re-inserts the same rows,
which the ``scores`` table's deduplication by id absorbs.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import redis

from otelguard.evals.stats import SCORE_QUEUE

__all__ = ["ScoreDrain", "score_row"]

log = logging.getLogger(__name__)

LOCK_KEY = "otelguard:eval:drain-lock"
LOCK_TTL_MS = 30_000


def score_row(queued: Mapping[str, Any]) -> dict[str, Any]:
    """A queued row as a ``scores`` table row (``timestamp_ns`` → ``timestamp``)."""
    row = {k: v for k, v in queued.items() if k != "timestamp_ns"}
    row["timestamp"] = int(queued["timestamp_ns"])  # exact: a re-inserted row must dedupe on the same key
    return row


class ScoreDrain:
    def __init__(
        self,
        client: redis.Redis,
        insert: Callable[[Sequence[Mapping[str, Any]]], object],
        *,
        batch: int = 5000,
        interval_s: float = 0.25,
    ) -> None:
        self._redis = client
        self._insert = insert
        self._batch = batch
        self._interval_s = interval_s
        self._me = f"{socket.gethostname()}:{os.getpid()}:{id(self)}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.written = 0
        self.failures = 0

    def start(self) -> ScoreDrain:
        self._thread = threading.Thread(target=self._run, name="otelguard-score-drain", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        try:
            self.drain_once()  # what the workers queued before the stop
        except Exception:
            log.exception("score drain: final drain failed; the rows stay queued in Redis")

    def _locked(self) -> bool:
        if self._redis.set(LOCK_KEY, self._me, nx=True, px=LOCK_TTL_MS):
            return True
        holder = self._redis.get(LOCK_KEY)
        if holder is not None and (holder.decode() if isinstance(holder, bytes) else holder) == self._me:
            self._redis.pexpire(LOCK_KEY, LOCK_TTL_MS)
            return True
        return False

    def drain_once(self) -> int:
        """Write up to one batch; returns how many rows were written (0: nothing queued or not our turn)."""
        if not self._locked():
            return 0
        raw = self._redis.lrange(SCORE_QUEUE, 0, self._batch - 1)
        if not raw:
            return 0
        rows: list[dict[str, Any]] = []
        for item in raw:
            try:
                rows.append(score_row(json.loads(item)))
            except (ValueError, KeyError, TypeError):  # never block the queue on one bad row
                log.error("score drain: dropping a malformed queued row: %r", item[:200])
        if rows:
            self._insert(rows)
        self._redis.ltrim(SCORE_QUEUE, len(raw), -1)
        self.written += len(rows)
        return len(rows)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                n = self.drain_once()
            except Exception:
                self.failures += 1
                log.exception("score drain: write failed; retrying")
                self._stop.wait(min(5.0, self._interval_s * 2 ** min(self.failures, 4)))
                continue
            self.failures = 0
            if n < self._batch:
                self._stop.wait(self._interval_s)
