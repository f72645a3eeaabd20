"""Read-API benchmark (issue #4). Prints one JSON line per figure with its target and ratio.

Seeds ``--spans`` spans (~1/10 as many traces; see ``read_seed.py``: the collector's normalize →
``spans_to_arrow`` → insert path) into chDB under ``.cache/bench-read/<spans>``, then runs the platform
exactly as ``otelguard up`` does (``otelguard.local.runtime.serve``: embedded Postgres, chDB, API and
collector on loopback) in a child process, with one change: ClickHouse's query-condition cache is off
(``use_query_condition_cache = 0`` added to the settings every chDB session runs with), so repeated
queries cannot skip granules they learnt about earlier.

Figures, measured through HTTP on a warm server, p50 (the target's figure) and p95 of ``--requests``:
- list_filtered_ms: ``GET /api/v1/traces`` of the last 24 h filtered by model (cycles the 5 models);
- detail_ms: ``GET /api/v1/traces/{id}`` of distinct traces of the last 24 h (~10 spans each);
- metrics_{cost,tokens,latency_p95}_ms: ``GET /api/v1/metrics`` hourly over 24 h (sum cost, sum tokens,
  p95 latency);
- search_ms: ``GET /api/v1/traces?search=<word>`` over the last 24 h, a word in ~0.7% of the traces
  (cycles 10 words of similar frequency);
- ui_first_render_ms: headless Chromium opens ``/traces`` signed in (key in session storage, a fresh
  browser context each time: nothing cached) until the first trace row is in the DOM at the next frame.

Run: ``make bench`` (1M spans), or ``.venv/bin/python bench/read_api.py --spans 10000000`` (10M: seeding
takes ~10 min on 2 cores and ~15 GB of disk). The seeded data is kept and reused by later runs of the same
size (``--reseed`` to rebuild it); queries are anchored at the seed's "now", so reused data measures the same.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(REPO / "tests"))

from platform_process import free_port  # noqa: E402
from read_seed import MODELS, SEED_VERSION, search_term, seed  # noqa: E402

API_KEY = "bench-read-key-0123456789"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DAY_NS = 86_400 * 10**9
SEARCH_RANKS = range(45, 55)  # Zipf ranks of the product words searched (each in ~0.2% of LLM inputs)


def emit(metric: str, value: float, target: float | None, unit: str, better: str, **extra: object) -> None:
    ratio = None
    if target is not None:
        ratio = round(value / target if better == "higher" else target / value if value else float("inf"), 3)
    line = {"bench": "read_api", "metric": metric, "value": round(value, 3), "unit": unit, "target": target}
    # the machine's 1-minute load average: these figures are only comparable on an otherwise idle machine
    line.update({"better": better, "ratio": ratio, **extra, "load1": round(os.getloadavg()[0], 2)})
    print(json.dumps(line), flush=True)


# ------------------------------------------------------------------------------------------ seeding


def _seed_child(data_dir: str, spans: int, workers: int, dense: bool, out: mp.Queue) -> None:  # type: ignore[type-arg]
    out.put(seed(Path(data_dir), spans, workers=workers, dense=dense))


def seeded(
    data_dir: Path, spans: int, workers: int, reseed: bool, dense: bool
) -> tuple[dict[str, object], bool]:
    """The seed's facts and whether it was seeded now (unless a matching seed is already there)."""
    marker = data_dir / "seed.json"
    if not reseed and marker.is_file():
        facts: dict[str, object] = json.loads(marker.read_text())
        if (
            facts.get("version") == SEED_VERSION
            and facts.get("requested") == spans
            and facts["dense"] == dense
        ):
            return facts, False
    marker.unlink(missing_ok=True)
    shutil.rmtree(data_dir / "clickhouse", ignore_errors=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    ctx = mp.get_context("spawn")  # chDB is released when the child exits
    out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    child = ctx.Process(target=_seed_child, args=(str(data_dir), spans, workers, dense, out))
    child.start()
    facts = out.get()
    child.join()
    facts["requested"] = spans
    marker.write_text(json.dumps(facts))
    return facts, True


# ------------------------------------------------------------------------------------------ server


def serve_main(data_dir: Path, api: int, otlp_http: int, otlp_grpc: int) -> None:
    """Child process: ``otelguard up`` on ``data_dir`` with the query-condition cache off."""
    from otelguard.storage.clickhouse import transport

    transport.QUERY_SETTINGS["use_query_condition_cache"] = 0
    from otelguard.storage.clickhouse.chdb_transport import ChdbTransport

    with ChdbTransport(data_dir / "clickhouse") as check:  # the same settings every session gets
        value = check.query("SELECT getSetting('use_query_condition_cache') AS v")[0]["v"]
        if value not in (False, 0):
            raise SystemExit(f"use_query_condition_cache is still {value!r}")
    from otelguard.local.runtime import Ports, serve
    from otelguard.settings import Settings

    settings = Settings.from_env(data_dir=data_dir)
    asyncio.run(serve(settings, Ports("127.0.0.1", api, otlp_http, otlp_grpc)))


class Server:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"{data_dir.name}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 300) -> None:
        ports = [str(self.port), str(free_port()), str(free_port())]
        env = {**os.environ, "OTELGUARD_API_KEY": API_KEY}
        with open(self.log, "ab") as log:
            cmd = [sys.executable, __file__, "--serve", str(self.data_dir), *ports]
            self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}; see {self.log}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()
        raise TimeoutError(f"the server did not become ready; see {self.log}")

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)
        self.proc = None


# ------------------------------------------------------------------------------------------ API figures


def _iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat().replace("+00:00", "Z")


def _timed(
    client: httpx.Client, requests: Iterator[tuple[str, dict[str, object]]], n: int, warmup: int
) -> list[float]:
    """Latencies (ms) of ``n`` requests after ``warmup`` untimed ones; every answer must be a 200."""
    out: list[float] = []
    for i in range(warmup + n):
        path, params = next(requests)
        started = time.perf_counter()
        r = client.get(path, params=params)  # type: ignore[arg-type]
        elapsed = (time.perf_counter() - started) * 1000
        if r.status_code != 200:
            raise RuntimeError(f"{path} {params}: {r.status_code} {r.text[:300]}")
        body = r.json()
        if not (body.get("items") or body.get("series") or body.get("spans")):
            raise RuntimeError(f"{path} {params}: an empty answer would not measure anything: {r.text[:300]}")
        if i >= warmup:
            out.append(elapsed)
    return out


def _cycle(make: Callable[[int], tuple[str, dict[str, object]]]) -> Iterator[tuple[str, dict[str, object]]]:
    i = 0
    while True:
        yield make(i)
        i += 1


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_api(url: str, facts: dict[str, object], n: int) -> None:
    now_ns = int(facts["now_ns"])  # type: ignore[call-overload]
    day = {"start": _iso(now_ns - DAY_NS), "end": _iso(now_ns)}
    spans, days = facts["spans"], facts["history_days"]
    models = [m[1] for m in MODELS]
    words = [search_term(rank) for rank in SEARCH_RANKS]
    with httpx.Client(base_url=url, headers={"authorization": f"Bearer {API_KEY}"}, timeout=120) as client:
        page = client.get("/api/v1/traces", params={**day, "limit": 1000}).json()["items"]
        trace_ids = [t["trace_id"] for t in page[:: max(1, len(page) // n)]][:n]
        figures: list[tuple[str, float, Iterator[tuple[str, dict[str, object]]]]] = [
            (
                "list_filtered_ms",
                30,
                _cycle(lambda i: ("/api/v1/traces", {**day, "model": models[i % len(models)], "limit": 50})),
            ),
            ("detail_ms", 20, _cycle(lambda i: (f"/api/v1/traces/{trace_ids[i % len(trace_ids)]}", {}))),
        ]
        for metric, agg in (("cost", "sum"), ("tokens", "sum"), ("latency", "p95")):
            params = {**day, "metric": metric, "agg": agg, "bucket": "1h"}
            figures.append(
                (f"metrics_{metric}_{agg}_1h_ms", 150, _cycle(lambda i, p=params: ("/api/v1/metrics", p)))
            )
        figures.append(
            (
                "search_ms",
                200,
                _cycle(lambda i: ("/api/v1/traces", {**day, "search": words[i % len(words)], "limit": 50})),
            )
        )
        for name, target, requests in figures:
            latencies = _timed(client, requests, n, warmup=5)
            emit(name, statistics.median(latencies), target, "ms", "lower",
                 p95_ms=round(_p(latencies, 0.95), 3), requests=n, spans=spans, days=days)  # fmt: skip


# ------------------------------------------------------------------------------------------ UI figure

_ROWS_OBSERVER = """
(() => {
  const rows = 'table[aria-label="Traces"] tbody a.trace-link';
  const seen = () => {
    if (window.__ogRowsAt !== undefined || !document.querySelector(rows)) return;
    window.__ogRowsAt = null;
    observer.disconnect();
    requestAnimationFrame(() => { window.__ogRowsAt = performance.now(); });  // the frame that shows them
  };
  const observer = new MutationObserver(seen);
  observer.observe(document, { childList: true, subtree: true });
})();
"""


def bench_ui(url: str, loads: int, spans: object, days: object) -> None:
    subprocess.run(["bash", str(REPO / "scripts" / "build_ui.sh")], check=True, stdout=subprocess.DEVNULL)
    from playwright.sync_api import sync_playwright

    times: list[float] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for i in range(loads + 1):  # the first load warms the server's file cache, not the browser's
            context = browser.new_context(viewport={"width": 1440, "height": 900})
            context.add_init_script(f"sessionStorage.setItem('otelguard.apiKey', {json.dumps(API_KEY)});")
            context.add_init_script(_ROWS_OBSERVER)
            page = context.new_page()
            page.goto(f"{url}/traces", wait_until="commit")
            page.wait_for_function("typeof window.__ogRowsAt === 'number'", timeout=60_000)
            if i:
                times.append(float(page.evaluate("window.__ogRowsAt")))
            context.close()
        browser.close()
    emit("ui_first_render_ms", statistics.median(times), 1000, "ms", "lower",
         p95_ms=round(_p(times, 0.95), 3), loads=loads, spans=spans, days=days)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--spans", type=int, default=1_000_000, help="spans to seed (10000000 for 10M)")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per API figure")
    parser.add_argument("--ui-loads", type=int, default=10, help="timed page loads (0: no UI figure)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="seeding processes")
    parser.add_argument("--reseed", action="store_true", help="seed again even if a matching seed exists")
    parser.add_argument("--data-dir", type=Path, default=None, help="default .cache/bench-read/<spans>")
    parser.add_argument("--seed-only", action="store_true", help="seed (if needed) and stop")
    parser.add_argument(
        "--dense", action="store_true", help="put every size into 7 days (default: more spans = more days)"
    )
    args = parser.parse_args()
    name = f"{args.spans}-dense" if args.dense else str(args.spans)
    data_dir = (args.data_dir or REPO / ".cache" / "bench-read" / name).resolve()

    facts, fresh = seeded(data_dir, args.spans, args.workers, args.reseed, args.dense)
    if fresh:
        rate = int(facts["spans"]) / float(facts["seed_seconds"])  # type: ignore[call-overload]
        emit("seed_spans_per_s", rate, None, "spans/s", "higher", spans=facts["spans"],
             days=facts["history_days"], traces=facts["traces"], settle_s=facts["settle_seconds"],
             workers=args.workers,
             disk_bytes_per_span=facts.get("disk_bytes_per_span"))  # fmt: skip
    if args.seed_only:
        return
    server = Server(data_dir)
    server.start()
    try:
        bench_api(server.url, facts, args.requests)
        if args.ui_loads:
            bench_ui(server.url, args.ui_loads, facts["spans"], facts["history_days"])
    finally:
        server.stop()


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--serve":
        serve_main(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        main()
