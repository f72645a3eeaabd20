"""``/api/v1/traces``: list (filters, sorting, cursor pagination), export (JSON lines / CSV, streamed) and
detail (span tree with totals)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from otelguard.storage.clickhouse import (
    EXPORT_MAX_ROWS,
    InvalidCursor,
    TraceDetail,
    TracePage,
    TraceQuery,
    TraceSummary,
    get_trace,
    iter_traces,
    query_traces,
)
from otelguard.storage.clickhouse.models import TraceSort
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

__all__ = ["router"]


_Id = Annotated[str | None, Query(max_length=512)]
# Bounded so the nanosecond value fits ClickHouse's Int64 (1.8e308 ms overflowed into a 500).
_LatencyMs = Annotated[float | None, Query(ge=0, le=9.2e12, allow_inf_nan=False)]
_Cost = Annotated[float | None, Query(ge=0, allow_inf_nan=False)]

router = APIRouter(
    prefix="/api/v1/traces",
    tags=["traces"],
    dependencies=[Depends(reject_unknown_params)],
    responses=API_ERRORS,
)


def trace_query(
    start: Start = None,
    end: End = None,
    user_id: _Id = None,
    session_id: _Id = None,
    model: _Id = None,
    provider: _Id = None,
    tags: Annotated[list[str] | None, Query(description="Repeat for several tags")] = None,
    tags_mode: Annotated[Literal["any", "all"], Query(description="Match any or all of the tags")] = "any",
    has_error: Annotated[
        bool | None, Query(description="Traces with (true) or without (false) an error")
    ] = None,
    min_latency_ms: _LatencyMs = None,
    max_latency_ms: _LatencyMs = None,
    min_cost: _Cost = None,
    max_cost: _Cost = None,
    has_guardrail_event: Annotated[bool | None, Query()] = None,
    prompt_name: _Id = None,
    prompt_version: Annotated[int | None, Query(ge=0, lt=2**32)] = None,
    search: Annotated[
        str | None, Query(min_length=1, max_length=1000, description="Text in a span's input or output")
    ] = None,
    search_mode: Annotated[
        Literal["tokens", "substring"],
        Query(description="tokens: every word, whole words (indexed); substring: the text as is (a scan)"),
    ] = "tokens",
    sort: Annotated[TraceSort, Query(description="Sort column")] = "start_time",
    order: Order = "desc",
) -> TraceQuery:
    start_ns, end_ns = time_range(start, end)
    try:
        return TraceQuery(
            start_ns=start_ns,
            end_ns=end_ns,
            user_id=user_id,
            session_id=session_id,
            model=model,
            provider=provider,
            tags=tuple(tags or ()),
            tags_mode=tags_mode,
            has_error=has_error,
            min_latency_ms=min_latency_ms,
            max_latency_ms=max_latency_ms,
            min_cost=min_cost,
            max_cost=max_cost,
            has_guardrail_event=has_guardrail_event,
            prompt_name=prompt_name,
            prompt_version=prompt_version,
            search=search,
            search_mode=search_mode,
            sort=sort,
            order=order,
        )
    except ValidationError as exc:
        raise bad_request(exc) from None


TraceQueryDep = Annotated[TraceQuery, Depends(trace_query)]


@router.get("", response_model=TracePage, summary="List traces (filters, any sort, cursor pages)")
def list_(
    ctx: Context, who: Authenticated, q: TraceQueryDep, cursor: Cursor = None, limit: Limit = 50
) -> TracePage:
    try:
        return query_traces(ctx.clickhouse, who.project_id, q, cursor=cursor, limit=min(limit, 1000))
    except InvalidCursor as exc:
        raise HTTPException(400, f"invalid cursor: {exc}") from None


_CSV_FIELDS = list(TraceSummary.model_fields)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    if isinstance(value, list):
        value = json.dumps(value, ensure_ascii=False)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value  # keep spreadsheets from evaluating it as a formula
    return value


def _csv_lines(first: list[TraceSummary], rest: Iterator[TraceSummary]) -> Iterator[str]:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(_CSV_FIELDS)
    for item in [*first, *rest]:
        writer.writerow([_csv_cell(getattr(item, f)) for f in _CSV_FIELDS])
        if buf.tell() > 64 * 1024:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def _jsonl_lines(first: list[TraceSummary], rest: Iterator[TraceSummary]) -> Iterator[str]:
    for item in [*first, *rest]:
        yield item.model_dump_json() + "\n"


@router.get(
    "/export",
    summary="Export the filtered trace list as JSON lines or CSV (streamed, in the list's sort order)",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}, "text/csv": {}}}},
)
def export(
    ctx: Context,
    who: Authenticated,
    q: TraceQueryDep,
    format: Annotated[Literal["jsonl", "csv"], Query(description="jsonl or csv")] = "jsonl",
    max_rows: Annotated[
        int, Query(ge=1, le=EXPORT_MAX_ROWS, description="At most this many traces")
    ] = 10_000,
) -> StreamingResponse:
    items = iter_traces(ctx.clickhouse, who.project_id, q, max_rows=max_rows)
    first = [item for _, item in zip(range(1), items, strict=False)]  # errors surface before streaming
    if format == "csv":
        body, media = _csv_lines(first, items), "text/csv; charset=utf-8"
    else:
        body, media = _jsonl_lines(first, items), "application/x-ndjson"
    filename = f"traces.{format}"
    return StreamingResponse(
        body, media_type=media, headers={"content-disposition": f'attachment; filename="{filename}"'}
    )


@router.get(
    "/{trace_id}",
    response_model=TraceDetail,
    summary="One trace with its span tree and totals",
    responses=NOT_FOUND,
)
def detail(ctx: Context, who: Authenticated, trace_id: str) -> TraceDetail:
    normalized = check_hex_id(trace_id, 32, "trace_id")
    trace = get_trace(ctx.clickhouse, who.project_id, normalized)
    if trace is None:
        raise HTTPException(404, f"trace {normalized} not found in this project")
    return trace
