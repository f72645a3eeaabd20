"""Ingest benchmark (issue: trace ingestion). Prints one JSON line per figure with its target and ratio.

Figures:
- pipeline_cpu: decode → convert → normalize of 1,000-span OTLP protobuf requests on one core, no store;
- e2e_*: a real ``otelguard up`` (chDB) under OTLP/HTTP load from a separate process: sustained spans/s
  written, batch flush p95, ack→queryable p95, peak RSS, bytes on disk per stored span.

Run: ``make bench`` (or ``.venv/bin/python bench/ingest.py --seconds 30``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from platform_process import Platform
from realistic import request

SPANS_PER_REQUEST = 1000


def emit(metric: str, value: float, target: float, unit: str, better: str, **extra: object) -> None:
    ratio = value / target if better == "higher" else target / value if value else float("inf")
    line = {"bench": "ingest", "metric": metric, "value": round(value, 3), "unit": unit, "target": target}
    line.update({"better": better, "ratio": round(ratio, 3), **extra})
    print(json.dumps(line), flush=True)


def bench_pipeline_cpu(rounds: int) -> None:
    from otelguard.collector import otlp_decode
    from otelguard.collector.otlp_convert import convert
    from otelguard.semconv import PriceTable, normalize

    rng = random.Random(1)
    bodies = [request(rng, SPANS_PER_REQUEST, 1 + i * 1000) for i in range(8)]
    prices = PriceTable.default()
    spans = 0
    started = time.process_time()
    for i in range(rounds):
        raw = convert(otlp_decode.parse_protobuf(bodies[i % len(bodies)])).spans
        spans += len([normalize(r, "bench", prices=prices, max_payload_bytes=65536) for r in raw])
    cpu = time.process_time() - started
    emit("pipeline_cpu_spans_per_s_per_core", spans / cpu, 15_000, "spans/s", "higher", requests=rounds)


def _sender(url: str, key: str, seconds: float, seed: int, rate: float | None, out: mp.Queue) -> None:  # type: ignore[type-arg]
    """Send 1,000-span requests from 3 threads, as fast as accepted (``rate`` None) or at ``rate`` spans/s."""
    rng = random.Random(seed)
    bodies = [request(rng, SPANS_PER_REQUEST, seed * 10**9 + i * 1000) for i in range(24)]
    headers = {"authorization": f"Bearer {key}", "content-type": "application/x-protobuf"}
    sent = throttled = 0
    start = time.monotonic()
    deadline = start + seconds
    lock = threading.Lock()

    def loop() -> None:
        nonlocal sent, throttled
        with httpx.Client(timeout=30) as client:
            i = 0
            while time.monotonic() < deadline:
                if rate is not None:
                    with lock:
                        due = start + sent / rate
                    if due > time.monotonic():
                        time.sleep(due - time.monotonic())
                r = client.post(url, content=bodies[i % len(bodies)], headers=headers)
                i += 1
                with lock:
                    if r.status_code == 200:
                        sent += SPANS_PER_REQUEST
                    elif r.status_code == 429:
                        throttled += 1
                if r.status_code == 429:
                    time.sleep(0.05)

    threads = [threading.Thread(target=loop) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put((sent, throttled))


def _metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _buckets(text: str, name: str) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for line in text.splitlines():
        if line.startswith(name + "_bucket"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            out.append((float("inf") if le == "+Inf" else float(le), float(line.rsplit(" ", 1)[1])))
    return out


def _histogram_p(text: str, name: str, q: float, *, since: str | None = None) -> float:
    """Upper bucket bound of quantile ``q`` of the observations made after the ``since`` scrape."""
    buckets = _buckets(text, name)
    if since is not None:
        before = dict(_buckets(since, name))
        buckets = [(le, count - before.get(le, 0.0)) for le, count in buckets]
    total = buckets[-1][1] if buckets else 0
    for le, count in buckets:
        if total and count >= q * total:
            return le
    return float("nan")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _probe_queryable(platform: Platform, url: str, seconds: float) -> list[float]:
    """Every 0.5 s send one 1-span trace; time from its acknowledgement until the API returns it."""
    latencies: list[float] = []
    rng = random.Random(99)
    headers = {**platform.auth, "content-type": "application/x-protobuf"}
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        trace_base = rng.getrandbits(100)
        r = httpx.post(url, content=request(rng, 1, trace_base), headers=headers, timeout=30)
        if r.status_code != 200:
            time.sleep(0.2)
            continue
        acked = time.monotonic()
        trace_id = trace_base.to_bytes(16, "big").hex()
        while time.monotonic() - acked < 30:
            if platform.get(f"/api/v1/traces/{trace_id}").status_code == 200:
                latencies.append(time.monotonic() - acked)
                break
            time.sleep(0.02)
        time.sleep(0.5)
    return latencies


def _load(platform: Platform, seconds: float, rate: float | None) -> tuple[float, str, int, list[float]]:
    """Run one load phase; returns (spans/s written, final metrics text, 429 count, queryable latencies)."""
    url = f"{platform.otlp_http_url}/v1/traces"
    metrics_url = f"{platform.otlp_http_url}/metrics"
    warmup = 5.0
    out: mp.Queue = mp.Queue()  # type: ignore[type-arg]
    sender = mp.Process(target=_sender, args=(url, platform.api_key, seconds + warmup, 7, rate, out))
    sender.start()
    time.sleep(warmup)
    written_0 = _metric(httpx.get(metrics_url).text, "otelguard_collector_spans_written_total")
    t0 = time.monotonic()
    latencies = _probe_queryable(platform, url, seconds) if rate is not None else []
    if rate is None:
        time.sleep(seconds)
    text = httpx.get(metrics_url).text
    written = _metric(text, "otelguard_collector_spans_written_total") - written_0
    elapsed = time.monotonic() - t0
    sender.join()
    _, throttled = out.get()
    return written / elapsed, text, throttled, latencies


def bench_end_to_end(seconds: float, rate: float) -> None:
    with tempfile.TemporaryDirectory(prefix="otelguard-bench-") as tmp:
        platform = Platform(Path(tmp) / "data")
        platform.start()
        assert platform.proc is not None
        pid = platform.proc.pid
        # 1. saturation: how many spans/s reach ClickHouse when clients send as fast as they are accepted
        throughput, _, throttled, _ = _load(platform, seconds, None)
        emit("e2e_spans_per_s_written", throughput, 12_000, "spans/s", "higher", throttled_requests=throttled)
        # 2. steady load at the target rate: flush time and ack → queryable latency
        flushes_before = httpx.get(f"{platform.otlp_http_url}/metrics").text
        _, text, throttled, latencies = _load(platform, seconds, rate)
        flush_p95 = _histogram_p(text, "otelguard_collector_flush_seconds", 0.95, since=flushes_before) * 1000
        emit("e2e_flush_p95_ms", flush_p95, 800, "ms", "lower", load_spans_per_s=rate,
             note="upper bound of its histogram bucket")  # fmt: skip
        if latencies:
            p95 = statistics.quantiles(latencies, n=20)[-1] if len(latencies) >= 2 else latencies[0]
            emit("e2e_queryable_p95_ms", p95 * 1000, 2000, "ms", "lower", load_spans_per_s=rate,
                 samples=len(latencies))  # fmt: skip
        emit("collector_peak_rss_mb", _peak_rss_mb(pid), 1536, "MB", "lower")
        platform.stop()
        disk = subprocess.run(
            [sys.executable, "-c", _DISK_SQL, str(platform.data_dir / "clickhouse")],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        bytes_on_disk, rows = json.loads(disk.stdout)
        emit("disk_bytes_per_span", bytes_on_disk / max(rows, 1), 800, "bytes", "lower", rows=rows)


_DISK_SQL = """
import json, sys
from chdb import session
s = session.Session(sys.argv[1])
s.query("OPTIMIZE TABLE otelguard.spans FINAL")
r = str(s.query("SELECT sum(bytes_on_disk), sum(rows) FROM system.parts WHERE database='otelguard' "
                "AND table='spans' AND active", "CSV")).strip().split(",")
print(json.dumps([int(r[0]), int(r[1])]))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0, help="measured load duration")
    parser.add_argument("--rounds", type=int, default=30, help="requests for the CPU figure")
    parser.add_argument("--rate", type=float, default=12_000, help="spans/s of the steady-load phase")
    parser.add_argument("--only", choices=["cpu", "e2e"], default=None)
    args = parser.parse_args()
    if args.only in (None, "cpu"):
        bench_pipeline_cpu(args.rounds)
    if args.only in (None, "e2e"):
        bench_end_to_end(args.seconds, args.rate)


if __name__ == "__main__":
    main()
