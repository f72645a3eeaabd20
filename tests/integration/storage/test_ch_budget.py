"""Disk budget of the spans table on realistic LLM spans (≤ 800 bytes per stored span).

Also prints insert throughput (``-s`` to see it); nothing here asserts on time.
"""

from __future__ import annotations

import time

import pytest
from ch_spangen import SpanGenerator

from otelguard.storage.clickhouse import insert_spans, spans_to_arrow
from otelguard.storage.clickhouse.chdb_transport import ChdbTransport

SPANS = 50_000
BATCH = 10_000
BUDGET_BYTES_PER_SPAN = 800


@pytest.mark.slow
def test_realistic_spans_fit_the_disk_budget(chdb_db: ChdbTransport) -> None:
    spans = SpanGenerator(7, start_ns=time.time_ns() - 2 * 86_400 * 10**9).spans(SPANS)
    assert 900 < sum(len(s.input) for s in spans) / SPANS < 1200  # ~1 KB of input and of output text
    assert 900 < sum(len(s.output) for s in spans) / SPANS < 1200
    elapsed = 0.0
    for i in range(0, SPANS, BATCH):
        started = time.perf_counter()
        batch = spans[i : i + BATCH]
        insert_spans(chdb_db, batch, dedup_token=f"budget-{i}")
        elapsed += time.perf_counter() - started
    db = chdb_db.database
    chdb_db.command(f"OPTIMIZE TABLE {db}.spans FINAL")
    (parts,) = chdb_db.query(
        "SELECT sum(rows) AS rows, sum(bytes_on_disk) AS bytes FROM system.parts "
        "WHERE database = {db:String} AND table = 'spans' AND active",
        {"db": db},
    )
    per_span = parts["bytes"] / parts["rows"]
    started = time.perf_counter()
    spans_to_arrow(spans[:BATCH])
    to_arrow = time.perf_counter() - started
    print(
        f"\nspans: {parts['rows']} rows, {per_span:.0f} bytes/span on disk; "
        f"spans_to_arrow+insert_spans {SPANS / elapsed:,.0f} rows/s; "
        f"spans_to_arrow alone {BATCH / to_arrow:,.0f} rows/s"
    )
    assert parts["rows"] == SPANS
    assert per_span <= BUDGET_BYTES_PER_SPAN
