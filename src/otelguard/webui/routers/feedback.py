"""``POST /api/v1/feedback``: end-user feedback (thumbs up/down or a 1-5 rating) from a browser.

A browser never holds a secret, so this route accepts the *public* part of a key alone
(``x-otelguard-public-key`` header or ``?public_key=``); full keys work too. The public key only lets a
caller add feedback scores to its project (source ``feedback``), never read. CORS is answered here and
only here (preflight ``OPTIONS`` included), for the origins in ``OTELGUARD_FEEDBACK_ORIGINS`` (comma
separated, default ``*``). Each (key, client IP) pair gets a token bucket (``OTELGUARD_FEEDBACK_RATE``
per second, bursts of ``OTELGUARD_FEEDBACK_BURST``); beyond it: 429 with ``Retry-After``.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from otelguard.auth import Principal, Unauthenticated, credentials_from_headers
from otelguard.storage.clickhouse import ClickHouseError
from otelguard.storage.clickhouse.scores import insert_scores
from otelguard.storage.postgres.public_keys import MAX_PUBLIC_KEY_LENGTH, identify_public_key
from otelguard.storage.postgres.score_configs import get_score_configs
from otelguard.storage.score_validation import (
    SCORE_NAME_PATTERN,
    ScoreValueError,
    check_text,
    normalize_score_value,
)
from otelguard.webui.context import ApiContext
from otelguard.webui.params import ApiError
from otelguard.webui.rate_limit import TokenBuckets
from otelguard.webui.routers.score_common import postgres, read_json_body

__all__ = ["PUBLIC_KEY_HEADER", "FeedbackConfig", "FeedbackIn", "router"]

PUBLIC_KEY_HEADER = "x-otelguard-public-key"
MAX_COMMENT = 2000
_MAX_BODY = 16 * 1024
_ALLOWED_HEADERS = ("content-type", PUBLIC_KEY_HEADER)
_KEY_TTL_S, _NEGATIVE_KEY_TTL_S = 30.0, 5.0
_PUBLIC_KEY = re.compile(rf"[!-~]{{1,{MAX_PUBLIC_KEY_LENGTH}}}\Z")

router = APIRouter(prefix="/api/v1", tags=["feedback"])
_log = logging.getLogger(__name__)


_DEFAULT_RATE, _DEFAULT_BURST = 1.0, 10


@dataclass(frozen=True, slots=True)
class FeedbackConfig:
    origins: frozenset[str] | None  # None: any origin
    rate_per_s: float = _DEFAULT_RATE
    burst: int = _DEFAULT_BURST

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> FeedbackConfig:
        """From ``OTELGUARD_FEEDBACK_*``; unusable numbers are logged and replaced by the defaults."""
        env = os.environ if env is None else env
        raw = (env.get("OTELGUARD_FEEDBACK_ORIGINS") or "*").strip()
        parts = {o.strip().rstrip("/") for o in raw.split(",") if o.strip()}
        origins = None if "*" in parts or not parts else frozenset(parts)
        try:
            rate = float(env.get("OTELGUARD_FEEDBACK_RATE") or _DEFAULT_RATE)
            burst = int(env.get("OTELGUARD_FEEDBACK_BURST") or _DEFAULT_BURST)
            if not (math.isfinite(rate) and rate > 0) or burst < 1:
                raise ValueError
        except ValueError:
            _log.warning(
                "OTELGUARD_FEEDBACK_RATE must be a number > 0 and OTELGUARD_FEEDBACK_BURST an integer >= 1; "
                "using %s/s and %s",
                _DEFAULT_RATE,
                _DEFAULT_BURST,
            )
            rate, burst = _DEFAULT_RATE, _DEFAULT_BURST
        return cls(origins=origins, rate_per_s=rate, burst=burst)


@dataclass
class _State:
    config: FeedbackConfig
    buckets: TokenBuckets
    keys: dict[str, tuple[float, Principal | None]] = field(default_factory=dict)


def _state(app: FastAPI) -> _State:
    state: _State | None = getattr(app.state, "feedback", None)
    if state is None:
        config = FeedbackConfig.from_env()
        state = _State(config, TokenBuckets(config.rate_per_s, config.burst))
        app.state.feedback = state
    return state


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    trace_id: str = Field(pattern=r"^[0-9a-fA-F]{32}$")
    span_id: str | None = Field(None, pattern=r"^[0-9a-fA-F]{16}$")
    session_id: str | None = Field(None, min_length=1, max_length=256)
    type: Literal["thumbs", "rating"]
    value: bool | int | str = Field(description="thumbs: up/down or true/false; rating: an integer 1-5")
    comment: str | None = Field(None, max_length=MAX_COMMENT)
    name: str = Field("user-feedback", min_length=1, max_length=200, pattern=SCORE_NAME_PATTERN)

    @field_validator("session_id", "comment", "name", "value")
    @classmethod
    def _text(cls, v: Any) -> Any:
        return check_text(v) if isinstance(v, str) else v


class FeedbackWritten(BaseModel):
    id: str


def _cors(request: Request, config: FeedbackConfig) -> dict[str, str]:
    origin = request.headers.get("origin")
    if origin is None:
        return {}
    if config.origins is None:
        return {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "Retry-After"}
    if origin.rstrip("/") in config.origins:
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Expose-Headers": "Retry-After",
            "Vary": "Origin",
        }
    return {"Vary": "Origin"}


@router.options("/feedback", include_in_schema=False)
async def feedback_preflight(request: Request) -> Response:
    state = _state(request.app)
    headers = _cors(request, state.config)
    if "Access-Control-Allow-Origin" not in headers:
        return Response(status_code=403, headers=headers)
    headers.update(
        {
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": ", ".join(_ALLOWED_HEADERS),
            "Access-Control-Max-Age": "600",
        }
    )
    return Response(status_code=204, headers=headers)


def _presented(request: Request) -> tuple[str, str | None]:
    """``(rate-limit identity, public key or None)``; the identity of a full key is a hash of it."""
    public = request.headers.get(PUBLIC_KEY_HEADER) or request.query_params.get("public_key")
    if public:
        if not _PUBLIC_KEY.match(public):  # keys are printable ASCII; anything else matches none
            raise HTTPException(401, "unknown or revoked public key")
        return "pk:" + public, public
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        creds = credentials_from_headers(headers)
    except Unauthenticated:
        raise HTTPException(
            401, f"missing key: send the project's public key as '{PUBLIC_KEY_HEADER}' or ?public_key="
        ) from None
    return "sk:" + hashlib.sha256(creds.secret.encode()).hexdigest()[:32], None


async def _principal(request: Request, ctx: ApiContext, state: _State, public: str | None) -> Principal:
    if public is None:
        try:
            creds = credentials_from_headers({k.lower(): v for k, v in request.headers.items()})
            return await ctx.keys.authenticate_async(creds)
        except Unauthenticated as exc:
            raise HTTPException(401, exc.message) from None
    now = time.monotonic()
    hit = state.keys.get(public)
    if hit is None or hit[0] <= now:
        identity = await run_in_threadpool(identify_public_key, postgres(ctx), public)
        found = None if identity is None else Principal(identity.project_id, identity.project_name, public)
        if len(state.keys) > 10_000:
            state.keys.clear()
        state.keys[public] = (now + (_KEY_TTL_S if found else _NEGATIVE_KEY_TTL_S), found)
        hit = state.keys[public]
    if hit[1] is None:
        raise HTTPException(401, "unknown or revoked public key")
    return hit[1]


def _score(ctx: ApiContext, who: Principal, item: FeedbackIn) -> dict[str, Any]:
    if item.type == "thumbs":
        thumbs = {"up": True, "down": False, "true": True, "false": False}
        if isinstance(item.value, bool):
            value: Any = item.value
        elif isinstance(item.value, str) and item.value.strip().lower() in thumbs:
            value = thumbs[item.value.strip().lower()]
        else:
            raise ScoreValueError("value", "thumbs feedback is 'up'/'down' or true/false")
        data_type = "boolean"
    else:
        value = item.value
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            raise ScoreValueError("value", "a rating is an integer from 1 to 5")
        data_type = "numeric"
    config = get_score_configs(postgres(ctx), who.project_id, [item.name]).get(item.name)
    normalized = normalize_score_value(value=value, string_value=None, data_type=data_type, config=config)
    return {
        "id": uuid.uuid4().hex,
        "project_id": who.project_id,
        "trace_id": item.trace_id.lower(),
        "span_id": (item.span_id or "").lower(),
        "session_id": item.session_id or "",
        "name": item.name,
        "value": normalized.value,
        "string_value": normalized.string_value,
        "data_type": normalized.data_type,
        "source": "feedback",
        "comment": item.comment or "",
        "timestamp": time.time_ns(),
    }


def _write(ctx: ApiContext, who: Principal, item: FeedbackIn) -> str:
    row = _score(ctx, who, item)
    insert_scores(ctx.clickhouse, None, [row])
    return str(row["id"])


@router.post(
    "/feedback",
    status_code=201,
    response_model=FeedbackWritten,
    summary="Record a user's thumbs up/down or 1-5 rating of a trace (public key; CORS; rate-limited)",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": FeedbackIn.model_json_schema()}},
        },
        "parameters": [
            {"name": "public_key", "in": "query", "required": False, "schema": {"type": "string"}},
            {"name": PUBLIC_KEY_HEADER, "in": "header", "required": False, "schema": {"type": "string"}},
        ],
    },
    responses={
        400: {"model": ApiError},
        401: {"model": ApiError},
        413: {"model": ApiError},
        429: {"model": ApiError, "description": "Too many requests; see Retry-After"},
        503: {"model": ApiError},
    },
)
async def feedback(request: Request) -> JSONResponse:
    ctx: ApiContext = request.app.state.context
    state = _state(request.app)
    cors = _cors(request, state.config)
    try:
        unknown = sorted(set(request.query_params) - {"public_key"})
        if unknown:
            raise HTTPException(400, f"unknown query parameter(s): {', '.join(unknown[:10])}")
        identity, public = _presented(request)
        client = request.client.host if request.client else "unknown"
        wait = state.buckets.take((identity, client))
        if wait > 0:
            retry = str(max(1, math.ceil(wait)))
            return JSONResponse(
                {"detail": f"too many feedback requests; retry in {retry} s"},
                status_code=429,
                headers={**cors, "Retry-After": retry},
            )
        who = await _principal(request, ctx, state, public)
        body = await read_json_body(request, _MAX_BODY)
        if not isinstance(body, dict):
            raise HTTPException(400, "feedback is a JSON object")
        item = FeedbackIn.model_validate(body)
        score_id = await run_in_threadpool(_write, ctx, who, item)
    except HTTPException as exc:
        headers = {**cors, **(exc.headers or {})}
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)
    except ValidationError as exc:
        msgs = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors(include_url=False)[:5]
        )
        return JSONResponse({"detail": msgs}, status_code=400, headers=cors)
    except ScoreValueError as exc:
        return JSONResponse({"detail": f"{exc.field}: {exc.message}"}, status_code=400, headers=cors)
    except ClickHouseError:
        return JSONResponse({"detail": "the score store is unavailable"}, status_code=503, headers=cors)
    return JSONResponse({"id": score_id}, status_code=201, headers=cors)
