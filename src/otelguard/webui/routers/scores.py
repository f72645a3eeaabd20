"""``/api/v1/scores``: write scores (one or a batch, validated against score configs) and list them. The
analytics (``score_analytics``) and ``/api/v1/score-configs`` (``score_configs``) routes are mounted on
this router.

A batch is all or nothing: when any item is invalid the answer is 400 listing every bad item by index,
and nothing is written. Re-sending a score with the same ``id`` (same name and day) replaces it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from otelguard.storage.clickhouse import ClickHouseError, InvalidCursor
from otelguard.storage.clickhouse.scores import ScoreFilter, ScorePage, insert_scores, list_scores
from otelguard.storage.postgres.score_configs import get_score_configs
from otelguard.storage.score_validation import (
    MAX_STRING_VALUE,
    SCORE_NAME_PATTERN,
    DataType,
    ScoreConfig,
    ScoreSource,
    ScoreValueError,
    check_text,
    normalize_score_value,
)
from otelguard.webui.context import ApiContext
from otelguard.webui.params import (
    API_ERRORS,
    ApiError,
    Cursor,
    End,
    Limit,
    Start,
    bad_request,
    check_hex_id,
    reject_unknown_params,
    time_range,
    to_ns,
)
from otelguard.webui.routers import score_analytics, score_configs, score_names
from otelguard.webui.routers.score_common import EvaluatorParam, SourceParam, postgres, read_json_body
from otelguard.webui.security import Authenticated, Context

__all__ = ["MAX_BATCH", "ScoreIn", "router", "score_row"]

MAX_BATCH = 1000
_MAX_BODY = 8 * 1024 * 1024
_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,127}$"
_HEX32 = r"^[0-9a-fA-F]{32}$"
_HEX16 = r"^[0-9a-fA-F]{16}$"

router = APIRouter(prefix="/api/v1", tags=["scores"], responses=API_ERRORS)
_checked = [Depends(reject_unknown_params)]


class ScoreIn(BaseModel):
    """One score to write. ``value`` for numeric and boolean scores, ``string_value`` for categorical."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(
        None, pattern=_ID_PATTERN, description="Optional; re-sending an id replaces that score"
    )
    name: str = Field(min_length=1, max_length=200, pattern=SCORE_NAME_PATTERN)
    value: bool | float | str | None = Field(
        None, description="numeric: a number; boolean: true/false or 1/0 (categorical: optional)"
    )
    string_value: str | None = Field(None, max_length=MAX_STRING_VALUE, description="categorical value")
    data_type: DataType | None = Field(None, description="Default: the score config's, else inferred")
    trace_id: str | None = Field(None, pattern=_HEX32)
    span_id: str | None = Field(None, pattern=_HEX16, description="Needs trace_id")
    session_id: str | None = Field(None, min_length=1, max_length=256)
    comment: str | None = Field(None, max_length=4000)
    source: ScoreSource = "api"
    evaluator_name: str | None = Field(None, max_length=256)
    evaluator_version: str | None = Field(None, max_length=64)
    timestamp: AwareDatetime | None = Field(None, description="Default: now")

    @field_validator("name", "string_value", "session_id", "comment", "evaluator_name", "evaluator_version")
    @classmethod
    def _text(cls, v: str | None) -> str | None:
        return None if v is None else check_text(v)

    @model_validator(mode="after")
    def _linked(self) -> ScoreIn:
        if self.trace_id is None and self.session_id is None:
            raise ValueError("a score is linked to a trace_id (and optionally span_id) or a session_id")
        if self.span_id is not None and self.trace_id is None:
            raise ValueError("span_id needs trace_id")
        return self


class ItemError(BaseModel):
    index: int
    field: str | None = None
    message: str


class ScoreErrors(ApiError):
    errors: list[ItemError] = Field(default_factory=list, description="Every invalid item, by index")


class ScoreWritten(BaseModel):
    ids: list[str] = Field(description="Ids of the written scores, in request order")


def score_row(item: ScoreIn, project_id: str, config: ScoreConfig | None, now_ns: int) -> dict[str, Any]:
    """The ClickHouse row of a valid item; ScoreValueError when its value does not fit."""
    normalized = normalize_score_value(
        value=item.value, string_value=item.string_value, data_type=item.data_type, config=config
    )
    return {
        "id": item.id or uuid.uuid4().hex,
        "project_id": project_id,
        "trace_id": (item.trace_id or "").lower(),
        "span_id": (item.span_id or "").lower(),
        "session_id": item.session_id or "",
        "name": item.name,
        "value": normalized.value,
        "string_value": normalized.string_value,
        "data_type": normalized.data_type,
        "source": item.source,
        "comment": item.comment or "",
        "evaluator_name": item.evaluator_name or "",
        "evaluator_version": item.evaluator_version or "",
        "timestamp": now_ns if item.timestamp is None else to_ns(item.timestamp),
    }


def _items(body: Any) -> tuple[list[Any], bool]:
    if not isinstance(body, dict):
        raise HTTPException(400, 'send a score object, or {"scores": [...]} for a batch')
    if "scores" not in body:
        return [body], False
    if set(body) != {"scores"}:
        raise HTTPException(400, "a batch object holds only 'scores'")
    items = body["scores"]
    if not isinstance(items, list) or not items:
        raise HTTPException(400, "'scores' must be a non-empty list")
    if len(items) > MAX_BATCH:
        raise HTTPException(400, f"a batch holds at most {MAX_BATCH} scores, got {len(items)}")
    return items, True


def _validation_errors(index: int, exc: ValidationError) -> list[ItemError]:
    out = []
    for e in exc.errors(include_url=False)[:10]:
        loc = ".".join(map(str, e["loc"])) or None
        out.append(ItemError(index=index, field=loc, message=e["msg"]))
    return out


def _prepare(
    ctx: ApiContext, project_id: str, raw_items: Sequence[Any]
) -> tuple[list[dict[str, Any]], list[ItemError]]:
    parsed: list[tuple[int, ScoreIn]] = []
    errors: list[ItemError] = []
    for index, raw in enumerate(raw_items):
        if not isinstance(raw, dict):
            errors.append(ItemError(index=index, message="a score is a JSON object"))
            continue
        try:
            parsed.append((index, ScoreIn.model_validate(raw)))
        except ValidationError as exc:
            errors.extend(_validation_errors(index, exc))
    configs = get_score_configs(postgres(ctx), project_id, {item.name for _, item in parsed})
    now_ns = time.time_ns()
    rows: list[dict[str, Any]] = []
    for index, item in parsed:
        try:
            rows.append(score_row(item, project_id, configs.get(item.name), now_ns))
        except ScoreValueError as exc:
            errors.append(ItemError(index=index, field=exc.field, message=exc.message))
        except HTTPException as exc:  # a timestamp outside 1970-2262
            errors.append(ItemError(index=index, field="timestamp", message=str(exc.detail)))
    return rows, sorted(errors, key=lambda e: e.index)


_SCORE_SCHEMA = ScoreIn.model_json_schema()
_BATCH_SCHEMA: dict[str, Any] = {
    "title": "ScoreBatchIn",
    "type": "object",
    "required": ["scores"],
    "additionalProperties": False,
    "properties": {"scores": {"type": "array", "minItems": 1, "maxItems": MAX_BATCH, "items": _SCORE_SCHEMA}},
}
_WRITE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"oneOf": [_SCORE_SCHEMA, _BATCH_SCHEMA]}}},
    }
}


@router.post(
    "/scores",
    status_code=201,
    response_model=ScoreWritten,
    summary='Write one score, or a batch of up to 1000 ({"scores": [...]}); all or nothing',
    openapi_extra=_WRITE_BODY,
    responses={400: {"model": ScoreErrors}, 413: {"model": ApiError}, 503: {"model": ApiError}},
    dependencies=_checked,
)
async def write_scores(request: Request, ctx: Context, who: Authenticated) -> JSONResponse:
    items, _batch = _items(await read_json_body(request, _MAX_BODY))
    rows, errors = await run_in_threadpool(_prepare, ctx, who.project_id, items)
    if errors:
        bad = len({e.index for e in errors})
        body = ScoreErrors(
            detail=f"{bad} of {len(items)} score(s) invalid; nothing was written", errors=errors
        )
        return JSONResponse(body.model_dump(), status_code=400)
    try:
        await run_in_threadpool(insert_scores, ctx.clickhouse, None, rows)
    except ClickHouseError:
        raise HTTPException(503, "the score store is unavailable; nothing was written") from None
    return JSONResponse({"ids": [r["id"] for r in rows]}, status_code=201)


_Text = Annotated[str | None, Query(max_length=256)]


@router.get(
    "/scores",
    response_model=ScorePage,
    summary="The project's scores, newest first, with filters",
    dependencies=_checked,
)
def scores(
    ctx: Context,
    who: Authenticated,
    name: _Text = None,
    source: SourceParam = None,
    data_type: Annotated[DataType | None, Query()] = None,
    trace_id: Annotated[str | None, Query(max_length=64)] = None,
    span_id: Annotated[str | None, Query(max_length=64)] = None,
    session_id: _Text = None,
    evaluator: EvaluatorParam = None,
    min_value: Annotated[float | None, Query(allow_inf_nan=False)] = None,
    max_value: Annotated[float | None, Query(allow_inf_nan=False)] = None,
    start: Start = None,
    end: End = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> ScorePage:
    start_ns, end_ns = time_range(start, end)
    try:
        flt = ScoreFilter(
            name=name,
            source=source,
            data_type=data_type,
            trace_id=None if trace_id is None else check_hex_id(trace_id, 32, "trace_id"),
            span_id=None if span_id is None else check_hex_id(span_id, 16, "span_id"),
            session_id=session_id,
            evaluator_name=evaluator,
            min_value=min_value,
            max_value=max_value,
            start_ns=start_ns,
            end_ns=end_ns,
        )
        return list_scores(ctx.clickhouse, who.project_id, flt, cursor=cursor, limit=min(limit, 1000))
    except InvalidCursor as exc:
        raise HTTPException(400, f"invalid cursor: {exc}") from None
    except ValidationError as exc:
        raise bad_request(exc) from None


# Analytics and configs live in their own modules; mounted here so the app includes one scores router.
router.include_router(score_analytics.router)
router.include_router(score_configs.router)
router.include_router(score_names.router)
