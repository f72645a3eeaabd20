"""``/api/v1/sessions``: sessions with totals, and one session's traces in time order."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import ValidationError

from otelguard.storage.clickhouse import (
    InvalidCursor,
    SessionDetail,
    SessionFilter,
    SessionPage,
    TraceQuery,
    get_session_summary,
    list_sessions,
    query_traces,
    session_traces,
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
    reject_unknown_params,
    time_range,
)
from otelguard.webui.security import Authenticated, Context

router = APIRouter(
    prefix="/api/v1/sessions",
    tags=["sessions"],
    dependencies=[Depends(reject_unknown_params)],
    responses={**API_ERRORS, **NOT_FOUND},
)

SessionSort = Literal[
    "last_time", "first_time", "trace_count", "duration", "cost", "total_tokens", "session_id"
]


@router.get(
    "", response_model=SessionPage, summary="Sessions with trace counts, duration, cost, tokens, users"
)
def list_(
    ctx: Context,
    who: Authenticated,
    start: Start = None,
    end: End = None,
    user_id: Annotated[
        str | None, Query(max_length=512, description="Sessions this user took part in")
    ] = None,
    sort: Annotated[SessionSort, Query(description="Sort column")] = "last_time",
    order: Order = "desc",
    cursor: Cursor = None,
    limit: Limit = 50,
) -> SessionPage:
    start_ns, end_ns = time_range(start, end)
    try:
        flt = SessionFilter(start_ns=start_ns, end_ns=end_ns, user_id=user_id, sort=sort, order=order)
        return list_sessions(ctx.clickhouse, who.project_id, flt, cursor=cursor, limit=min(limit, 1000))
    except InvalidCursor as exc:
        raise HTTPException(400, f"invalid cursor: {exc}") from None
    except ValidationError as exc:
        raise bad_request(exc) from None


@router.get(
    "/{session_id}",
    response_model=SessionDetail,
    summary="One session: totals and its traces (with message previews), oldest first",
)
def detail(
    ctx: Context,
    who: Authenticated,
    session_id: Annotated[str, Path(min_length=1, max_length=512)],
    cursor: Cursor = None,
    limit: Limit = 100,
) -> SessionDetail:
    summary = get_session_summary(ctx.clickhouse, who.project_id, session_id)
    if summary is None:
        raise HTTPException(404, "session not found in this project")
    q = TraceQuery(session_id=session_id, sort="start_time", order="asc")
    try:
        page = query_traces(ctx.clickhouse, who.project_id, q, cursor=cursor, limit=min(limit, 1000))
    except InvalidCursor as exc:
        raise HTTPException(400, f"invalid cursor: {exc}") from None
    traces = session_traces(ctx.clickhouse, who.project_id, page.items)
    return SessionDetail(**summary.model_dump(), traces=traces, next_cursor=page.next_cursor)
