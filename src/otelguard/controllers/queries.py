"""Checks of metric queries (Dashboard widgets, AlertRule queries) beyond the schema's CEL rules.

Some dimensions exist only for one metric: ``score_name`` for scores, ``policy``/``validator``/``action``
for guardrail events. Grouping or filtering other metrics by them can only return an empty chart, so it
is rejected with a message naming the metric that has the dimension.
"""

from __future__ import annotations

from otelguard.api.v1alpha1.query import MetricQuery

# Dimension -> the only metric that has it.
METRIC_ONLY_DIMENSIONS = {
    "score_name": "score",
    "policy": "guardrail_events",
    "validator": "guardrail_events",
    "action": "guardrail_events",
}


def query_problems(query: MetricQuery, where: str, dimensions: list[str] | None = None) -> list[str]:
    """Messages (prefixed with ``where``) for dimensions/filters the query's metric does not have."""
    out: list[str] = []
    used = [(f"dimensions[{i}]", d) for i, d in enumerate(dimensions or [])]
    used += [(f"filters[{i}].field", f.field) for i, f in enumerate(query.filters)]
    for path, dim in used:
        only = METRIC_ONLY_DIMENSIONS.get(dim)
        if only is not None and query.metric != only:
            out.append(f"{where}.{path}: {dim} exists only for metric {only}, not {query.metric}")
    return out
