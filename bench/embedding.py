"""Embedding-tier benchmark (issue: guardrails engine). One JSON line per figure, with its target.

Figures, on one core (BLAS and onnxruntime threads = 1): the all-MiniLM-L6-v2
embedding of the realistic ~2 KB prompt of bench/guardrails.py (truncated to 256 word pieces, the model's
max_seq_length) with the default int8 onnxruntime backend; a ``topic`` rule (3 denied topics) through
``Engine.evaluate`` on the same prompt — the embedding tier's latency as the guard API sees it; and, for
reference, the exact numpy fp32 pass. Target: p95 <= 30 ms per 2 KB prompt. Each figure comes as wall-clock
and as CPU time of the calling thread (``_cpu``): on a shared machine the former includes run-queue waits.
Also reported: the int8 embedding's cosine to the exact one.

Run: ``.venv/bin/python bench/embedding.py [--runs 200]``.
"""

from __future__ import annotations

import os

# Before numpy/onnxruntime load: one thread everywhere.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OTELGUARD_EMBEDDING_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from guardrails import CLEAN  # noqa: E402  (bench/guardrails.py: the same 2 KB prompt)
from otelguard.guardrails import Engine, RequestMeta, compile_policy  # noqa: E402
from otelguard.guardrails.embedding.model import EmbeddingModel, get_model  # noqa: E402

TARGET_MS = 30.0
POLICY = {
    "stages": ["input"],
    "rules": [
        {
            "name": "topics",
            "validator": "topic",
            "params": {
                "denied": [
                    "Questions about politicians, political parties, elections and voting.",
                    "Medical advice about symptoms, diagnosis, medication or treatment.",
                    "Investment advice about buying or selling stocks, shares or crypto.",
                ]
            },
            "onFail": [{"type": "block"}],
        }
    ],
}


def emit(metric: str, value: float, target: float, unit: str, better: str, **extra: object) -> None:
    ratio = value / target if better == "higher" else target / value if value else float("inf")
    line = {"bench": "embedding", "metric": metric, "value": round(value, 3), "unit": unit, "target": target}
    line.update({"better": better, "ratio": round(ratio, 3), **extra})
    print(json.dumps(line), flush=True)


def _latencies_ms(fn: Callable[[], object], runs: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU (this thread: every backend computes in the caller with threads = 1) times."""
    for _ in range(min(10, runs)):
        fn()
    gc.collect()
    wall, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        fn()
        cpu.append((time.thread_time_ns() - c0) / 1e6)
        wall.append((time.perf_counter_ns() - t0) / 1e6)
    return wall, cpu


def _report(name: str, samples: tuple[list[float], list[float]], **extra: object) -> None:
    # CPU time is the one-core cost; wall time also counts waiting for a core on a shared machine.
    for kind, values in zip(("", "_cpu"), samples, strict=True):
        p50, p95 = (float(np.percentile(values, q)) for q in (50, 95))
        emit(f"{name}{kind}_p50", p50, TARGET_MS, "ms", "lower", **extra)
        emit(f"{name}{kind}_p95", p95, TARGET_MS, "ms", "lower", **extra)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    prompt = CLEAN[:2048]
    fast = get_model()
    tokens = len(fast.tokenize([prompt])[0])
    info = {"prompt_bytes": len(prompt.encode()), "tokens": tokens, "backend": fast.backend}
    _report("embed_2kb", _latencies_ms(lambda: fast.embed([prompt]), args.runs), **info)

    engine = Engine([compile_policy(POLICY, name="bench/topics")])
    request = RequestMeta(project="bench")
    assert engine.evaluate(prompt, "input", request).verdict == "pass"
    _report(
        "topic_rule_2kb", _latencies_ms(lambda: engine.evaluate(prompt, "input", request), args.runs), **info
    )

    exact = EmbeddingModel(backend="numpy")
    cos = float(exact.embed([prompt])[0] @ fast.embed([prompt])[0])
    emit("int8_cosine_to_exact", cos, 0.98, "cos", "higher")
    runs = max(10, args.runs // 5)
    _report(
        "embed_2kb_numpy_fp32",
        _latencies_ms(lambda: exact.embed([prompt]), runs),
        **{**info, "backend": "numpy"},
    )


if __name__ == "__main__":
    main()
