"""``/api/v1/score-configs``: create/replace, list and read score configs (mounted by ``routers.scores``).
Writes to ``/api/v1/scores`` and ``/api/v1/feedback`` are validated against them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from otelguard.storage.postgres.score_configs import (
    StoredScoreConfig,
    get_score_config,
    list_score_configs,
    upsert_score_config,
)
from otelguard.storage.score_validation import SCORE_NAME_PATTERN, ScoreConfig
from otelguard.webui.params import API_ERRORS, NOT_FOUND, ApiError, bad_request, reject_unknown_params
from otelguard.webui.routers.score_common import postgres, read_json_body
from otelguard.webui.security import Authenticated, Context

__all__ = ["ScoreConfigList", "router"]

router = APIRouter(tags=["scores"], responses=API_ERRORS)
_checked = [Depends(reject_unknown_params)]
_MAX_BODY = 64 * 1024


class ScoreConfigList(BaseModel):
    items: list[StoredScoreConfig]


_CONFIG_SCHEMA = ScoreConfig.model_json_schema()


@router.post(
    "/score-configs",
    response_model=StoredScoreConfig,
    summary="Create or replace the config of a score name (201 when created, 200 when replaced)",
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/json": {"schema": _CONFIG_SCHEMA}}}
    },
    responses={
        201: {"model": StoredScoreConfig},
        413: {"model": ApiError},
        503: {"model": ApiError},
    },
    dependencies=_checked,
)
async def put_score_config(request: Request, ctx: Context, who: Authenticated) -> JSONResponse:
    # Parsed here, not by FastAPI: its 422 echoes the input, and input it cannot encode (a lone
    # surrogate) would turn the refusal into a 500.
    body = await read_json_body(request, _MAX_BODY)
    if not isinstance(body, dict):
        raise HTTPException(400, "a score config is a JSON object")
    try:
        config = ScoreConfig.model_validate(body)
    except ValidationError as exc:
        raise bad_request(exc) from None
    stored, created = await run_in_threadpool(
        upsert_score_config, postgres(ctx), who.project_id, config, actor=f"api:{who.public_key}"
    )
    return JSONResponse(stored.model_dump(mode="json"), status_code=201 if created else 200)


@router.get(
    "/score-configs",
    response_model=ScoreConfigList,
    summary="The project's score configs",
    responses={503: {"model": ApiError}},
    dependencies=_checked,
)
def score_configs(ctx: Context, who: Authenticated) -> ScoreConfigList:
    return ScoreConfigList(items=list_score_configs(postgres(ctx), who.project_id))


@router.get(
    "/score-configs/{name}",
    response_model=StoredScoreConfig,
    summary="One score config",
    responses={**NOT_FOUND, 503: {"model": ApiError}},
    dependencies=_checked,
)
def score_config(
    ctx: Context,
    who: Authenticated,
    name: Annotated[str, Path(min_length=1, max_length=200, pattern=SCORE_NAME_PATTERN)],
) -> StoredScoreConfig:
    found = get_score_config(postgres(ctx), who.project_id, name)
    if found is None:
        raise HTTPException(404, f"no score config named {name!r}")
    return found
