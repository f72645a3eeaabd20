"""``GET /api/v1/guardrail-events``: the project's guardrail decisions, newest first, with filters."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import ValidationError

from otelguard.storage.clickhouse import (
    GuardrailEventFilter,
    GuardrailEventPage,
    InvalidCursor,
    list_guardrail_events,
)
from otelguard.webui.params import (
    API_ERRORS,
    Cursor,
    End,
    Limit,
    Start,
    bad_request,
    check_hex_id,
    reject_unknown_params,
    time_range,
)
from otelguard.webui.security import Authenticated, Context

router = APIRouter(
    prefix="/api/v1", tags=["guardrails"], dependencies=[Depends(reject_unknown_params)], responses=API_ERRORS
)
_Name = Annotated[str | None, Query(max_length=512)]


@router.get(
    "/guardrail-events",
    response_model=GuardrailEventPage,
    summary="Guardrail decisions (one per failed rule), newest first",
)
def guardrail_events(
    ctx: Context,
    who: Authenticated,
    start: Start = None,
    end: End = None,
    policy: _Name = None,
    validator: _Name = None,
    action: Annotated[str | None, Query(max_length=64, description="e.g. block, sanitize, alert")] = None,
    stage: Annotated[Literal["input", "output", "ingest"] | None, Query()] = None,
    shadow: Annotated[bool | None, Query(description="Only shadow-mode (true) or enforced (false)")] = None,
    verdict: Annotated[Literal["pass", "flag", "block"] | None, Query()] = None,
    trace_id: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> GuardrailEventPage:
    start_ns, end_ns = time_range(start, end)
    try:
        flt = GuardrailEventFilter(
            start_ns=start_ns,
            end_ns=end_ns,
            policy=policy,
            validator=validator,
            action=action,
            stage=stage,
            shadow=shadow,
            verdict=verdict,
            trace_id=None if trace_id is None else check_hex_id(trace_id, 32, "trace_id"),
        )
        return list_guardrail_events(
            ctx.clickhouse, who.project_id, flt, cursor=cursor, limit=min(limit, 1000)
        )
    except InvalidCursor as exc:
        raise HTTPException(400, f"invalid cursor: {exc}") from None
    except ValidationError as exc:
        raise bad_request(exc) from None
