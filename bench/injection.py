"""Injection classifier quality (issue: guardrails engine). One JSON line per figure, with its target.

Scores the held-out split that ``scripts/train_injection_classifier.py`` saved
(``tests/unit/guardrails/data/injection_heldout.jsonl.gz``) with the shipped model, exactly as the
``injection_classifier`` validator does (256-word-piece chunks, max over chunks): precision, recall and F1
(target F1 >= 0.93), and the fraction of benign security-discussion texts flagged (target <= 0.02).

Run: ``.venv/bin/python bench/injection.py``.
"""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

from otelguard.guardrails.embedding.injection import evaluate, load_injection_model

HELDOUT = (
    Path(__file__).resolve().parents[1]
    / "tests"
    / "unit"
    / "guardrails"
    / "data"
    / "injection_heldout.jsonl.gz"
)


def emit(metric: str, value: float, target: float | None, unit: str, better: str, **extra: object) -> None:
    line: dict[str, object] = {"bench": "injection", "metric": metric, "value": round(value, 4), "unit": unit}
    if target is not None:
        ratio = value / target if better == "higher" else target / value if value else float("inf")
        line.update({"target": target, "better": better, "ratio": round(ratio, 3)})
    line.update(extra)
    print(json.dumps(line), flush=True)


def main() -> None:
    with gzip.open(HELDOUT, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    model = load_injection_model()
    started = time.perf_counter()
    m = evaluate(rows, model)
    elapsed = time.perf_counter() - started
    n = {"n": m["n"]}
    emit("f1", m["f1"], 0.93, "ratio", "higher", **n)
    emit("precision", m["precision"], None, "ratio", "higher", **n)
    emit("recall", m["recall"], None, "ratio", "higher", **n)
    emit(
        "security_discussion_fp_rate",
        m["security_fp_rate"],
        0.02,
        "ratio",
        "lower",
        n=m["n_security_discussion"],
        flagged=round(m["security_fp_rate"] * m["n_security_discussion"]),
    )
    emit("ms_per_text", 1000 * elapsed / max(len(rows), 1), None, "ms", "lower", n=len(rows))


if __name__ == "__main__":
    main()
