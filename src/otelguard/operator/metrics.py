"""Prometheus metrics of the operator."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

RECONCILES = Counter(
    "otelguard_operator_reconciles_total", "Reconciles by kind and outcome", ["kind", "ready"]
)
ERRORS = Counter("otelguard_operator_errors_total", "Reconciles that raised, by kind", ["kind"])
WRITES = Counter(
    "otelguard_operator_writes_total", "Children applied, rows written and status patches, by kind", ["kind"]
)
DURATION = Histogram(
    "otelguard_operator_reconcile_seconds",
    "Duration of one reconcile",
    ["kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
