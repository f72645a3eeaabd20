"""Text-validator benchmark (issue: guardrails engine): the ``toxicity`` lexicon and the ``language``
detector, per call on the realistic ~2 KB prompt of bench/guardrails.py, pinned to one core. One JSON line
per figure, with its target.

Figures: ``Validator.check`` latency p50/p99 — wall clock, and ``_cpu`` (the thread's CPU time, which
leaves out preemption on a loaded machine) — for toxicity on the clean prompt (one normalisation + one RE2
set scan), on the same prompt carrying toxic sentences (findings located and scored) and on a non-ASCII
variant (the Unicode normalisation path); language detection on the clean English prompt and a German one.
Targets: toxicity within the regex tier's budget (<= 50 µs clean, <= 200 µs with findings); language
<= 500 µs (well under the embedding tier's 30 ms).

Run: ``.venv/bin/python bench/guardrails_text.py [--runs 5000]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import time
from collections.abc import Callable

from guardrails import CLEAN  # bench/guardrails.py: the same 2 KB prompt
from otelguard.guardrails.base import CheckContext
from otelguard.guardrails.patterns import ScanText
from otelguard.guardrails.registry import Validator, bind

TOXIC = (
    CLEAN[:1750]
    + "\nCustomer: This is bullsh1t, you useless idiots. F*ck your warranty, I know where you live.\n"
)
UNICODE = CLEAN.replace("Customer", "Kundé").replace("size", "größe").replace("'", "\u2019")
GERMAN = (
    "Sie sind ein hilfreicher Support-Assistent für Northwind Outfitters. Antworten Sie nur anhand des "
    "folgenden Kontexts. Wenn der Kontext die Antwort nicht enthält, sagen Sie, dass Sie es nicht wissen, "
    "und bieten Sie an, ein Ticket zu eröffnen. Rückgabe: Artikel können innerhalb von 30 Tagen nach der "
    "Lieferung gegen volle Erstattung zurückgegeben werden. Als endgültig markierte Sale-Artikel sind vom "
    "Umtausch ausgeschlossen. Erstattungen erfolgen innerhalb von 5 bis 7 Werktagen auf das ursprüngliche "
    "Zahlungsmittel, nachdem das Lager das Paket erhalten hat. "
) * 4


def emit(metric: str, value: float, target: float, **extra: object) -> None:
    line = {"bench": "guardrails_text", "metric": metric, "value": round(value, 3), "unit": "us"}
    line.update({"target": target, "better": "lower", "ratio": round(target / value, 3) if value else None})
    print(json.dumps({**line, **extra}), flush=True)


def latencies(validator: Validator, text: str, runs: int, clock: Callable[[], int]) -> list[float]:
    scan, ctx = ScanText(text), CheckContext()
    for _ in range(min(500, runs)):
        validator.check(scan, ctx)
    out = []
    gc.collect()
    gc.disable()
    try:
        for _ in range(runs):
            t0 = clock()
            validator.check(ScanText(text), ctx)  # ScanText per call: the engine encodes once per request
            out.append((clock() - t0) / 1000)
    finally:
        gc.enable()
    out.sort()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5000)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    toxicity = bind("toxicity")
    language = bind("language", {"allowed": ["en"]})
    ctx = CheckContext()
    assert toxicity.check(ScanText(CLEAN), ctx) == [], "the clean prompt has no toxicity"
    assert toxicity.score(toxicity.check(ScanText(TOXIC), ctx)) >= 0.5, "the toxic prompt fails"
    assert language.check(ScanText(CLEAN), ctx) == [] and language.check(ScanText(GERMAN), ctx)
    cases = (
        ("toxicity_clean", toxicity, CLEAN, 50.0),
        ("toxicity_findings", toxicity, TOXIC, 200.0),
        ("toxicity_unicode", toxicity, UNICODE, 200.0),
        ("language_en", language, CLEAN, 500.0),
        ("language_de", language, GERMAN, 500.0),
    )
    for name, validator, text, target in cases:
        # Wall clock, and this thread's CPU time (leaves out preemption on a loaded machine).
        for suffix, clock in (("", time.perf_counter_ns), ("_cpu", time.thread_time_ns)):
            lat = latencies(validator, text, args.runs, clock)
            extra = {"runs": args.runs, "chars": len(text), "load1": round(os.getloadavg()[0], 2)}
            for q, label in ((0.5, "p50"), (0.99, "p99")):
                value = lat[min(len(lat) - 1, int(len(lat) * q))]
                emit(f"{name}_{label}{suffix}_us", value, target, **extra)


if __name__ == "__main__":
    main()
