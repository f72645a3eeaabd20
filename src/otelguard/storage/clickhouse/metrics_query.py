"""Time-series metrics over traces or LLM generations: the query layer the API and dashboards share.

A ``MetricQuery`` names a metric, an aggregation, a time bucket, up to two dimensions and a time range;
``validate`` refuses combinations that mean nothing (``MetricQueryError``). SQL is assembled only from
the whitelisted fragments below; the project, times and everything else a caller sends are parameters.

Scopes: ``traces`` counts a trace as one request (latency = trace duration, cost/tokens = its totals,
error = it has an error span; dimensions model, user, session, tag — a trace with two models or tags
counts under each). ``generations`` counts LLM spans (kind ``llm``) and adds provider and
prompt_version (``name@vN``) dimensions. Time buckets follow the trace's / span's start, in UTC.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from otelguard.storage.clickhouse.traces import START_SLACK_NS, qualified_table
from otelguard.storage.clickhouse.transport import ClickHouseTransport

__all__ = [
    "AGGREGATIONS",
    "BUCKETS",
    "DIMENSIONS",
    "MAX_BUCKETS",
    "MAX_POINTS",
    "MetricPoint",
    "MetricQuery",
    "MetricQueryError",
    "MetricResult",
    "MetricSeries",
    "build_metric_sql",
    "query_metric",
]

Metric = Literal["latency", "cost", "tokens", "requests", "errors"]
Aggregation = Literal["p50", "p95", "p99", "avg", "sum", "count"]
Bucket = Literal["1m", "5m", "1h", "1d"]
Dimension = Literal["model", "user", "session", "tag", "prompt_version", "provider"]
Scope = Literal["traces", "generations"]

MAX_BUCKETS = 10_000
MAX_POINTS = 50_000
_NS = "fromUnixTimestamp64Nano({%s:Int64}, 'UTC')"
_MAX_NS = 2**63 - 1

AGGREGATIONS: dict[str, frozenset[str]] = {
    "latency": frozenset({"p50", "p95", "p99", "avg"}),
    "cost": frozenset({"sum", "avg", "p50", "p95", "p99"}),
    "tokens": frozenset({"sum", "avg", "p50", "p95", "p99"}),
    "requests": frozenset({"count"}),
    "errors": frozenset({"count", "avg"}),  # avg: the error rate
}
BUCKETS: dict[str, tuple[str, int]] = {
    "1m": ("INTERVAL 1 MINUTE", 60 * 10**9),
    "5m": ("INTERVAL 5 MINUTE", 300 * 10**9),
    "1h": ("INTERVAL 1 HOUR", 3600 * 10**9),
    "1d": ("INTERVAL 1 DAY", 86400 * 10**9),
}
# scope → dimension → (ARRAY JOIN clause or "", expression)
DIMENSIONS: dict[str, dict[str, tuple[str, str]]] = {
    "traces": {
        "model": ("ARRAY JOIN if(empty(d_models), [''], d_models) AS dim_model", "dim_model"),
        "tag": ("ARRAY JOIN if(empty(d_tags), [''], d_tags) AS dim_tag", "dim_tag"),
        "user": ("", "d_user"),
        "session": ("", "d_session"),
    },
    "generations": {
        "model": ("", "d_model"),
        "provider": ("", "d_provider"),
        "user": ("", "d_user"),
        "session": ("", "d_session"),
        "prompt_version": ("", "d_prompt"),
        "tag": ("ARRAY JOIN if(empty(d_tags), [''], d_tags) AS dim_tag", "dim_tag"),
    },
}
_VALUES = {"latency": "lat_ms", "cost": "cost", "tokens": "tokens"}
_QUANTILES = {"p50": "0.5", "p95": "0.95", "p99": "0.99"}

_TRACES_SOURCE = """SELECT
        min(t.start_time) AS ts,
        (toUnixTimestamp64Nano(max(t.end_time)) - toUnixTimestamp64Nano(min(t.start_time))) / 1e6 AS lat_ms,
        sum(t.total_cost) AS cost,
        sum(t.total_tokens) AS tokens,
        toUInt8(sum(t.error_count) > 0) AS is_error,
        max(t.user_id) AS d_user,
        max(t.session_id) AS d_session,
        groupUniqArrayArray(t.models) AS d_models,
        groupUniqArrayArray(t.tags) AS d_tags
    FROM {traces} AS t
    WHERE t.project_id = {{project_id:String}}
      AND t.start_time >= {floor} AND t.start_time < {ceil}
    GROUP BY t.trace_id
    HAVING ts >= {start} AND ts < {end}"""

_GENERATIONS_SOURCE = """SELECT
        s.start_time AS ts,
        (toUnixTimestamp64Nano(s.end_time) - toUnixTimestamp64Nano(s.start_time)) / 1e6 AS lat_ms,
        s.total_cost AS cost,
        s.total_tokens AS tokens,
        toUInt8(s.status_code = 'error') AS is_error,
        s.user_id AS d_user,
        s.session_id AS d_session,
        toString(s.model) AS d_model,
        toString(s.provider) AS d_provider,
        if(s.prompt_name = '', '',
           concat(toString(s.prompt_name), '@v', toString(s.prompt_version))) AS d_prompt,
        s.tags AS d_tags
    FROM {spans} AS s
    WHERE s.project_id = {{project_id:String}} AND s.kind = 'llm'
      AND s.start_time >= {start} AND s.start_time < {end}"""


class MetricQueryError(ValueError):
    """The metric query is not a valid combination (the API answers 400)."""


class MetricQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    metric: Metric
    agg: Aggregation
    bucket: Bucket = "1h"
    group_by: tuple[Dimension, ...] = Field(default=(), max_length=2)
    scope: Scope = "traces"
    start_ns: int = Field(ge=0, lt=2**63)
    end_ns: int = Field(ge=0, lt=2**63)

    def validate_combination(self) -> None:
        if self.agg not in AGGREGATIONS[self.metric]:
            allowed = ", ".join(sorted(AGGREGATIONS[self.metric]))
            raise MetricQueryError(
                f"agg={self.agg} does not apply to metric={self.metric} (use one of: {allowed})"
            )
        if len(set(self.group_by)) != len(self.group_by):
            raise MetricQueryError("group_by names a dimension twice")
        for dim in self.group_by:
            if dim not in DIMENSIONS[self.scope]:
                allowed = ", ".join(sorted(DIMENSIONS[self.scope]))
                raise MetricQueryError(
                    f"group_by={dim} is not available for scope={self.scope} (use: {allowed})"
                )
        if self.start_ns >= self.end_ns:
            raise MetricQueryError("start must be before end")
        if (self.end_ns - self.start_ns) // BUCKETS[self.bucket][1] > MAX_BUCKETS:
            raise MetricQueryError(f"the time range spans more than {MAX_BUCKETS} buckets of {self.bucket}")


class MetricPoint(BaseModel):
    time: int = Field(description="Bucket start, ns since the epoch (UTC)")
    value: float


class MetricSeries(BaseModel):
    dimensions: dict[str, str]
    points: list[MetricPoint]


class MetricResult(BaseModel):
    metric: Metric
    agg: Aggregation
    bucket: Bucket
    scope: Scope
    group_by: list[Dimension]
    start_time: int
    end_time: int
    series: list[MetricSeries]
    truncated: bool = Field(description=f"More than {MAX_POINTS} points: the rest were dropped")


def _value(metric: str, agg: str) -> str:
    if metric == "requests":
        return "toFloat64(count())"
    if metric == "errors":
        return "toFloat64(sum(is_error))" if agg == "count" else "avg(is_error)"
    column = _VALUES[metric]
    if agg in _QUANTILES:
        return f"toFloat64(quantile({_QUANTILES[agg]})({column}))"
    return f"toFloat64({agg}({column}))"


def build_metric_sql(
    transport: ClickHouseTransport, project_id: str, q: MetricQuery, *, database: str | None = None
) -> tuple[str, dict[str, Any]]:
    """The statement and its parameters (after ``q.validate_combination()``)."""
    q.validate_combination()
    params: dict[str, Any] = {
        "project_id": project_id,
        "start_ns": q.start_ns,
        "end_ns": q.end_ns,
        "max_points": MAX_POINTS + 1,
    }
    if q.scope == "traces":
        params["floor_ns"] = max(0, q.start_ns - START_SLACK_NS)
        params["ceil_ns"] = min(_MAX_NS, q.end_ns + START_SLACK_NS)
        source = _TRACES_SOURCE.format(
            traces=qualified_table(transport, database, "traces"),
            floor=_NS % "floor_ns",
            ceil=_NS % "ceil_ns",
            start=_NS % "start_ns",
            end=_NS % "end_ns",
        )
    else:
        source = _GENERATIONS_SOURCE.format(
            spans=qualified_table(transport, database, "spans"), start=_NS % "start_ns", end=_NS % "end_ns"
        )
    joins = []
    dims = []
    for i, dim in enumerate(q.group_by):
        join, expr = DIMENSIONS[q.scope][dim]
        if join:
            joins.append(join)
        dims.append(f"{expr} AS dim_{i}")
    interval = BUCKETS[q.bucket][0]
    select = [
        f"toInt64(toUnixTimestamp(toStartOfInterval(toDateTime(ts), {interval}))) * 1000000000 AS bucket_ns",
        *dims,
    ]
    group = ["bucket_ns", *(f"dim_{i}" for i in range(len(dims)))]
    sql = (
        f"SELECT {', '.join(select)}, {_value(q.metric, q.agg)} AS value\n"
        f"FROM (\n    {source}\n)\n"
        + "".join(f"{j}\n" for j in joins)
        + f"GROUP BY {', '.join(group)}\nORDER BY {', '.join(reversed(group[1:]))}"
        + (", " if len(group) > 1 else "")
        + "bucket_ns\nLIMIT {max_points:UInt32}"
    )
    return sql, params


def query_metric(
    transport: ClickHouseTransport, project_id: str, q: MetricQuery, *, database: str | None = None
) -> MetricResult:
    """The time series of ``q`` for the project: one series per combination of dimension values, points
    in time order (buckets without data are absent). MetricQueryError for invalid combinations."""
    sql, params = build_metric_sql(transport, project_id, q, database=database)
    rows = transport.query(sql, params)
    truncated = len(rows) > MAX_POINTS
    series: dict[tuple[str, ...], MetricSeries] = {}
    for row in rows[:MAX_POINTS]:
        key = tuple(str(row[f"dim_{i}"]) for i in range(len(q.group_by)))
        if key not in series:
            series[key] = MetricSeries(dimensions=dict(zip(q.group_by, key, strict=True)), points=[])
        value = row["value"]
        series[key].points.append(
            MetricPoint(time=int(row["bucket_ns"]), value=float(value) if value is not None else 0.0)
        )
    return MetricResult(
        metric=q.metric,
        agg=q.agg,
        bucket=q.bucket,
        scope=q.scope,
        group_by=list(q.group_by),
        start_time=q.start_ns,
        end_time=q.end_ns,
        series=list(series.values()),
        truncated=truncated,
    )
