"""Assemble a running collector: spool, durable queue, pipeline, batch writer and both receivers."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from otelguard.auth import KeyCache
from otelguard.collector.durable_queue import DurableQueue
from otelguard.collector.grpc_receiver import TraceServiceHandler
from otelguard.collector.http_receiver import OtlpHttpApp
from otelguard.collector.ingest_guard import IngestGuard
from otelguard.collector.pipeline import IngestStage, Pipeline
from otelguard.collector.price_book import PriceBook
from otelguard.collector.spool import Spool
from otelguard.collector.writer import AfterWriteFn, BatchWriter, InsertFn
from otelguard.semconv import PriceTable
from otelguard.settings import Settings

log = logging.getLogger(__name__)


class Collector:
    """Owns the threads of one collector. ``start`` replays the spool; ``stop`` drains it into the store."""

    def __init__(
        self,
        settings: Settings,
        *,
        insert: InsertFn,
        keys: KeyCache,
        prices: PriceBook | None = None,
        spool_dir: Path | None = None,
        stages: Sequence[IngestStage] = (),
        after_write: Sequence[AfterWriteFn] = (),
        ingest_guard: IngestGuard | None = None,
    ) -> None:
        # The ingest guard checks spans before they are spooled and writes its events after their batch.
        self.ingest_guard = ingest_guard
        if ingest_guard is not None:
            stages = [*stages, ingest_guard]
            insert = ingest_guard.wrap_insert(insert)
        self.queue = DurableQueue(
            Spool(spool_dir or settings.data_dir / "spool"), max_spans=settings.max_queue_spans
        )
        self.pipeline = Pipeline(
            self.queue,
            prices=prices or PriceBook(PriceTable.default()),
            max_payload_bytes=settings.max_payload_bytes,
            stages=stages,
        )
        self.writer = BatchWriter(
            self.queue,
            insert,
            max_rows=settings.batch_max_rows,
            max_wait_s=settings.batch_max_wait_ms / 1000,
            after_write=after_write,
        )
        self.http_app = OtlpHttpApp(self.pipeline, keys, max_body_bytes=settings.max_body_bytes)
        self.grpc_handler = TraceServiceHandler(self.pipeline, keys)

    def start(self) -> None:
        if self.ingest_guard is not None:  # before the replay: replayed spans are checked too
            self.ingest_guard.start()
        replayed = self.queue.recover(self.pipeline.decode_stored)
        if replayed:
            log.info("replaying %d spooled requests not yet in the store", replayed)
        self.writer.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Call after the receivers stopped: everything acknowledged is written (or stays spooled)."""
        self.http_app.ready = False
        self.queue.close()
        self.writer.stop(timeout_s)
        if self.ingest_guard is not None:
            self.ingest_guard.close()
