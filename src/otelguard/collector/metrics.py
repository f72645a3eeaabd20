"""Prometheus metrics of the collector (served at ``/metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "otelguard_collector_requests_total",
    "OTLP export requests by transport and outcome",
    ["transport", "code"],
)
SPANS_ACCEPTED = Counter(
    "otelguard_collector_spans_accepted_total", "Spans accepted (spooled)", ["transport"]
)
SPANS_REJECTED = Counter(
    "otelguard_collector_spans_rejected_total", "Spans rejected via OTLP partial success", ["transport"]
)
SPANS_WRITTEN = Counter("otelguard_collector_spans_written_total", "Spans written to ClickHouse")
WRITE_ERRORS = Counter("otelguard_collector_write_errors_total", "Failed store writes (retried)")
FLUSH_SECONDS = Histogram(
    "otelguard_collector_flush_seconds",
    "Duration of one batch insert into ClickHouse",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.8, 1.0, 2.5, 5.0, 10.0),
)
QUEUE_SPANS = Gauge("otelguard_collector_queue_spans", "Spans accepted but not yet written")
