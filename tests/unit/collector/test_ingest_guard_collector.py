"""The ingest guard inside a real Collector (receiver → stage → spool → writer): redacted before the spool,
events inserted after their span batch, a replay after a stop with the store down stays redacted, and a
refused request leaves no events behind."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
from test_ingest_guard_stage import CARD, EMAIL, PII, chat_span, spec

from otelguard.auth import Credentials, KeyCache, Principal
from otelguard.collector.ingest_guard import IngestGuard
from otelguard.collector.service import Collector
from otelguard.guardrails.policy_source import PolicyRow
from otelguard.model import SpanRecord
from otelguard.settings import Settings

HEADERS = {"authorization": "Bearer secret-secret-secret", "content-type": "application/x-protobuf"}


class Store:
    """In-memory stand-in for the two ClickHouse tables, with insert deduplication by token."""

    def __init__(self, healthy: bool = True) -> None:
        self.healthy = threading.Event()
        if healthy:
            self.healthy.set()
        self.spans: list[SpanRecord] = []
        self.events: list[Mapping[str, Any]] = []
        self.tokens: set[str] = set()

    def insert(self, records: Sequence[SpanRecord], token: str) -> None:
        if not self.healthy.is_set():
            raise ConnectionError("ClickHouse is unavailable")
        if token not in self.tokens:
            self.tokens.add(token)
            self.spans.extend(records)

    def insert_events(self, rows: Sequence[Mapping[str, Any]], token: str) -> None:
        if token not in self.tokens:
            self.tokens.add(token)
            self.events.extend(rows)


def collector(tmp_path: Path, store: Store, **settings: Any) -> Collector:
    def verify(creds: Credentials) -> Principal | None:
        return Principal("p-1", "shop", "pk") if creds.secret == "secret-secret-secret" else None

    guard = IngestGuard(
        lambda: [PolicyRow("ns/pii", 1, spec(PII), (1,))], lambda: [("p-1", "shop")], store.insert_events
    )
    c = Collector(
        Settings(data_dir=tmp_path, batch_max_wait_ms=10, **settings),
        insert=store.insert,
        keys=KeyCache(verify),
        ingest_guard=guard,
    )
    c.start()
    return c


def post(c: Collector, *bodies: bytes) -> list[int]:
    async def send() -> list[int]:
        transport = httpx.ASGITransport(app=c.http_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://collector") as client:
            return [(await client.post("/v1/traces", content=b, headers=HEADERS)).status_code for b in bodies]

    return asyncio.run(send())


def spool_bytes(tmp_path: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted((tmp_path / "spool").glob("seg-*.log")))


def test_redacted_before_the_spool_and_events_follow_the_batch(tmp_path: Path) -> None:
    store = Store()
    c = collector(tmp_path, store)
    req, _ = chat_span()
    assert post(c, req.SerializeToString()) == [200]
    assert EMAIL.encode() not in spool_bytes(tmp_path) and CARD.encode() not in spool_bytes(tmp_path)
    c.stop()
    (span,) = store.spans
    assert EMAIL not in span.input and CARD not in span.output and "<EMAIL>" in span.input
    assert {(e["trace_id"], e["span_id"], e["stage"]) for e in store.events} == {
        (span.trace_id, span.span_id, "ingest")
    }
    assert {f["field"] for e in store.events for f in json.loads(e["findings"])} >= {"input", "output"}


def test_a_replayed_request_stays_redacted(tmp_path: Path) -> None:
    down = Store(healthy=False)
    c = collector(tmp_path, down)
    req, _ = chat_span()
    assert post(c, req.SerializeToString()) == [200]  # acknowledged: on disk
    c.stop(timeout_s=0.5)  # the store is down: the request stays spooled
    assert down.spans == []

    store = Store()
    c = collector(tmp_path, store)  # replays the spool through the stage
    c.stop()
    (span,) = store.spans
    assert EMAIL not in span.input and "<EMAIL>" in span.input
    assert span.attributes["otelguard.guardrail.ingest.action"] == "sanitize"


def test_a_refused_request_leaves_no_events_behind(tmp_path: Path) -> None:
    down = Store(healthy=False)
    c = collector(tmp_path, down, max_queue_spans=1)
    first, _ = chat_span(span_id=1)
    second, _ = chat_span(span_id=2)
    assert post(c, first.SerializeToString(), second.SerializeToString()) == [200, 429]
    guard = c.ingest_guard
    assert guard is not None and len(guard._pending) == 1  # only the accepted span's events are held
    down.healthy.set()
    c.stop()
    assert len(down.spans) == 1 and guard._pending == {}
    assert {e["span_id"] for e in down.events} == {down.spans[0].span_id}
