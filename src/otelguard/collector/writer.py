"""The batch writer: durable queue → store, retrying a failing store with backoff instead of dropping."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from otelguard.collector import metrics
from otelguard.collector.durable_queue import Batch, DurableQueue
from otelguard.model import SpanRecord

log = logging.getLogger(__name__)

# Insert ``records`` idempotently: a repeated ``dedup_token`` must not store the rows twice.
InsertFn = Callable[[Sequence[SpanRecord], str], None]
# Called after a batch is committed (e.g. to enqueue evaluations of the new spans).
AfterWriteFn = Callable[[Sequence[SpanRecord]], None]


class BatchWriter:
    def __init__(
        self,
        queue: DurableQueue,
        insert: InsertFn,
        *,
        max_rows: int,
        max_wait_s: float,
        after_write: Sequence[AfterWriteFn] = (),
        max_backoff_s: float = 10.0,
    ) -> None:
        self.queue = queue
        self.insert = insert
        self.max_rows = max_rows
        self.max_wait_s = max_wait_s
        self.after_write = list(after_write)
        self.max_backoff_s = max_backoff_s
        self._stop = threading.Event()
        self._give_up_at: float | None = None
        self._thread = threading.Thread(target=self._run, name="otelguard-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while True:
            batch = self.queue.take_batch(self.max_rows, self.max_wait_s)
            if batch is None:
                if self._stop.is_set() and self.queue.is_drained():
                    return
                continue
            if not self._write(batch):
                return  # gave up during shutdown: the batch stays in the spool for the next start

    def _write(self, batch: Batch) -> bool:
        token = batch.token(self.queue.spool.spool_id)
        self.queue.spool.record_intent(batch.first_seq, batch.last_seq)
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                if batch.records:
                    self.insert(batch.records, token)
            except Exception as exc:  # any store failure is retried; the data is safe in the spool
                attempt += 1
                metrics.WRITE_ERRORS.inc()
                delay = min(self.max_backoff_s, 0.1 * 2**attempt)
                log.warning("store write failed (attempt %d, retrying in %.1fs): %s", attempt, delay, exc)
                if self._give_up_at is not None and time.monotonic() + delay > self._give_up_at:
                    log.error("store still failing at shutdown; %d spans stay spooled", len(batch.records))
                    return False
                time.sleep(delay)
                continue
            metrics.FLUSH_SECONDS.observe(time.perf_counter() - started)
            metrics.SPANS_WRITTEN.inc(len(batch.records))
            self.queue.committed(batch)
            for hook in self.after_write:
                try:
                    hook(batch.records)
                except Exception:
                    log.exception("after-write hook failed")
            return True

    def stop(self, timeout_s: float = 30.0) -> None:
        """Drain everything already accepted, then stop (giving up on a dead store after ``timeout_s``)."""
        self._give_up_at = time.monotonic() + timeout_s
        self._stop.set()
        self._thread.join(timeout_s + 5)
