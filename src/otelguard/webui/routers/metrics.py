"""``/api/v1/metrics``: time series of latency, cost, tokens, requests and errors, by up to two dimensions."""

from __future__ import annotations

import time
from typing import Annotated, Literal, get_args

from fastapi import APIRouter, Depends, Query
from pydantic import ValidationError

from otelguard.storage.clickhouse import MetricQuery, MetricQueryError, MetricResult, query_metric
from otelguard.storage.clickhouse.metrics_query import Dimension
from otelguard.webui.params import API_ERRORS, End, Start, bad_request, reject_unknown_params, time_range
from otelguard.webui.security import Authenticated, Context

router = APIRouter(
    prefix="/api/v1/metrics",
    tags=["metrics"],
    dependencies=[Depends(reject_unknown_params)],
    responses=API_ERRORS,
)
_DAY_NS = 86_400 * 10**9
_DIMENSIONS = set(get_args(Dimension))


@router.get("", response_model=MetricResult, summary="A metric as time series (default: the last 24 hours)")
def metric(
    ctx: Context,
    who: Authenticated,
    metric: Annotated[Literal["latency", "cost", "tokens", "requests", "errors"], Query()],
    agg: Annotated[
        Literal["p50", "p95", "p99", "avg", "sum", "count"],
        Query(
            description="latency: p50/p95/p99/avg; cost, tokens: sum/avg/p50/p95/p99; requests: count; "
            "errors: count or avg (the error rate)"
        ),
    ],
    bucket: Annotated[Literal["1m", "5m", "1h", "1d"], Query()] = "1h",
    group_by: Annotated[
        list[str] | None,
        Query(
            description="0-2 of model, user, session, tag, prompt_version, provider (repeat or use commas)"
        ),
    ] = None,
    scope: Annotated[
        Literal["traces", "generations"],
        Query(
            description="traces: one request per trace; generations: one per LLM call (adds provider, "
            "prompt_version)"
        ),
    ] = "traces",
    start: Start = None,
    end: End = None,
) -> MetricResult:
    start_ns, end_ns = time_range(start, end)
    if end_ns is None:
        end_ns = time.time_ns() if start_ns is None else start_ns + _DAY_NS
    if start_ns is None:
        start_ns = max(0, end_ns - _DAY_NS)
    dims = [d.strip() for value in group_by or [] for d in value.split(",") if d.strip()]
    unknown = [d for d in dims if d not in _DIMENSIONS]
    if unknown:
        raise bad_request(ValueError(f"unknown group_by dimension(s): {', '.join(unknown[:5])}"))
    if len(dims) > 2:
        raise bad_request(ValueError("group_by takes at most two dimensions"))
    try:
        q = MetricQuery(
            metric=metric,
            agg=agg,
            bucket=bucket,
            group_by=tuple(dims),
            scope=scope,
            start_ns=start_ns,
            end_ns=min(end_ns, 2**63 - 1),
        )
        return query_metric(ctx.clickhouse, who.project_id, q)
    except (ValidationError, MetricQueryError) as exc:
        raise bad_request(exc) from None
