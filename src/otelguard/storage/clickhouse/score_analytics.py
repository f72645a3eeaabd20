"""Score analytics: aggregates by time bucket and dimension, and comparison of two dimension values.

Every query reads ``scores FINAL`` (de-duplicated, see ``scores.py``) for one project and one score name,
restricted to one data type (given, or the name's most frequent one). Numeric and boolean scores get
count, mean, stddev, min, max and p50/p90/p95/p99 (boolean: the mean is the share of ``true``);
categorical scores get counts per category. A distribution comes with every series: a histogram on
shared bin edges (numeric) or counts per value (boolean, categorical).

Dimensions and how scores are joined to their spans and traces: ``score_source``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from otelguard.storage.clickhouse.score_source import (
    DIMENSIONS,
    JOIN_SETTINGS,
    Dimension,
    ScoreProfile,
    needs_levels,
    num,
    score_profiles,
    scored_source,
)
from otelguard.storage.clickhouse.scores import ScoreFilter
from otelguard.storage.clickhouse.transport import ClickHouseTransport
from otelguard.storage.score_stats import chi_square_test, welch_t_test
from otelguard.storage.score_validation import DataType

__all__ = [
    "BUCKETS",
    "DIMENSIONS",
    "MAX_ROWS",
    "AggregateQuery",
    "Bucket",
    "CompareQuery",
    "Dimension",
    "HistogramBin",
    "ScoreAggregate",
    "ScoreAnalyticsError",
    "ScoreComparison",
    "ScorePoint",
    "ScoreSeries",
    "ScoreStats",
    "SignificanceTest",
    "aggregate_scores",
    "compare_scores",
]

Bucket = Literal["1h", "1d", "1w", "all"]
BUCKETS: dict[str, tuple[str, int]] = {
    "1h": ("INTERVAL 1 HOUR", 3600 * 10**9),
    "1d": ("INTERVAL 1 DAY", 86400 * 10**9),
    "1w": ("INTERVAL 1 WEEK", 7 * 86400 * 10**9),
}
MAX_BUCKETS = 10_000
MAX_ROWS = 50_000
_QUANTILES = "quantiles(0.5, 0.9, 0.95, 0.99)(v)"
# Numeric/boolean aggregation in one pass over the scores, two levels: partial states per (dimension,
# bucket, histogram bin), then merged per bucket, per series (totals) and per bin (histogram) with
# GROUPING SETS over those few rows. Measured on 2M scores: ~2x faster than GROUPING SETS over the raw
# rows with a sumMap histogram, and the totals need no second quantile pass.
_NUMERIC_SQL = """SELECT bucket_ns, dim, bin, sum(n) AS cnt, sum(s) / cnt AS mean, varSampMerge(vs) AS var,
    sqrt(var) AS sd, min(lo_) AS lo, max(hi_) AS hi, quantilesMerge(0.5, 0.9, 0.95, 0.99)(qs) AS q,
    sum(nt) AS n_true, grouping(bucket_ns) AS total, grouping(bin) = 0 AND grouping(bucket_ns) = 1 AS by_bin
FROM (
    SELECT {bucket} AS bucket_ns, dim,
        least(toUInt32(greatest(0, floor((v - {{h_lo:Float64}}) / {{h_width:Float64}}))),
              {{h_last:UInt32}}) AS bin,
        count() AS n, sum(v) AS s, varSampState(v) AS vs, min(v) AS lo_, max(v) AS hi_,
        quantilesState(0.5, 0.9, 0.95, 0.99)(v) AS qs, countIf(v != 0) AS nt
    FROM {source}
    {array_join}
    GROUP BY dim, bucket_ns, bin
)
GROUP BY GROUPING SETS ((dim, bucket_ns), (dim), (dim, bin))
ORDER BY dim, total DESC, by_bin, bucket_ns, bin
"""
_NUMERIC_AGGS = (
    "count() AS n, avg(v) AS mean, stddevSamp(v) AS sd, varSamp(v) AS var, min(v) AS lo, max(v) AS hi, "
    f"{_QUANTILES} AS q, countIf(v != 0) AS n_true"
)


class ScoreAnalyticsError(ValueError):
    """The analytics request cannot be answered as asked (the API answers 400)."""


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    data_type: DataType | None = Field(None, description="Default: the name's most frequent data type")
    source: str | None = Field(None, max_length=32)
    evaluator_name: str | None = Field(None, max_length=256)
    start_ns: int = Field(ge=0, lt=2**63)
    end_ns: int = Field(ge=0, lt=2**63)

    def score_filter(self, data_type: str | None) -> ScoreFilter:
        return ScoreFilter(
            name=self.name,
            data_type=data_type,
            source=self.source,
            evaluator_name=self.evaluator_name,
            start_ns=self.start_ns,
            end_ns=self.end_ns,
        )

    def check_range(self) -> None:
        if self.start_ns >= self.end_ns:
            raise ScoreAnalyticsError("start must be before end")


class AggregateQuery(_Base):
    bucket: Bucket = "1d"
    group_by: Dimension | None = None
    bins: int = Field(20, ge=1, le=100, description="Histogram bins (numeric scores)")


class CompareQuery(_Base):
    dimension: Dimension
    a: str = Field(max_length=512, description="The reference value of the dimension")
    b: str = Field(max_length=512, description="The value compared against a")


class ScoreStats(BaseModel):
    count: int
    mean: float | None = Field(None, description="boolean: the share of true")
    stddev: float | None = None
    min: float | None = None
    max: float | None = None
    p50: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    categories: dict[str, int] | None = Field(None, description="Counts per value (boolean, categorical)")


class ScorePoint(ScoreStats):
    time: int = Field(description="Bucket start, ns since the epoch (UTC)")


class HistogramBin(BaseModel):
    lower: float
    upper: float
    count: int


class ScoreSeries(BaseModel):
    dimension: str | None = Field(description="The group_by value (None without group_by)")
    total: ScoreStats
    points: list[ScorePoint]
    histogram: list[HistogramBin] | None = Field(None, description="numeric: shared bin edges")


class ScoreAggregate(BaseModel):
    name: str
    data_type: DataType
    bucket: Bucket
    group_by: Dimension | None
    start_time: int
    end_time: int
    series: list[ScoreSeries]
    truncated: bool = Field(description=f"More than {MAX_ROWS} result rows: the rest were dropped")


class SignificanceTest(BaseModel):
    method: Literal["welch_t", "chi_square"]
    statistic: float
    df: float
    p_value: float


class ScoreComparison(BaseModel):
    name: str
    data_type: DataType
    dimension: Dimension
    a: str
    b: str
    stats_a: ScoreStats
    stats_b: ScoreStats
    mean_difference: float | None = Field(None, description="mean(b) - mean(a) (numeric, boolean)")
    test: SignificanceTest | None = Field(
        None, description="Welch's t-test (numeric, boolean) or chi-square (categorical); None if undefined"
    )


def _resolve(
    transport: ClickHouseTransport, project_id: str, q: _Base, dimension: str | None, database: str | None
) -> tuple[ScoreProfile, ScoreFilter]:
    profiles = score_profiles(
        transport, project_id, q.score_filter(None), database, levels=needs_levels(dimension)
    )
    if q.data_type is not None:
        profile = profiles.get(q.data_type, ScoreProfile(q.data_type, None, None))
    else:
        profile = next(iter(profiles.values()), ScoreProfile("numeric", None, None))
    if profile.data_type not in ("numeric", "boolean", "categorical"):
        raise ScoreAnalyticsError(f"scores named {q.name!r} have an unknown data type {profile.data_type!r}")
    return profile, q.score_filter(profile.data_type)


def _bucket_expr(bucket: str) -> str:
    if bucket == "all":
        return "{start_ns:Int64}"
    interval = BUCKETS[bucket][0]
    return f"toInt64(toUnixTimestamp(toStartOfInterval(toDateTime(ts), {interval}))) * 1000000000"


def _stats(row: dict[str, Any], data_type: str) -> ScoreStats:
    n = int(row["cnt"] if "cnt" in row else row["n"])
    if data_type == "categorical":
        return ScoreStats(count=n, categories={})
    q = row.get("q") or [None] * 4
    stats = ScoreStats(
        count=n,
        mean=num(row["mean"]),
        stddev=num(row["sd"]),
        min=num(row["lo"]),
        max=num(row["hi"]),
        p50=num(q[0]),
        p90=num(q[1]),
        p95=num(q[2]),
        p99=num(q[3]),
    )
    if data_type == "boolean":
        stats.categories = {"true": int(row["n_true"]), "false": n - int(row["n_true"])}
    return stats


def aggregate_scores(
    transport: ClickHouseTransport, project_id: str, q: AggregateQuery, *, database: str | None = None
) -> ScoreAggregate:
    """Per-bucket and total statistics of one score name, by an optional dimension: one pass over the
    de-duplicated scores (after a cheap range probe that fixes the data type and histogram edges)."""
    q.check_range()
    if q.bucket != "all" and (q.end_ns - q.start_ns) // BUCKETS[q.bucket][1] > MAX_BUCKETS:
        raise ScoreAnalyticsError(f"the time range spans more than {MAX_BUCKETS} buckets of {q.bucket}")
    profile, flt = _resolve(transport, project_id, q, q.group_by, database)
    result = ScoreAggregate(
        name=q.name,
        data_type=profile.data_type,
        bucket=q.bucket,
        group_by=q.group_by,
        start_time=q.start_ns,
        end_time=q.end_ns,
        series=[],
        truncated=False,
    )
    if profile.lo is None or profile.hi is None:
        return result  # no scores at all
    params: dict[str, Any] = {"max_rows": MAX_ROWS + 1, "start_ns": q.start_ns}
    source, array_join = scored_source(
        transport, project_id, flt, q.group_by, params, database=database,
        span_level=profile.span_level, trace_level=profile.trace_level,
    )  # fmt: skip
    bucket = _bucket_expr(q.bucket)
    bins = q.bins if profile.hi > profile.lo and profile.data_type == "numeric" else 1
    edges = _edges(profile.lo, profile.hi, bins)
    if profile.data_type == "categorical":
        sql = (
            f"SELECT {bucket} AS bucket_ns, dim, sv, count() AS n, grouping(bucket_ns) AS total,\n"
            "    0 AS by_bin\n"
            f"FROM {source}\n{array_join}\nGROUP BY GROUPING SETS ((dim, bucket_ns, sv), (dim, sv))\n"
            "ORDER BY dim, total DESC, bucket_ns, sv\n"
        )
    else:
        params.update(h_lo=profile.lo, h_width=(edges[1] - edges[0]) or 1.0, h_last=bins - 1)
        sql = _NUMERIC_SQL.format(bucket=bucket, source=source, array_join=array_join)
    rows = transport.query(sql + "LIMIT {max_rows:UInt32}\n" + JOIN_SETTINGS, params)
    result.truncated = len(rows) > MAX_ROWS
    result.series = list(_series(rows[:MAX_ROWS], profile.data_type, q.group_by is not None, edges).values())
    return result


def _edges(lo: float, hi: float, bins: int) -> list[float]:
    width = (hi - lo) / bins if hi > lo else 1.0
    return [lo + i * width for i in range(bins)] + [hi if hi > lo else lo + 1.0]


def _series(
    rows: list[dict[str, Any]], data_type: str, grouped: bool, edges: list[float]
) -> dict[str, ScoreSeries]:
    series: dict[str, ScoreSeries] = {}
    points: dict[tuple[str, int], ScorePoint] = {}
    for row in rows:
        dim = str(row["dim"])
        total = bool(row["total"])
        if dim not in series:
            series[dim] = ScoreSeries(
                dimension=dim if grouped else None, total=ScoreStats(count=0), points=[]
            )
        s = series[dim]
        if data_type != "categorical":
            if row["by_bin"]:
                if data_type == "numeric":
                    if s.histogram is None:
                        s.histogram = [
                            HistogramBin(lower=edges[i], upper=edges[i + 1], count=0)
                            for i in range(len(edges) - 1)
                        ]
                    s.histogram[int(row["bin"])].count = int(row["cnt"])
                continue
            stats = _stats(row, data_type)
            if total:
                s.total = stats
            else:
                s.points.append(ScorePoint(time=int(row["bucket_ns"]), **stats.model_dump()))
            continue
        # Categorical rows are (bucket, value) counts: fold them into per-bucket points.
        target: ScoreStats
        if total:
            target = s.total
        else:
            key = (dim, int(row["bucket_ns"]))
            if key not in points:
                points[key] = ScorePoint(time=key[1], count=0, categories={})
                s.points.append(points[key])
            target = points[key]
        n = int(row["n"])
        target.count += n
        target.categories = {**(target.categories or {}), str(row["sv"]): n}
    return series


def compare_scores(
    transport: ClickHouseTransport, project_id: str, q: CompareQuery, *, database: str | None = None
) -> ScoreComparison:
    """Statistics of the scores under dimension value ``a`` and ``b``, their difference and a test."""
    q.check_range()
    if q.a == q.b:
        raise ScoreAnalyticsError("a and b must be different values")
    profile, flt = _resolve(transport, project_id, q, q.dimension, database)
    data_type = profile.data_type
    params: dict[str, Any] = {"a": q.a, "b": q.b}
    source, array_join = scored_source(
        transport, project_id, flt, q.dimension, params, database=database,
        span_level=profile.span_level, trace_level=profile.trace_level,
    )  # fmt: skip
    if data_type == "categorical":
        select, group = "dim, sv, count() AS n", "dim, sv LIMIT 20000"
    else:
        select, group = f"dim, {_NUMERIC_AGGS}", "dim"
    rows = transport.query(
        f"SELECT {select}\nFROM {source}\n{array_join}\n"
        f"WHERE dim IN ({{a:String}}, {{b:String}})\nGROUP BY {group}\n{JOIN_SETTINGS}",
        params,
    )
    stats = {q.a: ScoreStats(count=0), q.b: ScoreStats(count=0)}
    variances: dict[str, float] = {}
    if data_type == "categorical":
        for value in stats.values():
            value.categories = {}
        for row in rows:
            target = stats[str(row["dim"])]
            target.count += int(row["n"])
            target.categories = {**(target.categories or {}), str(row["sv"]): int(row["n"])}
    else:
        for row in rows:
            stats[str(row["dim"])] = _stats(row, data_type)
            variances[str(row["dim"])] = float(row["var"]) if row["var"] is not None else 0.0
    sa, sb = stats[q.a], stats[q.b]
    result = ScoreComparison(
        name=q.name,
        data_type=data_type,
        dimension=q.dimension,
        a=q.a,
        b=q.b,
        stats_a=sa,
        stats_b=sb,
    )
    if data_type == "categorical":
        labels = sorted(set(sa.categories or {}) | set(sb.categories or {}))
        table = [[(s.categories or {}).get(label, 0) for label in labels] for s in (sa, sb)]
        chi = chi_square_test(table)
        if chi is not None:
            result.test = SignificanceTest(method="chi_square", **_fields(chi))
        return result
    if sa.mean is not None and sb.mean is not None:
        result.mean_difference = sb.mean - sa.mean
        welch = welch_t_test(
            sa.mean, variances.get(q.a, 0.0), sa.count, sb.mean, variances.get(q.b, 0.0), sb.count
        )
        if welch is not None:
            result.test = SignificanceTest(method="welch_t", **_fields(welch))
    return result


def _fields(test: Any) -> dict[str, float]:
    return {"statistic": test.statistic, "df": test.df, "p_value": test.p_value}
