"""Prompt-serving benchmark (issue: prompt management). One JSON line per figure, with its target.

Figures:
- get_by_label_*: ``GET /api/v1/prompts/{name}?label=production`` on loopback against the API app
  (uvicorn + httptools, one process, embedded Postgres) for ``--seconds``: requests/s and p99 latency,
  measured by a separate load process holding ``--connections`` keep-alive connections (a minimal
  asyncio HTTP/1.1 client, so the load generator is not the bottleneck);
- sdk_cached_get_prompt_us: ``OTelGuardClient.get_prompt`` of a cached (fresh) prompt, in-process.

Run: ``.venv/bin/python bench/prompts.py [--seconds 5] [--connections 8]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests" / "integration" / "prompts"))

KEY = "prompt-test-key-0123456789"
SPEC = {
    "messages": [
        {"role": "system", "content": "You triage support tickets for {{ product }}. Be brief."},
        {"role": "user", "content": "{{ ticket }}"},
    ],
    "variables": [{"name": "product", "default": "Acme"}, {"name": "ticket", "required": True}],
    "modelConfig": {"model": "gpt-4o-mini", "temperature": 0.2},
    "labels": {"production": "latest"},
    "tags": ["support"],
}


def emit(metric: str, value: float, target: float, unit: str, better: str, **extra: object) -> None:
    ratio = value / target if better == "higher" else target / value if value else float("inf")
    line = {"bench": "prompts", "metric": metric, "value": round(value, 3), "unit": unit, "target": target}
    line.update({"better": better, "ratio": round(ratio, 3), **extra})
    print(json.dumps(line), flush=True)


def _serve(dsn: str, port: int, ready: mp.Event) -> None:  # type: ignore[type-arg]
    import uvicorn
    from prompt_support import PromptContext, keys

    from otelguard.storage.postgres import Database
    from otelguard.webui.app import create_app

    db = Database(dsn, max_size=8)
    context = PromptContext(clickhouse=None, keys=keys(), postgres=db)  # type: ignore[arg-type]
    config = uvicorn.Config(
        create_app(context), host="127.0.0.1", port=port, log_level="warning", access_log=False,
        http="httptools", loop="asyncio", lifespan="off",
    )  # fmt: skip
    server = uvicorn.Server(config)

    async def run() -> None:
        task = asyncio.create_task(server.serve())
        while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
            await asyncio.sleep(0.01)
        ready.set()
        await task

    asyncio.run(run())


async def _connection(port: int, request: bytes, until: float, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head.decode(errors="replace"))
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
    finally:
        writer.close()


def _load(port: int, seconds: float, connections: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    request = (
        f"GET /api/v1/prompts/triage?label=production HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {KEY}\r\nAccept: application/json\r\n\r\n"
    ).encode()

    async def main() -> list[float]:
        latencies: list[float] = []
        warm_until = time.perf_counter() + 0.5
        await asyncio.gather(*(_connection(port, request, warm_until, []) for _ in range(connections)))
        until = time.perf_counter() + seconds
        await asyncio.gather(*(_connection(port, request, until, latencies) for _ in range(connections)))
        return latencies

    out.put(asyncio.run(main()))


def bench_get_by_label(seconds: float, connections: int) -> None:
    from prompt_support import store

    from otelguard.local.embedded import EmbeddedPostgres
    from otelguard.storage.postgres import Database, migrate
    from platform_process import free_port

    with tempfile.TemporaryDirectory(prefix="og-bench-prompts-") as tmp:
        pg = EmbeddedPostgres()
        dsn = pg.start(Path(tmp))
        try:
            with Database(dsn) as db:
                migrate(db)
                store(db, "triage", SPEC)
            port = free_port()
            ctx = mp.get_context("spawn")
            ready = ctx.Event()
            server = ctx.Process(target=_serve, args=(dsn, port, ready), daemon=True)
            server.start()
            if not ready.wait(60):
                raise RuntimeError("API server did not start")
            out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
            load = ctx.Process(target=_load, args=(port, seconds, connections, out))
            load.start()
            latencies = out.get(timeout=seconds + 60)
            load.join()
            server.terminate()
            server.join(10)
        finally:
            pg.stop()
    latencies.sort()
    rps = len(latencies) / seconds
    p99 = latencies[int(len(latencies) * 0.99)] * 1000
    p50 = statistics.median(latencies) * 1000
    extra = {"connections": connections, "seconds": seconds, "p50_ms": round(p50, 3)}
    emit("get_by_label_requests_per_s", rps, 2000, "req/s", "higher", **extra)
    emit("get_by_label_p99_ms", p99, 10, "ms", "lower", **extra)


def bench_sdk_cached(calls: int) -> None:
    import httpx

    from otelguard.sdk import OTelGuardClient

    body = {
        "name": "triage", "namespace": "default", "version": 1, "hash": "h", "type": "chat",
        "messages": SPEC["messages"], "variables": SPEC["variables"], "modelConfig": SPEC["modelConfig"],
        "labels": ["production"],
    }  # fmt: skip
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json=body, headers={"etag": '"h"'}))
    client = OTelGuardClient("http://og", KEY, transport=transport)
    client.get_prompt("triage", label="production")
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(calls):
            client.get_prompt("triage", label="production")
        best = min(best, (time.perf_counter() - started) / calls * 1e6)
    emit("sdk_cached_get_prompt_us", best, 5, "us", "lower", calls=calls, runs=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--calls", type=int, default=200_000)
    args = parser.parse_args()
    bench_sdk_cached(args.calls)
    bench_get_by_label(args.seconds, args.connections)


if __name__ == "__main__":
    main()
