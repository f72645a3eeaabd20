"""Helpers the score, score-config and feedback routers share."""

from __future__ import annotations

import json
import time
from typing import Annotated, Any

from fastapi import HTTPException, Query, Request

from otelguard.storage.postgres import Database
from otelguard.storage.score_validation import ScoreSource
from otelguard.webui.context import ApiContext
from otelguard.webui.params import time_range

__all__ = ["EvaluatorParam", "SourceParam", "postgres", "read_json_body", "time_window"]

DEFAULT_RANGE_NS = 7 * 86_400 * 10**9
SourceParam = Annotated[ScoreSource | None, Query(description="Only scores from this source")]
EvaluatorParam = Annotated[str | None, Query(max_length=256, description="Only scores of this evaluator")]


async def read_json_body(request: Request, limit: int) -> Any:
    """The decoded JSON body; 413 above ``limit`` bytes, 400 when empty, not UTF-8 or not JSON."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"request body is {declared} bytes, over the limit of {limit} bytes")
    body = await request.body()
    if len(body) > limit:
        raise HTTPException(413, f"request body is {len(body)} bytes, over the limit of {limit} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(400, f"request body is not valid UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise HTTPException(400, "request body is empty: send a JSON object")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise HTTPException(400, f"request body is not valid JSON: {exc}") from None


def postgres(ctx: ApiContext) -> Database:
    if ctx.postgres is None:
        raise HTTPException(503, "score configs need Postgres, which this API server was started without")
    return ctx.postgres


def time_window(start: Any, end: Any) -> tuple[int, int]:
    """The request's [start, end) in ns; default: the 7 days before ``end`` (or now)."""
    start_ns, end_ns = time_range(start, end)
    if end_ns is None:
        end_ns = time.time_ns() if start_ns is None else min(2**63 - 1, start_ns + DEFAULT_RANGE_NS)
    if start_ns is None:
        start_ns = max(0, end_ns - DEFAULT_RANGE_NS)
    if start_ns >= end_ns:
        raise HTTPException(400, "start must be before end")
    return start_ns, end_ns
