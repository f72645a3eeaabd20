"""Score analytics routes under ``/api/v1/scores``: aggregate, compare, correlation, agreement (mounted by
``routers.scores``). Time ranges default to the 7 days before ``end`` (or now)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import ValidationError

from otelguard.storage.clickhouse.score_analytics import (
    AggregateQuery,
    CompareQuery,
    Dimension,
    ScoreAggregate,
    ScoreAnalyticsError,
    ScoreComparison,
    aggregate_scores,
    compare_scores,
)
from otelguard.storage.clickhouse.score_pairs import (
    AgreementQuery,
    CorrelationQuery,
    ScoreAgreement,
    ScoreCorrelation,
    ScoreSide,
    score_agreement,
    score_correlation,
)
from otelguard.storage.score_validation import DataType
from otelguard.webui.params import API_ERRORS, End, Start, bad_request, reject_unknown_params
from otelguard.webui.routers.score_common import EvaluatorParam, SourceParam, time_window
from otelguard.webui.security import Authenticated, Context

__all__ = ["router"]

router = APIRouter(tags=["scores"], responses=API_ERRORS)
_checked = [Depends(reject_unknown_params)]
_Name = Annotated[str, Query(min_length=1, max_length=200, description="Score name")]
_DataType = Annotated[DataType | None, Query(description="Default: the name's most frequent data type")]


@router.get(
    "/scores/aggregate",
    response_model=ScoreAggregate,
    summary="Statistics of one score by time bucket and an optional dimension (default: last 7 days)",
    dependencies=_checked,
)
def aggregate(
    ctx: Context,
    who: Authenticated,
    name: _Name,
    data_type: _DataType = None,
    bucket: Annotated[Literal["1h", "1d", "1w", "all"], Query(description="all: one bucket")] = "1d",
    group_by: Annotated[Dimension | None, Query(description="One dimension to split series by")] = None,
    source: SourceParam = None,
    evaluator: EvaluatorParam = None,
    bins: Annotated[int, Query(ge=1, le=100, description="Histogram bins (numeric scores)")] = 20,
    start: Start = None,
    end: End = None,
) -> ScoreAggregate:
    start_ns, end_ns = time_window(start, end)
    try:
        q = AggregateQuery(
            name=name,
            data_type=data_type,
            bucket=bucket,
            group_by=group_by,
            source=source,
            evaluator_name=evaluator,
            bins=bins,
            start_ns=start_ns,
            end_ns=end_ns,
        )
        return aggregate_scores(ctx.clickhouse, who.project_id, q)
    except (ValidationError, ScoreAnalyticsError) as exc:
        raise bad_request(exc) from None


@router.get(
    "/scores/compare",
    response_model=ScoreComparison,
    summary="One score under two values of a dimension: both statistics, the difference and a test",
    dependencies=_checked,
)
def compare(
    ctx: Context,
    who: Authenticated,
    name: _Name,
    dimension: Annotated[Dimension, Query()],
    a: Annotated[str, Query(max_length=512, description="Reference value, e.g. a model")],
    b: Annotated[str, Query(max_length=512, description="Value compared against a")],
    data_type: _DataType = None,
    source: SourceParam = None,
    evaluator: EvaluatorParam = None,
    start: Start = None,
    end: End = None,
) -> ScoreComparison:
    start_ns, end_ns = time_window(start, end)
    try:
        q = CompareQuery(
            name=name,
            dimension=dimension,
            a=a,
            b=b,
            data_type=data_type,
            source=source,
            evaluator_name=evaluator,
            start_ns=start_ns,
            end_ns=end_ns,
        )
        return compare_scores(ctx.clickhouse, who.project_id, q)
    except (ValidationError, ScoreAnalyticsError) as exc:
        raise bad_request(exc) from None


@dataclass(frozen=True, slots=True)
class _Pair:
    """What correlation and agreement share: which source/evaluator each side takes, and the window."""

    source_a: str | None
    source_b: str | None
    evaluator_a: str | None
    evaluator_b: str | None
    start_ns: int
    end_ns: int

    def sides(self, name_a: str, name_b: str) -> tuple[ScoreSide, ScoreSide]:
        return (
            ScoreSide(name=name_a, source=self.source_a, evaluator_name=self.evaluator_a),
            ScoreSide(name=name_b, source=self.source_b, evaluator_name=self.evaluator_b),
        )


def _pair(
    source_a: SourceParam = None,
    source_b: SourceParam = None,
    evaluator_a: EvaluatorParam = None,
    evaluator_b: EvaluatorParam = None,
    start: Start = None,
    end: End = None,
) -> _Pair:
    return _Pair(source_a, source_b, evaluator_a, evaluator_b, *time_window(start, end))


Pair = Annotated[_Pair, Depends(_pair)]


@router.get(
    "/scores/correlation",
    response_model=ScoreCorrelation,
    summary="Pearson and Spearman correlation of two scores on the same spans/traces",
    dependencies=_checked,
)
def correlation(
    ctx: Context,
    who: Authenticated,
    name_a: _Name,
    name_b: _Name,
    pair: Pair,
) -> ScoreCorrelation:
    try:
        a, b = pair.sides(name_a, name_b)
        q = CorrelationQuery(a=a, b=b, start_ns=pair.start_ns, end_ns=pair.end_ns)
        return score_correlation(ctx.clickhouse, who.project_id, q)
    except (ValidationError, ScoreAnalyticsError) as exc:
        raise bad_request(exc) from None


@router.get(
    "/scores/agreement",
    response_model=ScoreAgreement,
    summary="Agreement of two sources on one score: Cohen's kappa, and F1 with source A as reference",
    dependencies=_checked,
)
def agreement(
    ctx: Context,
    who: Authenticated,
    name: _Name,
    pair: Pair,
) -> ScoreAgreement:
    try:
        a, b = pair.sides(name, name)
        q = AgreementQuery(a=a, b=b, start_ns=pair.start_ns, end_ns=pair.end_ns)
        return score_agreement(ctx.clickhouse, who.project_id, q)
    except (ValidationError, ScoreAnalyticsError) as exc:
        raise bad_request(exc) from None
