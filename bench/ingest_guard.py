"""Ingest-stage guardrails benchmark: collector throughput with a regex-tier ingest policy vs without.

The policy is the regex tier (PII and secrets sanitized, rule-based prompt injection alerted) on every span
of the project. Figures (one JSON line each, ``ratio`` ≥ 1 means the target is met):
- pipeline_cpu_ratio: decode → convert → normalize (→ ingest stage) of 1,000-span OTLP protobuf requests on
  one core, the same requests with and without the policy, alternated ``--repeat`` times; the median ratio
  (target ≥ 0.8: within 20% of the no-policy figure). ``--pii-share`` of the spans carry an email and a card
  number (default 0: typical traffic is clean; findings take the engine's slower path);
- e2e_ratio: a real ``otelguard up`` (chDB) saturated over OTLP/HTTP from a separate process, spans/s
  written with the policy (applied from ``--manifests``) vs a platform without it.

Run: ``.venv/bin/python bench/ingest_guard.py [--only cpu|e2e] [--repeat 5] [--seconds 20]``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from ingest import SPANS_PER_REQUEST, _load, _metric
from platform_process import Platform
from realistic import request

RULES = [
    {"name": "pii", "validator": "pii", "onFail": [{"type": "sanitize"}]},
    {"name": "secrets", "validator": "secrets", "onFail": [{"type": "sanitize"}]},
    {"name": "injection", "validator": "prompt-injection", "onFail": [{"type": "alert"}]},
]
POLICY = {"selector": {}, "stages": ["ingest"], "rules": RULES}
MANIFEST = """\
apiVersion: otelguard.io/v1alpha1
kind: GuardrailPolicy
metadata: {name: regex-tier, namespace: bench}
spec:
  stages: [ingest]
  rules:
    - {name: pii, validator: pii, onFail: [{type: sanitize}]}
    - {name: secrets, validator: secrets, onFail: [{type: sanitize}]}
    - {name: injection, validator: prompt-injection, onFail: [{type: alert}]}
"""


def emit(metric: str, value: float, target: float, unit: str, **extra: object) -> None:
    line = {"bench": "ingest_guard", "metric": metric, "value": round(value, 3), "unit": unit}
    line.update({"target": target, "better": "higher", "ratio": round(value / target, 3), **extra})
    print(json.dumps(line), flush=True)


def _with_pii(body: bytes, share: float, rng: random.Random) -> bytes:
    """``share`` of the spans get an email and a card number in their input messages."""
    if share <= 0:
        return body
    req = ExportTraceServiceRequest.FromString(body)
    for span in req.resource_spans[0].scope_spans[0].spans:
        if rng.random() < share:
            for kv in span.attributes:
                if kv.key == "gen_ai.input.messages":
                    msgs = json.loads(kv.value.string_value)
                    msgs[0]["parts"][0]["content"] += " mail jane.doe@example.com card 4111 1111 1111 1111"
                    kv.value.string_value = json.dumps(msgs)
    return bytes(req.SerializeToString())


def bench_cpu(rounds: int, repeat: int, pii_share: float) -> None:
    from otelguard.collector import otlp_decode
    from otelguard.collector.ingest_guard import IngestGuard
    from otelguard.collector.otlp_convert import convert
    from otelguard.guardrails.policy_source import PolicyRow
    from otelguard.semconv import PriceTable, normalize

    rng = random.Random(1)
    bodies = [_with_pii(request(rng, SPANS_PER_REQUEST, 1 + i * 1000), pii_share, rng) for i in range(8)]
    prices = PriceTable.default()
    guard = IngestGuard(
        lambda: [PolicyRow("bench/regex-tier", 1, POLICY, (1,))], lambda: [("bench", "bench")]
    )
    guard.source.reload()
    guard.names.refresh()

    def run(with_policy: bool) -> float:
        spans = 0
        started = time.process_time()
        for i in range(rounds):
            raw = convert(otlp_decode.parse_protobuf(bodies[i % len(bodies)])).spans
            records = [normalize(r, "bench", prices=prices, max_payload_bytes=65536) for r in raw]
            if with_policy:
                records = guard.process("bench", records)
            spans += len(records)
        return spans / (time.process_time() - started)

    run(True)  # warm up both paths
    run(False)
    without, with_policy = [], []
    for _ in range(repeat):
        without.append(run(False))
        with_policy.append(run(True))
    ratios = [w / n for w, n in zip(with_policy, without, strict=True)]
    emit(
        "pipeline_cpu_ratio",
        statistics.median(ratios),
        0.8,
        "policy/no-policy",
        no_policy_spans_per_s=round(statistics.median(without)),
        policy_spans_per_s=round(statistics.median(with_policy)),
        ratios=[round(r, 3) for r in ratios],
        pii_share=pii_share,
    )


def _e2e(seconds: float, policy: bool) -> float:
    with tempfile.TemporaryDirectory(prefix="otelguard-bench-guard-") as tmp:
        manifests = None
        if policy:
            manifests = Path(tmp) / "manifests"
            manifests.mkdir()
            (manifests / "policy.yaml").write_text(MANIFEST)
        platform = Platform(Path(tmp) / "data", manifests=manifests)
        platform.start()
        try:
            throughput, text, _, _ = _load(platform, seconds, None)
            if policy:
                scanned = _metric(text, 'otelguard_ingest_guard_spans_total{path="scanned"}')
                assert scanned > 0, "the ingest policy did not run"
        finally:
            platform.stop()
        return throughput


def bench_e2e(seconds: float, repeat: int) -> None:
    without, with_policy = [], []
    for _ in range(repeat):
        without.append(_e2e(seconds, False))
        with_policy.append(_e2e(seconds, True))
    ratios = [w / n for w, n in zip(with_policy, without, strict=True)]
    emit(
        "e2e_ratio",
        statistics.median(ratios),
        0.8,
        "policy/no-policy",
        no_policy_spans_per_s=round(statistics.median(without)),
        policy_spans_per_s=round(statistics.median(with_policy)),
        ratios=[round(r, 3) for r in ratios],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=16, help="requests per CPU measurement")
    parser.add_argument("--repeat", type=int, default=5, help="alternated measurements per figure")
    parser.add_argument("--pii-share", type=float, default=0.0, help="share of spans with PII (CPU figure)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured load per e2e run")
    parser.add_argument("--e2e-repeat", type=int, default=2, help="platform pairs for the e2e figure")
    parser.add_argument("--only", choices=["cpu", "e2e"], default=None)
    args = parser.parse_args()
    if args.only in (None, "cpu"):
        bench_cpu(args.rounds, args.repeat, args.pii_share)
    if args.only in (None, "e2e"):
        bench_e2e(args.seconds, args.e2e_repeat)


if __name__ == "__main__":
    main()
