"""Guard API benchmark (issue 3): ``POST /api/v1/guard`` on loopback against a real ``otelguard up`` with one
regex-tier policy (PII + secrets sanitize, rule-based prompt injection block), at a steady open-loop rate.

Load: ``--procs`` client processes, each one keep-alive connection (``http.client``) sending at
``rate / procs`` requests/s on a fixed schedule; every prompt is ~2 KB and unique (a counter in the text), so
every request misses the result cache and is really evaluated; one in five carries findings. Latency is
measured client-side from send to the full response (the figure a caller sees, client overhead included);
``*_sched`` figures count from the scheduled send time (no coordinated omission).

Run: ``.venv/bin/python bench/guard_api.py [--rate 500] [--seconds 10]``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from platform_process import Platform

POLICY = """\
apiVersion: otelguard.io/v1alpha1
kind: GuardrailPolicy
metadata: {name: bench, namespace: bench}
spec:
  stages: [input, output]
  rules:
    - {name: pii, validator: pii, onFail: [{type: sanitize}]}
    - {name: secrets, validator: secrets, onFail: [{type: sanitize}]}
    - {name: injection, validator: prompt-injection, onFail: [{type: block}]}
"""
CLEAN = (
    "You are a helpful assistant for an online bookshop. The customer asks about the delivery times for "
    "orders placed on weekends, whether paperback and hardcover editions ship together, and how returns "
    "work when a book arrives damaged. Answer politely, cite the relevant policy sections, and keep the "
    "answer under two hundred words. "
)
FINDINGS = "Contact me at jane.doe@example.com, key sk-proj-Xb7Kq9Lm2Np4Rs6Tv8Wx0Yz1Ab3Cd5Ef7Gh9Ij. "


def emit(metric: str, value: float, target: float, unit: str, better: str, **extra: object) -> None:
    ratio = value / target if better == "higher" else target / value if value else float("inf")
    line = {"bench": "guard_api", "metric": metric, "value": round(value, 3), "unit": unit, "target": target}
    line.update({"better": better, "ratio": round(ratio, 3), **extra})
    print(json.dumps(line), flush=True)


def _prompt(i: int, every: int = 5) -> str:
    body = (CLEAN * 6)[:1900]
    extra = FINDINGS if every and i % every == 0 else ""
    return f"[{i}] {extra}{body}"


def _client(
    port: int,
    key: str,
    rate: float,
    seconds: float,
    offset: int,
    procs: int,
    every: int,
    out: mp.Queue,  # type: ignore[type-arg]
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"authorization": f"Bearer {key}", "content-type": "application/json"}
    interval = 1.0 / rate
    latencies: list[float] = []
    sched: list[float] = []
    errors = 0
    start = time.perf_counter() + 0.2 + offset * interval / procs
    n = int(rate * seconds)
    for k in range(n):
        due = start + k * interval
        now = time.perf_counter()
        if due > now:
            time.sleep(due - now)
        body = json.dumps({"stage": "input", "input": _prompt(k * procs + offset, every)})
        t0 = time.perf_counter()
        try:
            conn.request("POST", "/api/v1/guard", body, headers)
            resp = conn.getresponse()
            resp.read()
            ok = resp.status == 200
        except (OSError, http.client.HTTPException):
            ok = False
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        t1 = time.perf_counter()
        if not ok:
            errors += 1
        latencies.append(t1 - t0)
        sched.append(t1 - due)
    out.put((latencies, sched, errors))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(rate: float, seconds: float, procs: int, warmup: float, every: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        platform = Platform(Path(tmp) / "data")
        platform.start()
        try:
            policy = Path(tmp) / "policy.yaml"
            policy.write_text(POLICY)
            cmd = [sys.executable, "-m", "otelguard.cli", "apply", "-f", str(policy)]
            subprocess.run([*cmd, "--data-dir", str(platform.data_dir)], check=True, capture_output=True)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # wait for the guard service's reload
                conn = http.client.HTTPConnection("127.0.0.1", platform.api_port, timeout=10)
                body = json.dumps({"stage": "input", "input": "x"})
                conn.request(
                    "POST", "/api/v1/guard", body, {**platform.auth, "content-type": "application/json"}
                )
                if json.loads(conn.getresponse().read())["policies"] == ["bench/bench"]:
                    break
                time.sleep(0.2)
            ctx = mp.get_context("spawn")
            for phase, secs in (("warmup", warmup), ("measure", seconds)):
                out: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
                workers = [
                    ctx.Process(
                        target=_client,
                        args=(platform.api_port, platform.api_key, rate / procs, secs, i, procs, every, out),
                    )
                    for i in range(procs)
                ]
                for w in workers:
                    w.start()
                results = [out.get(timeout=secs + 120) for _ in workers]
                for w in workers:
                    w.join()
                if phase == "warmup":
                    continue
                lat = [x * 1000 for r in results for x in r[0]]
                sch = [x * 1000 for r in results for x in r[1]]
                errors = sum(r[2] for r in results)
                extra = {"rate": rate, "seconds": seconds, "requests": len(lat), "findings_every": every}
                emit("p50", _pct(lat, 0.50), 1.0, "ms", "lower", **extra)
                emit("p99", _pct(lat, 0.99), 5.0, "ms", "lower", **extra)
                emit("p999", _pct(lat, 0.999), 10.0, "ms", "lower", **extra)
                emit("p99_sched", _pct(sch, 0.99), 5.0, "ms", "lower", **extra)
                emit("errors", errors, 0.0, "requests", "lower", **extra)
                emit("achieved_rate", len(lat) / seconds, rate, "req/s", "higher")
            metrics = http.client.HTTPConnection("127.0.0.1", platform.api_port, timeout=10)
            metrics.request("GET", "/metrics")
            text = metrics.getresponse().read().decode()
            dropped = next(
                (float(line.split()[-1]) for line in text.splitlines()
                 if line.startswith("otelguard_guardrail_events_dropped_total ")),
                0.0,
            )  # fmt: skip
            emit("events_dropped", dropped, 0.0, "events", "lower")
        finally:
            platform.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--procs", type=int, default=4)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--findings-every", type=int, default=5, help="1 in N prompts has findings; 0: none")
    args = parser.parse_args()
    run(args.rate, args.seconds, args.procs, args.warmup, args.findings_every)


if __name__ == "__main__":
    main()
