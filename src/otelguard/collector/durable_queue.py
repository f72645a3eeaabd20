"""The collector's bounded, durable hand-off between receivers and the store writer.

Receivers ``submit`` a request's normalized spans together with its encoded payload. A spool thread appends
pending submissions to the spool, fsyncs once for the whole group (group commit), then makes them visible to
the writer in sequence order and only then resolves the receivers' futures: an acknowledgement always means
"on disk". The writer takes batches of whole requests (a contiguous sequence range), inserts them with a
deduplication token derived from that range, and commits the range.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from otelguard.collector.errors import QueueFull, ShuttingDown
from otelguard.collector.spool import Spool
from otelguard.model import SpanRecord


@dataclass(slots=True)
class Batch:
    first_seq: int
    last_seq: int
    records: list[SpanRecord] = field(default_factory=list)

    def token(self, spool_id: str) -> str:
        return f"{spool_id}:{self.first_seq}-{self.last_seq}"


@dataclass(slots=True)
class _Submission:
    project_id: str
    payload: bytes
    records: Sequence[SpanRecord]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[int]


def _resolve(future: asyncio.Future[int], seq: int | BaseException) -> None:
    if future.done():
        return
    if isinstance(seq, BaseException):
        future.set_exception(seq)
    else:
        future.set_result(seq)


class DurableQueue:
    def __init__(self, spool: Spool, *, max_spans: int) -> None:
        self.spool = spool
        self.max_spans = max_spans
        self._lock = threading.Condition()
        self._incoming: list[_Submission] = []
        self._ready: deque[tuple[int, Sequence[SpanRecord]]] = deque()
        self._held_spans = 0  # submitted and not yet committed to the store: the memory bound
        self._forced_last: int | None = None
        self._closing = False
        self._thread = threading.Thread(target=self._spool_loop, name="otelguard-spool", daemon=True)
        self._thread.start()

    # -- receiver side ----------------------------------------------------------------------------------
    @property
    def held_spans(self) -> int:
        return self._held_spans

    def submit(self, project_id: str, payload: bytes, records: Sequence[SpanRecord]) -> asyncio.Future[int]:
        """Queue a request; the returned future resolves (to its seq) once it is on disk."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        with self._lock:
            if self._closing:
                raise ShuttingDown()
            if self._held_spans + len(records) > self.max_spans and self._held_spans > 0:
                raise QueueFull()
            self._held_spans += len(records)
            self._incoming.append(_Submission(project_id, payload, records, loop, future))
            self._lock.notify_all()
        return future

    def _spool_loop(self) -> None:
        while True:
            with self._lock:
                while not self._incoming and not self._closing:
                    self._lock.wait()
                group, self._incoming = self._incoming, []
                if not group and self._closing:
                    return
            done: list[tuple[_Submission, int | BaseException]] = []
            try:
                seqs = [self.spool.append(s.project_id, s.payload) for s in group]
                self.spool.sync()
                done = list(zip(group, seqs, strict=True))
            except OSError as exc:  # disk full, I/O error: refuse, never acknowledge
                done = [(s, exc) for s in group]
            with self._lock:
                for sub, seq in done:
                    if isinstance(seq, int):
                        self._ready.append((seq, sub.records))
                    else:
                        self._held_spans -= len(sub.records)
                self._lock.notify_all()
            for sub, seq in done:
                sub.loop.call_soon_threadsafe(_resolve, sub.future, seq)

    # -- recovery ---------------------------------------------------------------------------------------
    def recover(self, decode: Callable[[str, bytes], list[SpanRecord]]) -> int:
        """Queue what the spool holds beyond the checkpoint; returns how many requests were replayed.

        ``decode`` re-runs decoding and normalization on a stored payload. A batch that was being written
        at the crash is replayed as exactly that batch, so its deduplication token matches.
        """
        count = 0
        with self._lock:
            intent = self.spool.checkpoint.intent
            if intent is not None and intent[1] > self.spool.checkpoint.committed:
                self._forced_last = intent[1]
        for record in self.spool.pending():
            records = decode(record.project_id, record.payload)
            with self._lock:
                self._ready.append((record.seq, records))
                self._held_spans += len(records)
                self._lock.notify_all()
            count += 1
        return count

    # -- writer side ------------------------------------------------------------------------------------
    def take_batch(self, max_rows: int, max_wait_s: float) -> Batch | None:
        """Whole requests, in order, up to ``max_rows`` rows or ``max_wait_s`` after the first arrives."""
        with self._lock:
            if not self._ready and not self._lock.wait_for(lambda: self._ready or self._closing, 0.2):
                return None
            if not self._ready:
                return None
            deadline = time.monotonic() + max_wait_s
            while (
                self._forced_last is None
                and sum(len(r) for _, r in self._ready) < max_rows
                and not self._closing
            ):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._lock.wait(remaining)
            first_seq = self._ready[0][0]
            batch = Batch(first_seq, first_seq)
            while self._ready:
                seq, records = self._ready[0]
                if self._forced_last is not None:
                    if seq > self._forced_last:
                        break
                elif batch.records and len(batch.records) + len(records) > max_rows:
                    break
                self._ready.popleft()
                batch.last_seq = seq
                batch.records.extend(records)
            self._forced_last = None
            return batch

    def committed(self, batch: Batch) -> None:
        self.spool.commit(batch.last_seq)
        with self._lock:
            self._held_spans -= len(batch.records)
            self._lock.notify_all()

    def is_drained(self) -> bool:
        with self._lock:
            return not self._incoming and not self._ready

    def close(self) -> None:
        """Stop accepting; the spool thread finishes what was submitted."""
        with self._lock:
            self._closing = True
            self._lock.notify_all()
        self._thread.join()
        self.spool.close()
