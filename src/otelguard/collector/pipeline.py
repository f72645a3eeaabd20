"""decode → normalize → ingest stages → durable queue: what every receiver does with a request."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otelguard.collector import metrics, otlp_decode
from otelguard.collector.durable_queue import DurableQueue
from otelguard.collector.errors import RequestError
from otelguard.collector.otlp_convert import convert
from otelguard.collector.price_book import PriceBook
from otelguard.model import SpanRecord
from otelguard.semconv import PriceTable, normalize


class IngestStage(Protocol):
    """A step between normalization and storage (guardrail ingest policies plug in here)."""

    def process(self, project_id: str, records: list[SpanRecord]) -> list[SpanRecord]: ...


@runtime_checkable
class SpoolingStage(IngestStage, Protocol):
    """A stage that also decides what is spooled (e.g. a redacted copy of the request) and holds state per
    record until it is written (``discard`` when the request is refused)."""

    def spool_payload(
        self,
        project_id: str,
        request: ExportTraceServiceRequest,
        payload: bytes,
        records: Sequence[SpanRecord],
    ) -> bytes: ...

    def discard(self, records: Sequence[SpanRecord]) -> None: ...


@dataclass(frozen=True, slots=True)
class ExportResult:
    accepted: int
    rejected: int = 0
    message: str = ""


class Pipeline:
    def __init__(
        self,
        queue: DurableQueue,
        *,
        prices: PriceBook,
        max_payload_bytes: int,
        stages: Sequence[IngestStage] = (),
    ) -> None:
        self.queue = queue
        self.prices = prices
        self.max_payload_bytes = max_payload_bytes
        self.stages = list(stages)
        self._spooling = [s for s in self.stages if isinstance(s, SpoolingStage)]

    def records(
        self, project_id: str, request: ExportTraceServiceRequest, prices: PriceTable | None = None
    ) -> tuple[list[SpanRecord], int, str]:
        converted = convert(request)
        table = prices if prices is not None else self.prices.table_for(project_id)
        limit = self.max_payload_bytes
        records = [
            normalize(raw, project_id, prices=table, max_payload_bytes=limit) for raw in converted.spans
        ]
        for stage in self.stages:
            records = stage.process(project_id, records)
        return records, converted.rejected, converted.rejection_reason

    def decode_stored(self, project_id: str, payload: bytes) -> list[SpanRecord]:
        """Re-derive the records of a spooled request (replay after a restart)."""
        return self.records(project_id, otlp_decode.parse_protobuf(payload))[0]

    async def export(
        self, project_id: str, request: ExportTraceServiceRequest, payload: bytes, *, transport: str
    ) -> ExportResult:
        """Normalize and durably accept a request; returns once it is on disk.

        ``payload`` is the request as protobuf bytes (what the spool keeps for replay, unless a spooling
        stage substitutes a scrubbed copy).
        """
        prices = await self.prices.table_for_async(project_id)
        records, rejected, reason = self.records(project_id, request, prices)
        if records:
            for stage in self._spooling:
                payload = stage.spool_payload(project_id, request, payload, records)
            try:
                accepted = self.queue.submit(project_id, payload, records)
            except RequestError:
                self._discard(records)
                raise
            try:
                await accepted
            except OSError:  # not spooled, never written (a cancelled wait still is: keep its state)
                self._discard(records)
                raise
            metrics.QUEUE_SPANS.set(self.queue.held_spans)
        metrics.SPANS_ACCEPTED.labels(transport).inc(len(records))
        if rejected:
            metrics.SPANS_REJECTED.labels(transport).inc(rejected)
        return ExportResult(len(records), rejected, reason)

    def _discard(self, records: Sequence[SpanRecord]) -> None:
        for stage in self._spooling:
            stage.discard(records)
