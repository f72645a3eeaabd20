"""Evaluation benchmark (issue: evaluations and scores). One JSON line per figure, with its target.

Figures:
- heuristic_spans_per_s: spans scored per second by two ``otelguard worker`` processes (Celery, pool
  solo, real embedded Redis) running three heuristic evaluators (json-valid, contains, regex); from the
  first message sent to the last score queued (target ≥ 2,000/s).
- ingest_to_score_lag_p95_s: a real ``otelguard up`` (one eval worker) receives 500 spans/s through the
  OpenTelemetry SDK for ``--seconds``; an Evaluator samples 10%; lag = when the score is first readable
  through ``GET /api/v1/scores`` minus when the span ended (target p95 ≤ 5 s).

Run: ``.venv/bin/python bench/evals.py [--spans 20000] [--seconds 20]``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from otelguard.evals.app import EVALUATE_TASK, create_celery
from otelguard.evals.selection import BATCH_SIZE
from otelguard.evals.stats import read_stats
from otelguard.evals.subject import EvalSubject
from otelguard.local.embedded import EmbeddedRedis

HEURISTICS = {
    "json": {"kind": "heuristic", "heuristic": {"type": "json-valid"}, "score": {"name": "json"}},
    "refund": {
        "kind": "heuristic",
        "heuristic": {"type": "contains", "params": {"substring": "refund", "caseInsensitive": True}},
        "score": {"name": "refund"},
    },
    "order": {
        "kind": "heuristic",
        "heuristic": {"type": "regex", "params": {"pattern": r"order #\d+"}},
        "score": {"name": "order"},
    },
}


def emit(metric: str, value: float, target: float, unit: str, better: str, **extra: object) -> None:
    ratio = value / target if better == "higher" else target / value if value else float("inf")
    line: dict[str, object] = {"metric": metric, "value": round(value, 3), "target": target, "unit": unit}
    line.update({"better": better, "ratio": round(ratio, 3), **extra})
    print(json.dumps(line), flush=True)


def _worker(url: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-c", "from otelguard.cli import main; main()", "worker", "--pool", "solo"]
    return subprocess.Popen(cmd, env={**os.environ, "OTELGUARD_REDIS_URL": url})


def heuristic_throughput(spans: int) -> None:
    with tempfile.TemporaryDirectory(prefix="og-bench-evals-") as tmp:
        server = EmbeddedRedis()
        url = server.start(Path(tmp))
        client = redis.Redis.from_url(url)
        workers = [_worker(url) for _ in range(2)]
        try:
            app = create_celery(url)
            per_evaluator = spans // len(HEURISTICS)
            messages = []
            for name, spec in HEURISTICS.items():
                subjects = [
                    EvalSubject(
                        project_id="p",
                        trace_id=f"{i:032x}",
                        span_id=f"{i:016x}",
                        session_id="",
                        name="chat",
                        kind="llm",
                        model="gpt-4o-mini",
                        input="Where is my order?",
                        output=json.dumps({"answer": f"order #{i} will get a refund", "n": i}),
                        start_ns=time.time_ns(),
                        latency_ms=800.0,
                        cost_usd=0.001,
                        status_error=False,
                    ).to_dict()
                    for i in range(per_evaluator)
                ]
                for i in range(0, len(subjects), BATCH_SIZE):
                    evaluator = {"namespace": "bench", "name": name, "version": 1, "spec": spec}
                    messages.append({"evaluator": evaluator, "subjects": subjects[i : i + BATCH_SIZE]})
            time.sleep(3)  # let the workers connect before the clock starts
            started = time.perf_counter()
            with app.producer_or_acquire() as producer:
                for m in messages:
                    app.send_task(EVALUATE_TASK, args=[m], producer=producer)
            total = per_evaluator * len(HEURISTICS)
            while sum(read_stats(client, f"bench/{n}").scored for n in HEURISTICS) < total:
                time.sleep(0.02)
                if time.perf_counter() - started > 600:
                    raise TimeoutError("workers did not finish within 10 minutes")
            elapsed = time.perf_counter() - started
            emit("heuristic_spans_per_s", total / elapsed, 2000, "spans/s", "higher", spans=total, workers=2)
        finally:
            for w in workers:
                w.send_signal(signal.SIGTERM)
            for w in workers:
                w.wait(30)
            client.close()
            server.stop()


EVALUATOR = """\
apiVersion: otelguard.io/v1alpha1
kind: Evaluator
metadata: {name: sampled, namespace: default}
spec:
  kind: heuristic
  samplingRate: 0.1
  target: {spanKinds: [llm]}
  heuristic: {type: contains, params: {substring: refund}}
  score: {name: refund_lag}
"""


def ingest_to_score_lag(seconds: float, rate: int) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from platform_process import Platform

    with tempfile.TemporaryDirectory(prefix="og-bench-lag-") as tmp:
        root = Path(tmp)
        (root / "manifests").mkdir()
        (root / "manifests" / "evaluator.yaml").write_text(EVALUATOR)
        platform = Platform(root / "data", manifests=root / "manifests")
        platform.start()
        ended: dict[str, float] = {}
        seen: dict[str, float] = {}
        stop = threading.Event()

        def poll() -> None:
            import httpx

            with httpx.Client(base_url=platform.api_url, headers=platform.auth, timeout=10) as http:
                while not stop.is_set():
                    got = http.get("/api/v1/scores", params={"name": "refund_lag", "limit": 1000})
                    now = time.time()
                    for item in got.json().get("items", []):
                        seen.setdefault(item["span_id"], now)
                    time.sleep(0.1)

        poller = threading.Thread(target=poll, daemon=True)
        try:
            provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
            exporter = OTLPSpanExporter(endpoint=f"{platform.otlp_http_url}/v1/traces", headers=platform.auth)
            provider.add_span_processor(
                BatchSpanProcessor(exporter, schedule_delay_millis=200, max_export_batch_size=512)
            )
            tracer = provider.get_tracer("bench")
            poller.start()
            started = time.perf_counter()
            sent = 0
            while time.perf_counter() - started < seconds:
                due = int((time.perf_counter() - started) * rate)
                while sent < due:
                    with tracer.start_as_current_span("chat") as span:
                        span.set_attribute("gen_ai.operation.name", "chat")
                        span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
                        span.set_attribute(
                            "gen_ai.output.messages", '[{"role":"assistant","content":"refund ok"}]'
                        )
                        sid = format(span.get_span_context().span_id, "016x")
                    ended[sid] = time.time()
                    sent += 1
                time.sleep(0.005)
            provider.force_flush()
            deadline = time.monotonic() + 30
            expected = int(sent * 0.1 * 0.8)
            while len(seen) < expected and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(2)
        finally:
            stop.set()
            poller.join(5)
            platform.close()
        lags = sorted(seen[s] - ended[s] for s in seen if s in ended)
        if not lags:
            raise RuntimeError("no score became readable")
        p95 = lags[int(0.95 * (len(lags) - 1))]
        emit(
            "ingest_to_score_lag_p95_s",
            p95,
            5.0,
            "s",
            "lower",
            p50=round(statistics.median(lags), 3),
            scored=len(lags),
            sent=sent,
            rate=rate,
            sampling=0.1,
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--spans", type=int, default=20_000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=int, default=500)
    args = parser.parse_args()
    heuristic_throughput(args.spans)
    ingest_to_score_lag(args.seconds, args.rate)


if __name__ == "__main__":
    main()
