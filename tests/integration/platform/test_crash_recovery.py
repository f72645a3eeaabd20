"""SIGKILL the collector under load, restart, and count: every acknowledged span is stored exactly once.
Also: a graceful stop (SIGTERM) flushes everything acknowledged, and data survives restarts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from platform_process import Platform

SPANS_PER_REQUEST = 200


def request_body(trace_index: int) -> bytes:
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    attr = rs.resource.attributes.add()
    attr.key, attr.value.string_value = "service.name", "crash-test"
    spans = rs.scope_spans.add().spans
    trace_id = trace_index.to_bytes(16, "big")
    for i in range(SPANS_PER_REQUEST):
        span = spans.add()
        span.trace_id = trace_id
        span.span_id = (i + 1).to_bytes(8, "big")
        span.name = "chat"
        span.start_time_unix_nano = 1_764_000_000_000_000_000 + i
        span.end_time_unix_nano = span.start_time_unix_nano + 1_000_000
        for key, value in (("gen_ai.request.model", "gpt-4o"), ("gen_ai.provider.name", "openai")):
            a = span.attributes.add()
            a.key, a.value.string_value = key, value
        a = span.attributes.add()
        a.key, a.value.string_value = "gen_ai.input.messages", "hello " * 50
    return bytes(request.SerializeToString())


def stored(data_dir: Path) -> dict[str, list[int]]:
    out = subprocess.run(
        [sys.executable, str(Path(__file__).parents[2] / "chdb_count.py"), str(data_dir / "clickhouse")],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    result: dict[str, list[int]] = json.loads(out.stdout)
    return result


@pytest.mark.slow
def test_sigkill_under_load_loses_no_acknowledged_span(tmp_path: Path) -> None:
    platform = Platform(tmp_path / "data")
    platform.start()
    acked: set[int] = set()
    lock = threading.Lock()
    stop = threading.Event()
    counter = iter(range(1, 1_000_000))

    def sender() -> None:
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                with lock:
                    index = next(counter)
                try:
                    response = client.post(
                        f"{platform.otlp_http_url}/v1/traces",
                        content=request_body(index),
                        headers={**platform.auth, "content-type": "application/x-protobuf"},
                    )
                except httpx.HTTPError:
                    continue  # the process died mid-request: not acknowledged
                if response.status_code == 200:
                    with lock:
                        acked.add(index)

    threads = [threading.Thread(target=sender) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(4)
    platform.kill()
    stop.set()
    for t in threads:
        t.join(30)
    assert len(acked) > 10, "the load never got going"

    platform.start()  # replays the spool
    platform.stop()  # graceful: drains everything into the store
    rows = stored(platform.data_dir)
    missing = [i for i in acked if format(i, "032x") not in rows]
    assert not missing, f"{len(missing)} acknowledged requests lost"
    for trace_id, (row_count, distinct) in rows.items():
        assert row_count == distinct == SPANS_PER_REQUEST, f"trace {trace_id}: {row_count} rows"
    # the spool is empty after a graceful stop: everything was committed
    spool_dir = platform.data_dir / "spool"
    checkpoint = json.loads((spool_dir / "checkpoint.json").read_text())
    assert checkpoint["intent"] is None


def test_sigterm_flushes_and_data_survives_restart(tmp_path: Path) -> None:
    platform = Platform(tmp_path / "data", env={"OTELGUARD_BATCH_MAX_WAIT_MS": "30000"})
    platform.start()
    response = httpx.post(
        f"{platform.otlp_http_url}/v1/traces",
        content=request_body(7),
        headers={**platform.auth, "content-type": "application/x-protobuf"},
    )
    assert response.status_code == 200
    # the batcher would wait 30 s; a graceful stop must flush now
    started = time.monotonic()
    assert platform.stop() == 0
    assert time.monotonic() - started < 25
    assert stored(platform.data_dir) == {format(7, "032x"): [SPANS_PER_REQUEST, SPANS_PER_REQUEST]}
    platform.start()
    try:
        [trace] = platform.wait_for_traces(1)
        assert trace["span_count"] == SPANS_PER_REQUEST
    finally:
        platform.stop()
    assert os.path.isdir(platform.data_dir / "postgres")
