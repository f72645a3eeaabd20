"""Metric queries shared by Dashboard widgets and AlertRules: what to aggregate, how, and over which spans."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from otelguard.api.v1alpha1.base import ApiModel, CelRule, present
from otelguard.api.v1alpha1.common import Identifier

Metric = Literal[
    "requests",
    "errors",
    "latency",
    "cost",
    "tokens",
    "input_tokens",
    "output_tokens",
    "score",
    "guardrail_events",
]
# Metrics that are event counts: only `count` makes sense for them.
COUNTED_METRICS: tuple[Metric, ...] = ("requests", "errors", "guardrail_events")
Aggregation = Literal["count", "sum", "avg", "min", "max", "p50", "p90", "p95", "p99"]
Dimension = Literal[
    "project",
    "environment",
    "release",
    "service",
    "model",
    "provider",
    "span_kind",
    "span_name",
    "prompt_name",
    "prompt_version",
    "user_id",
    "session_id",
    "score_name",
    "policy",
    "validator",
    "action",
    "tag",
]
FilterOperator = Literal["eq", "neq", "in", "not_in", "contains"]
FilterValue = Annotated[str, StringConstraints(min_length=1, max_length=256)]


class Filter(ApiModel):
    """A condition on one dimension; every filter of a query must hold."""

    cel_rules = (
        CelRule(
            rule="self.operator in ['in', 'not_in'] || self.values.size() == 1",
            message="operators other than in and not_in take exactly one value",
            field_path=".values",
            check=lambda o: o["operator"] in ("in", "not_in") or len(o["values"]) == 1,
        ),
    )

    field: Dimension = Field(description="The dimension to test.")
    operator: FilterOperator = Field(
        "eq", description="eq, neq and contains take one value; in, not_in many."
    )
    values: list[FilterValue] = Field(min_length=1, max_length=64, description="Values to compare with.")


class MetricQuery(ApiModel):
    """A metric aggregated over the spans that match all filters."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule="(self.metric == 'score') == has(self.scoreName)",
            message="scoreName must be set for metric score, and only for it",
            field_path=".scoreName",
            check=lambda o: (o["metric"] == "score") == present(o, "scoreName"),
        ),
        CelRule(
            rule="!(self.metric in ['requests', 'errors', 'guardrail_events'])"
            " || self.aggregation == 'count'",
            message="requests, errors and guardrail_events are counted: use aggregation count",
            field_path=".aggregation",
            check=lambda o: o["metric"] not in COUNTED_METRICS or o["aggregation"] == "count",
        ),
    )

    metric: Metric = Field(description="What to measure.")
    aggregation: Aggregation = Field(description="How values are combined per time bucket and group.")
    score_name: Identifier | None = Field(
        None, description="For metric score: which score (Evaluator score name)."
    )
    filters: list[Filter] = Field(
        default_factory=list, max_length=16, description="Restrict the spans measured."
    )
