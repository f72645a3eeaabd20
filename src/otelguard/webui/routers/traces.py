"""``/api/v1/traces``: list (filters, cursor pagination) and detail (span tree with totals)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from otelguard.storage.clickhouse import (
    InvalidCursor,
    TraceDetail,
    TraceFilter,
    TracePage,
    get_trace,
    list_traces,
)
from otelguard.webui.security import Authenticated, Context

router = APIRouter(prefix="/api/v1/traces", tags=["traces"])


def _ns(value: datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise HTTPException(400, "timestamps need a time zone, e.g. 2026-11-27T10:00:00Z")
    return int(value.timestamp() * 1_000_000) * 1000


@router.get("", response_model=TracePage, summary="List traces, newest first")
def list_(
    ctx: Context,
    who: Authenticated,
    start: Annotated[datetime | None, Query(description="Earliest trace start (ISO 8601)")] = None,
    end: Annotated[datetime | None, Query(description="Latest trace start (ISO 8601)")] = None,
    user_id: Annotated[str | None, Query(max_length=512)] = None,
    session_id: Annotated[str | None, Query(max_length=512)] = None,
    model: Annotated[str | None, Query(max_length=512)] = None,
    cursor: Annotated[
        str | None, Query(max_length=2048, description="next_cursor of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, description="Page size; values above 1000 are clamped")] = 50,
) -> TracePage:
    start_ns, end_ns = _ns(start), _ns(end)
    if start_ns is not None and end_ns is not None and start_ns > end_ns:
        raise HTTPException(400, "start must not be after end")
    flt = TraceFilter(start_ns=start_ns, end_ns=end_ns, user_id=user_id, session_id=session_id, model=model)
    try:
        return list_traces(ctx.clickhouse, who.project_id, flt, cursor=cursor, limit=min(limit, 1000))
    except InvalidCursor as exc:
        raise HTTPException(400, f"invalid cursor: {exc}") from None


@router.get("/{trace_id}", response_model=TraceDetail, summary="One trace with its span tree and totals")
def detail(ctx: Context, who: Authenticated, trace_id: str) -> TraceDetail:
    normalized = trace_id.lower()
    if len(normalized) != 32 or any(c not in "0123456789abcdef" for c in normalized):
        raise HTTPException(400, "trace_id must be 32 hexadecimal characters")
    trace = get_trace(ctx.clickhouse, who.project_id, normalized)
    if trace is None:
        raise HTTPException(404, f"trace {normalized} not found in this project")
    return trace
