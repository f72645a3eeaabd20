"""``/api/v1/spans/{span_id}`` (one span) and ``/api/v1/generations`` (LLM calls across traces)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import ValidationError

from otelguard.storage.clickhouse import (
    GenerationFilter,
    GenerationPage,
    InvalidCursor,
    SpanNode,
    get_span,
    list_generations,
)
from otelguard.webui.params import (
    API_ERRORS,
    NOT_FOUND,
    Cursor,
    End,
    Limit,
    Order,
    Start,
    bad_request,
    check_hex_id,
    reject_unknown_params,
    time_range,
)
from otelguard.webui.security import Authenticated, Context

router = APIRouter(
    prefix="/api/v1", tags=["spans"], dependencies=[Depends(reject_unknown_params)], responses=API_ERRORS
)
_Id = Annotated[str | None, Query(max_length=512)]


@router.get(
    "/spans/{span_id}",
    response_model=SpanNode,
    summary="One span (children are not included)",
    responses=NOT_FOUND,
)
def span_detail(
    ctx: Context,
    who: Authenticated,
    span_id: str,
    trace_id: Annotated[str, Query(max_length=64, description="The span's trace (32 hex characters)")],
) -> SpanNode:
    sid = check_hex_id(span_id, 16, "span_id")
    tid = check_hex_id(trace_id, 32, "trace_id")
    span = get_span(ctx.clickhouse, who.project_id, tid, sid)
    if span is None:
        raise HTTPException(404, f"span {sid} of trace {tid} not found in this project")
    return span


@router.get("/generations", response_model=GenerationPage, summary="LLM calls across traces")
def generations(
    ctx: Context,
    who: Authenticated,
    start: Start = None,
    end: End = None,
    model: _Id = None,
    provider: _Id = None,
    user_id: _Id = None,
    session_id: _Id = None,
    sort: Annotated[
        Literal["start_time", "latency", "cost", "total_tokens", "model"], Query(description="Sort column")
    ] = "start_time",
    order: Order = "desc",
    cursor: Cursor = None,
    limit: Limit = 50,
) -> GenerationPage:
    start_ns, end_ns = time_range(start, end)
    try:
        flt = GenerationFilter(
            start_ns=start_ns,
            end_ns=end_ns,
            model=model,
            provider=provider,
            user_id=user_id,
            session_id=session_id,
            sort=sort,
            order=order,
        )
        return list_generations(ctx.clickhouse, who.project_id, flt, cursor=cursor, limit=min(limit, 1000))
    except InvalidCursor as exc:
        raise HTTPException(400, f"invalid cursor: {exc}") from None
    except ValidationError as exc:
        raise bad_request(exc) from None
