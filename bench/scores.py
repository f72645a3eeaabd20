"""Score analytics benchmark (issue 6). Prints one JSON line per figure with its target and ratio.

Seeds chDB with 10,000,000 scores (Arrow batches of 1M) over 30 days — 1M traces with one LLM span
each (4 models), every span scored under 5 names by 2 evaluators, a score's time = its span's start —
then times ``aggregate_scores`` for one name (2M scores) over the 30 days (median of repeated runs): by
day; by day and evaluator (a score column); by day and model (joined from ``spans``). Each aggregation returns
count, mean, stddev, min, max, p50/p90/p95/p99 per day and in total, and a histogram. Measured right
after the load (unmerged parts: the worst case for ``FINAL``) and again after ``OPTIMIZE``. Each line
also carries the CPU time of the call and the 1-minute load average: on a shared machine the wall time
grows with the load, the CPU time does not.

Run: ``.venv/bin/python bench/scores.py [--rows 10000000] [--runs 7]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

sys.path.insert(0, str(Path(__file__).parents[1] / "src"))

from otelguard.storage.clickhouse import SPANS_ARROW_SCHEMA, migrate
from otelguard.storage.clickhouse.chdb_transport import ChdbTransport
from otelguard.storage.clickhouse.score_analytics import AggregateQuery, aggregate_scores
from otelguard.storage.clickhouse.scores import SCORES_ARROW_SCHEMA, insert_scores_arrow

DAY_NS = 86_400 * 10**9
START_NS = 1_790_000_000 * 10**9 // DAY_NS * DAY_NS
NAMES = ["relevance", "toxicity", "helpfulness", "conciseness", "faithfulness"]
EVALUATORS = ["judge-a", "judge-b"]
MODELS = ["gpt-4o", "gpt-4o-mini", "claude-sonnet", "llama-3"]
TARGET_MS = 200.0


def emit(metric: str, value: float, target: float, unit: str, better: str, **extra: object) -> None:
    ratio = value / target if better == "higher" else target / value if value else float("inf")
    line = {"bench": "scores", "metric": metric, "value": round(value, 3), "unit": unit, "target": target}
    line.update({"better": better, "ratio": round(ratio, 3), **extra})
    print(json.dumps(line), flush=True)


def _hex_ids(numbers: np.ndarray, width: int) -> pa.Array:
    """Zero-padded lowercase hex ids of ``numbers`` (vectorised through Arrow)."""
    text = pa.array(np.char.zfill(np.char.mod("%x", numbers), width))
    return pc.cast(text, pa.string())


def _const(value: str, n: int) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), [value]).cast(pa.string())


def _choice(options: list[str], index: np.ndarray) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(index.astype(np.int32)), options).cast(pa.string())


def seed(transport: ChdbTransport, rows: int, batch: int = 1_000_000) -> float:
    per_span = len(NAMES) * len(EVALUATORS)
    spans = rows // per_span
    rng = np.random.default_rng(6)
    # Sorted: a live system writes scores roughly in time order (eval workers score spans as they arrive).
    span_start = np.sort(START_NS + rng.integers(0, 30 * DAY_NS, spans, dtype=np.int64))
    span_model = rng.integers(0, len(MODELS), spans)
    started = time.perf_counter()
    for lo in range(0, spans, batch):
        idx = np.arange(lo, min(spans, lo + batch))
        n = len(idx)
        columns: dict[str, pa.Array] = {}
        for f in SPANS_ARROW_SCHEMA:
            if pa.types.is_string(f.type):
                columns[f.name] = _const("", n)
            elif pa.types.is_map(f.type) or pa.types.is_list(f.type):
                columns[f.name] = pa.array([[]] * n, type=f.type)
            elif pa.types.is_boolean(f.type):
                columns[f.name] = pa.array(np.zeros(n, dtype=bool))
            elif pa.types.is_timestamp(f.type):
                columns[f.name] = pa.array(span_start[idx], type=f.type)
            else:
                columns[f.name] = pa.array(np.zeros(n), type=f.type)
        columns.update(
            project_id=_const("bench", n),
            trace_id=_hex_ids(idx, 32),
            span_id=_hex_ids(idx, 16),
            name=_const("chat", n),
            kind=_const("llm", n),
            model=_choice(MODELS, span_model[idx]),
            events=_const("[]", n),
        )
        columns["end_time"] = pa.array(span_start[idx] + 10**9, type=pa.timestamp("ns", tz="UTC"))
        table = pa.Table.from_arrays([columns[f.name] for f in SPANS_ARROW_SCHEMA], schema=SPANS_ARROW_SCHEMA)
        transport.insert_arrow(f"{transport.database}.spans", table)
    span_batch = max(1, batch // per_span)
    for lo in range(0, spans, span_batch):
        sidx = np.repeat(np.arange(lo, min(spans, lo + span_batch)), per_span)
        n = len(sidx)
        k = np.tile(np.arange(per_span), n // per_span)
        columns = {
            "id": _hex_ids(sidx * per_span + k, 20),
            "project_id": _const("bench", n),
            "trace_id": _hex_ids(sidx, 32),
            "span_id": _hex_ids(sidx, 16),
            "session_id": _const("", n),
            "name": _choice(NAMES, k // len(EVALUATORS)),
            "value": pa.array(np.clip(rng.normal(0.7, 0.15, n), 0, 1)),
            "string_value": _const("", n),
            "data_type": _const("numeric", n),
            "source": _const("evaluator", n),
            "comment": _const("", n),
            "evaluator_name": _choice(EVALUATORS, k % len(EVALUATORS)),
            "evaluator_version": _const("1", n),
            "timestamp": pa.array(span_start[sidx], type=pa.timestamp("ns", tz="UTC")),
        }
        table = pa.Table.from_arrays(
            [columns[f.name] for f in SCORES_ARROW_SCHEMA], schema=SCORES_ARROW_SCHEMA
        )
        insert_scores_arrow(transport, None, table)
    return time.perf_counter() - started


def time_aggregation(transport: ChdbTransport, runs: int, group_by: str | None) -> tuple[float, float, int]:
    """Median wall and CPU milliseconds of one ``aggregate_scores`` call, and the scores it counted. CPU
    time (this process, all threads) does not grow when other processes load the machine."""
    q = AggregateQuery(
        name="relevance",
        data_type="numeric",
        bucket="1d",
        group_by=group_by,  # type: ignore[arg-type]
        start_ns=START_NS,
        end_ns=START_NS + 30 * DAY_NS,
    )
    result = aggregate_scores(transport, "bench", q)  # warm-up (and a sanity check below)
    total = sum(s.total.count for s in result.series)
    walls, cpus = [], []
    for _ in range(runs):
        began, cpu = time.perf_counter(), time.process_time()
        aggregate_scores(transport, "bench", q)
        walls.append((time.perf_counter() - began) * 1000)
        cpus.append((time.process_time() - cpu) * 1000)
    return statistics.median(walls), statistics.median(cpus), total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--keep", type=Path, help="chDB directory to reuse (seeded once) instead of a temp dir"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="otelguard-bench-scores-") as tmp:
        transport = ChdbTransport(args.keep or Path(tmp) / "clickhouse", database="bench")
        try:
            migrate(transport)
            began = time.perf_counter()
            if not transport.query("SELECT count() AS n FROM bench.scores")[0]["n"]:
                seed(transport, args.rows)
            seconds = time.perf_counter() - began
            stored = transport.query("SELECT count() AS n FROM bench.scores")[0]["n"]
            emit("seed_scores_per_s", stored / seconds, 250_000, "rows/s", "higher", rows=stored)
            one_name = stored // len(NAMES)
            for phase in ("after_load", "after_merge"):
                if phase == "after_merge":
                    transport.command("OPTIMIZE TABLE bench.scores FINAL")
                parts = transport.query(
                    "SELECT count() AS n FROM system.parts WHERE database = 'bench' AND table = 'scores' "
                    "AND active"
                )[0]["n"]
                for group_by in (None, "evaluator", "model"):
                    ms, cpu_ms, counted = time_aggregation(transport, args.runs, group_by)
                    emit(
                        f"aggregate_30d_by_day{'_' + group_by if group_by else ''}_ms",
                        ms,
                        TARGET_MS,
                        "ms",
                        "lower",
                        phase=phase,
                        scores_total=stored,
                        scores_aggregated=counted,
                        counts_match=counted == one_name,
                        cpu_ms=round(cpu_ms, 1),
                        parts=parts,
                        load_avg_1m=round(os.getloadavg()[0], 2),
                    )
        finally:
            transport.close()


if __name__ == "__main__":
    main()
