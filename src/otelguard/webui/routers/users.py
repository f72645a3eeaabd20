"""``/api/v1/users``: users with per-user totals, and one user's activity over time."""

from __future__ import annotations

import time
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import ValidationError

from otelguard.storage.clickhouse import (
    InvalidCursor,
    UserDetail,
    UserFilter,
    UserPage,
    get_user_summary,
    list_users,
    user_activity,
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
    prefix="/api/v1/users",
    tags=["users"],
    dependencies=[Depends(reject_unknown_params)],
    responses=API_ERRORS,
)

UserSort = Literal["last_seen", "first_seen", "trace_count", "cost", "total_tokens", "error_count", "user_id"]
_DAY_NS = 86_400 * 10**9
_DEFAULT_SPAN = {"1h": 7 * _DAY_NS, "1d": 90 * _DAY_NS}


@router.get(
    "", response_model=UserPage, summary="Users with traces, cost, tokens, error rate, guardrail hits"
)
def list_(
    ctx: Context,
    who: Authenticated,
    start: Start = None,
    end: End = None,
    sort: Annotated[UserSort, Query(description="Sort column")] = "last_seen",
    order: Order = "desc",
    cursor: Cursor = None,
    limit: Limit = 50,
) -> UserPage:
    start_ns, end_ns = time_range(start, end)
    try:
        flt = UserFilter(start_ns=start_ns, end_ns=end_ns, sort=sort, order=order)
        return list_users(ctx.clickhouse, who.project_id, flt, cursor=cursor, limit=min(limit, 1000))
    except InvalidCursor as exc:
        raise HTTPException(400, f"invalid cursor: {exc}") from None
    except ValidationError as exc:
        raise bad_request(exc) from None


@router.get(
    "/{user_id}",
    response_model=UserDetail,
    responses=NOT_FOUND,
    summary="One user: totals and activity per hour or day (default: the last 7 days hourly / 90 days daily)",
)
def detail(
    ctx: Context,
    who: Authenticated,
    user_id: Annotated[str, Path(min_length=1, max_length=512)],
    bucket: Annotated[Literal["1h", "1d"], Query(description="Activity bucket")] = "1d",
    start: Start = None,
    end: End = None,
) -> UserDetail:
    start_ns, end_ns = time_range(start, end)
    if end_ns is None:
        end_ns = time.time_ns() if start_ns is None else start_ns + _DEFAULT_SPAN[bucket]
    if start_ns is None:
        start_ns = max(0, end_ns - _DEFAULT_SPAN[bucket])
    summary = get_user_summary(ctx.clickhouse, who.project_id, user_id, start_ns=start_ns, end_ns=end_ns)
    if summary is None:
        raise HTTPException(404, "no traces of this user in this project and time range")
    try:
        activity = user_activity(
            ctx.clickhouse, who.project_id, user_id, bucket=bucket, start_ns=start_ns, end_ns=end_ns
        )
    except ValueError as exc:
        raise bad_request(exc) from None
    return UserDetail(**summary.model_dump(), bucket=bucket, activity=activity)
