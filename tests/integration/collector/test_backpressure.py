"""A store outage is retried with backoff, never dropped; a full queue answers 429 / RESOURCE_EXHAUSTED
with a retry hint; once the store is back every accepted span is written exactly once."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import grpc
import httpx
import pytest
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otelguard.auth import Credentials, KeyCache, Principal
from otelguard.collector.grpc_receiver import make_server
from otelguard.collector.service import Collector
from otelguard.model import SpanRecord
from otelguard.settings import Settings


class FlakyStore:
    """Stands in for ClickHouse being down: raises until ``healthy`` is set; remembers tokens like
    ClickHouse's insert deduplication does."""

    def __init__(self) -> None:
        self.healthy = threading.Event()
        self.rows: list[SpanRecord] = []
        self.tokens: set[str] = set()
        self.failures = 0

    def insert(self, records: Sequence[SpanRecord], token: str) -> None:
        if not self.healthy.is_set():
            self.failures += 1
            raise ConnectionError("ClickHouse is unavailable")
        if token not in self.tokens:
            self.tokens.add(token)
            self.rows.extend(records)


def request(n: int, trace: int) -> bytes:
    req = ExportTraceServiceRequest()
    spans = req.resource_spans.add().scope_spans.add().spans
    for i in range(n):
        s = spans.add()
        s.trace_id = trace.to_bytes(16, "big")
        s.span_id = (i + 1).to_bytes(8, "big")
        s.name = "s"
        s.start_time_unix_nano = 1_764_000_000_000_000_000
        s.end_time_unix_nano = 1_764_000_000_100_000_000
    return bytes(req.SerializeToString())


def keys() -> KeyCache:
    def verify(creds: Credentials) -> Principal | None:
        return Principal("proj-1", "default", "pk") if creds.secret == "secret-secret-secret" else None

    return KeyCache(verify)


@pytest.fixture
def collector(tmp_path: Path) -> Collector:
    store = FlakyStore()
    settings = Settings(data_dir=tmp_path, max_queue_spans=250, batch_max_wait_ms=10)
    c = Collector(settings, insert=store.insert, keys=keys())
    c.store = store  # type: ignore[attr-defined]
    c.start()
    return c


def test_outage_backpressure_and_recovery(collector: Collector) -> None:
    store: FlakyStore = collector.store  # type: ignore[attr-defined]
    headers = {"authorization": "Bearer secret-secret-secret", "content-type": "application/x-protobuf"}

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=collector.http_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://collector") as client:
            return [
                await client.post("/v1/traces", content=request(100, t), headers=headers) for t in range(1, 5)
            ]

    responses = asyncio.run(scenario())
    assert [r.status_code for r in responses[:2]] == [200, 200]
    full = responses[2]
    assert full.status_code == 429
    assert full.headers["retry-after"] == "1"
    assert "queue is full" in status_pb2.Status.FromString(full.content).message
    deadline = time.monotonic() + 10
    while store.failures < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert store.failures >= 2 and store.rows == []  # retried, not dropped

    store.healthy.set()
    collector.stop()
    assert len(store.rows) == 200  # both accepted requests, once each
    assert {(r.trace_id, r.span_id) for r in store.rows} == {
        (t.to_bytes(16, "big").hex(), (i + 1).to_bytes(8, "big").hex()) for t in (1, 2) for i in range(100)
    }


def test_grpc_resource_exhausted_carries_retry_info(collector: Collector) -> None:
    async def scenario() -> grpc.aio.AioRpcError:
        server, port = make_server(collector.grpc_handler, "127.0.0.1:0", max_message_bytes=1 << 20)
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                export = channel.unary_unary("/opentelemetry.proto.collector.trace.v1.TraceService/Export")
                metadata = (("authorization", "Bearer secret-secret-secret"),)
                await export(request(200, 1), metadata=metadata)
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await export(request(200, 2), metadata=metadata)
                with pytest.raises(grpc.aio.AioRpcError) as unauth:
                    await export(request(1, 3), metadata=(("authorization", "Bearer wrong"),))
                assert unauth.value.code() == grpc.StatusCode.UNAUTHENTICATED
                with pytest.raises(grpc.aio.AioRpcError) as bad:
                    await export(b"\x0a\xff\xff\xff\xff\x0f", metadata=metadata)
                assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                return info.value
        finally:
            await server.stop(None)

    error = asyncio.run(scenario())
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    details = dict(error.trailing_metadata() or ())["grpc-status-details-bin"]
    status = status_pb2.Status.FromString(details)
    retry = error_details_pb2.RetryInfo()
    assert status.details[0].Unpack(retry) and retry.retry_delay.seconds == 1
    collector.store.healthy.set()  # type: ignore[attr-defined]
    collector.stop()
