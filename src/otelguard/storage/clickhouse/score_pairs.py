"""Scores compared item by item: correlation between two scores, agreement between two sources.

An item is what a score is about: its span (trace id + span id), else its trace, else its session.
Two sides select scores by name, source and evaluator; an item counts when both sides scored it.

- Correlation: per item, the mean value of each side; Pearson's r and Spearman's rho (Pearson of
  average ranks, so ties are handled the textbook way — ClickHouse's ``rankCorr`` is not) in SQL.
- Agreement: per item, each side's latest label (categorical: the string value; boolean: true/false;
  numeric: the value as text, e.g. a 1-5 rating); ClickHouse returns the confusion matrix, Python turns
  it into Cohen's kappa and precision/recall/F1 with side A as the reference.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from otelguard.storage.clickhouse.score_analytics import ScoreAnalyticsError
from otelguard.storage.clickhouse.scores import ScoreFilter, score_filter_sql
from otelguard.storage.clickhouse.traces import qualified_table
from otelguard.storage.clickhouse.transport import ClickHouseTransport
from otelguard.storage.score_stats import class_metrics, cohen_kappa

__all__ = [
    "MAX_MATRIX_CELLS",
    "AgreementQuery",
    "ConfusionCell",
    "CorrelationQuery",
    "LabelMetrics",
    "ScoreAgreement",
    "ScoreCorrelation",
    "ScoreSide",
    "score_agreement",
    "score_correlation",
]

MAX_MATRIX_CELLS = 10_000
_ITEM = (
    "multiIf(trace_id != '' AND span_id != '', concat('s:', trace_id, ':', span_id), "
    "trace_id != '', concat('t:', trace_id), concat('session:', session_id))"
)
_LABEL = (
    "multiIf(data_type = 'categorical', string_value, data_type = 'boolean', "
    "if(value != 0, 'true', 'false'), toString(value))"
)


class ScoreSide(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=200)
    source: str | None = Field(None, max_length=32)
    evaluator_name: str | None = Field(None, max_length=256)


class _PairQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    a: ScoreSide
    b: ScoreSide
    start_ns: int = Field(ge=0, lt=2**63)
    end_ns: int = Field(ge=0, lt=2**63)


class CorrelationQuery(_PairQuery):
    pass


class AgreementQuery(_PairQuery):
    pass


class ScoreCorrelation(BaseModel):
    a: ScoreSide
    b: ScoreSide
    n: int = Field(description="Items scored by both sides")
    pearson: float | None = Field(description="None for fewer than two items or a constant side")
    spearman: float | None
    mean_a: float | None
    mean_b: float | None


class ConfusionCell(BaseModel):
    a: str
    b: str
    count: int


class LabelMetrics(BaseModel):
    label: str
    precision: float | None = Field(description="None: B never gave this label")
    recall: float | None = Field(description="None: A never gave this label")
    f1: float | None
    support: int = Field(description="Items A labelled so")


class ScoreAgreement(BaseModel):
    a: ScoreSide
    b: ScoreSide
    n: int = Field(description="Items labelled by both sides")
    observed_agreement: float | None
    kappa: float | None = Field(description="Cohen's kappa")
    macro_f1: float | None = Field(description="Mean F1 over the labels A used (A is the reference)")
    positive: LabelMetrics | None = Field(None, description="boolean scores: the metrics of 'true'")
    labels: list[LabelMetrics]
    matrix: list[ConfusionCell]


def _sides(q: _PairQuery, params: dict[str, Any], project_id: str) -> tuple[str, str]:
    """WHERE over both sides and the multiIf giving a row's side (1 = A, 2 = B, 0 = neither)."""
    params["project_id"] = project_id
    base = score_filter_sql(ScoreFilter(start_ns=q.start_ns, end_ns=q.end_ns), params)
    conds = []
    for prefix, side in (("a_", q.a), ("b_", q.b)):
        flt = ScoreFilter(name=side.name, source=side.source, evaluator_name=side.evaluator_name)
        conds.append(" AND ".join(score_filter_sql(flt, params, prefix=prefix)))
    where = " AND ".join(["project_id = {project_id:String}", *base, f"(({conds[0]}) OR ({conds[1]}))"])
    return where, f"multiIf({conds[0]}, 1, {conds[1]}, 2, 0)"


def _check(q: _PairQuery) -> None:
    if q.start_ns >= q.end_ns:
        raise ScoreAnalyticsError("start must be before end")
    if q.a == q.b:
        raise ScoreAnalyticsError("the two sides select the same scores: change a name, source or evaluator")


def score_correlation(
    transport: ClickHouseTransport, project_id: str, q: CorrelationQuery, *, database: str | None = None
) -> ScoreCorrelation:
    _check(q)
    params: dict[str, Any] = {}
    where, side = _sides(q, params, project_id)
    rows = transport.query(
        "SELECT count() AS n, corr(a, b) AS pearson, corr(ra, rb) AS spearman, avg(a) AS mean_a,\n"
        "    avg(b) AS mean_b\n"
        "FROM (\n"
        "    SELECT a, b,\n"
        "        rank() OVER (ORDER BY a) + (count() OVER (PARTITION BY a) - 1) / 2 AS ra,\n"
        "        rank() OVER (ORDER BY b) + (count() OVER (PARTITION BY b) - 1) / 2 AS rb\n"
        "    FROM (\n"
        "        SELECT item, avgIf(value, side = 1) AS a, avgIf(value, side = 2) AS b\n"
        f"        FROM (SELECT {_ITEM} AS item, value, {side} AS side\n"
        f"              FROM {qualified_table(transport, database, 'scores')} FINAL WHERE {where})\n"
        "        GROUP BY item HAVING countIf(side = 1) > 0 AND countIf(side = 2) > 0\n"
        "    )\n"
        ")",
        params,
    )
    row = rows[0] if rows else {"n": 0}
    n = int(row["n"])

    def num(key: str) -> float | None:
        value = row.get(key)
        return None if (n < 2 and key in ("pearson", "spearman")) or value is None else float(value)

    return ScoreCorrelation(
        a=q.a,
        b=q.b,
        n=n,
        pearson=num("pearson"),
        spearman=num("spearman"),
        mean_a=num("mean_a") if n else None,
        mean_b=num("mean_b") if n else None,
    )


def score_agreement(
    transport: ClickHouseTransport, project_id: str, q: AgreementQuery, *, database: str | None = None
) -> ScoreAgreement:
    _check(q)
    params: dict[str, Any] = {"max_cells": MAX_MATRIX_CELLS + 1}
    where, side = _sides(q, params, project_id)
    rows = transport.query(
        "SELECT la, lb, count() AS n, any(boolean) AS boolean\n"
        "FROM (\n"
        "    SELECT item, argMaxIf(label, ts, side = 1) AS la, argMaxIf(label, ts, side = 2) AS lb,\n"
        "        min(data_type = 'boolean') AS boolean\n"
        f"    FROM (SELECT {_ITEM} AS item, {_LABEL} AS label, timestamp AS ts, data_type, {side} AS side\n"
        f"          FROM {qualified_table(transport, database, 'scores')} FINAL WHERE {where})\n"
        "    GROUP BY item HAVING countIf(side = 1) > 0 AND countIf(side = 2) > 0\n"
        ")\nGROUP BY la, lb ORDER BY n DESC, la, lb LIMIT {max_cells:UInt32}",
        params,
    )
    if len(rows) > MAX_MATRIX_CELLS:
        raise ScoreAnalyticsError(
            f"more than {MAX_MATRIX_CELLS} distinct label pairs: agreement needs categorical, boolean or "
            "discrete numeric scores"
        )
    matrix = {(str(r["la"]), str(r["lb"])): int(r["n"]) for r in rows}
    n = sum(matrix.values())
    reference = {a for a, _ in matrix}
    labels = [_label_metrics(matrix, label) for label in sorted(reference | {b for _, b in matrix})]
    f1s = [m.f1 if m.f1 is not None else 0.0 for m in labels if m.label in reference]
    boolean = bool(rows) and all(bool(r["boolean"]) for r in rows)
    return ScoreAgreement(
        a=q.a,
        b=q.b,
        n=n,
        observed_agreement=sum(c for (la, lb), c in matrix.items() if la == lb) / n if n else None,
        kappa=cohen_kappa(matrix),
        macro_f1=sum(f1s) / len(f1s) if f1s else None,
        positive=_label_metrics(matrix, "true") if boolean else None,
        labels=labels,
        matrix=[ConfusionCell(a=a, b=b, count=c) for (a, b), c in matrix.items()],
    )


def _label_metrics(matrix: dict[tuple[str, str], int], label: str) -> LabelMetrics:
    m = class_metrics(matrix, label)
    return LabelMetrics(label=label, precision=m.precision, recall=m.recall, f1=m.f1, support=m.support)
