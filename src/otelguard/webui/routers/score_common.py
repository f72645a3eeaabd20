"""Helpers the score, score-config and feedback routers share."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import HTTPException, Query

from otelguard.storage.postgres import Database
from otelguard.storage.score_validation import ScoreSource
from otelguard.webui.context import ApiContext
from otelguard.webui.params import read_json_body, time_range

__all__ = ["EvaluatorParam", "SourceParam", "postgres", "read_json_body", "time_window"]

DEFAULT_RANGE_NS = 7 * 86_400 * 10**9
SourceParam = Annotated[ScoreSource | None, Query(description="Only scores from this source")]
EvaluatorParam = Annotated[str | None, Query(max_length=256, description="Only scores of this evaluator")]


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
