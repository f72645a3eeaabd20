"""Evaluators as the API sees them: the ones that apply to the caller's project, and batch evaluation
(backfill) of the project's stored spans over a past time range."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from otelguard.auth import Principal
from otelguard.storage import postgres
from otelguard.storage.clickhouse.eval_spans import MAX_BACKFILL_SPANS, spans_for_evaluation
from otelguard.webui.params import API_ERRORS, NOT_FOUND, reject_unknown_params, to_ns
from otelguard.webui.security import Authenticated, Context

__all__ = ["router"]

MAX_RANGE = timedelta(days=31)

router = APIRouter(
    prefix="/api/v1/evaluators",
    tags=["evaluators"],
    dependencies=[Depends(reject_unknown_params)],
    responses=API_ERRORS,
)


class EvaluatorItem(BaseModel):
    namespace: str
    name: str
    version: int
    kind: str
    score: str
    sampling_rate: float
    suspended: bool
    description: str | None = None


class EvaluatorList(BaseModel):
    items: list[EvaluatorItem]


class BackfillRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: AwareDatetime = Field(alias="from", description="Earliest span start, ISO 8601 with zone")
    end: AwareDatetime = Field(alias="to", description="Latest span start (exclusive), ISO 8601 with zone")
    limit: int = Field(10_000, ge=1, le=MAX_BACKFILL_SPANS, description="Most spans read, oldest first")


class BackfillResponse(BaseModel):
    evaluator: str
    version: int
    spans_read: int
    matched: int  # after the evaluator's target and sampling
    tasks: int


def _db(ctx: Context) -> postgres.Database:
    if ctx.postgres is None:
        raise HTTPException(503, "the configuration store (Postgres) is not configured for this API server")
    return ctx.postgres


def _applies(row: postgres.StoredResource, project: str) -> bool:
    projects = ((row.spec.get("target") or {}).get("projects")) or []
    return not projects or project in projects


def _item(row: postgres.StoredResource) -> EvaluatorItem:
    spec: dict[str, Any] = row.spec
    return EvaluatorItem(
        namespace=row.namespace,
        name=row.name,
        version=row.version,
        kind=str(spec.get("kind", "")),
        score=str((spec.get("score") or {}).get("name", "")),
        sampling_rate=float(spec.get("samplingRate", 1.0)),
        suspended=bool(spec.get("suspend", False)),
        description=spec.get("description"),
    )


@router.get("", response_model=EvaluatorList, summary="Evaluators that apply to this project")
async def list_(ctx: Context, who: Authenticated) -> EvaluatorList:
    rows = await asyncio.to_thread(postgres.list_resources, _db(ctx), "Evaluator")
    return EvaluatorList(items=[_item(r) for r in rows if _applies(r, who.project_name)])


def _find(db: postgres.Database, name: str, namespace: str | None, who: Principal) -> postgres.StoredResource:
    rows = [
        r
        for r in postgres.list_resources(db, "Evaluator")
        if r.name == name
        and (namespace is None or r.namespace == namespace)
        and _applies(r, who.project_name)
    ]
    if not rows:
        raise HTTPException(404, f"no evaluator {name!r} applies to this project")
    if len(rows) > 1:
        spaces = ", ".join(r.namespace for r in rows)
        raise HTTPException(409, f"evaluator {name!r} exists in namespaces {spaces}: pass ?namespace=")
    return rows[0]


@router.post(
    "/{name}/backfill",
    status_code=202,
    response_model=BackfillResponse,
    responses={**NOT_FOUND, 409: {"description": "Ambiguous name"}, 503: {"description": "No eval queue"}},
    summary="Evaluate this project's stored spans of a past time range (batch evaluation)",
)
async def backfill(
    ctx: Context,
    who: Authenticated,
    body: BackfillRequest,
    name: Annotated[str, Path(max_length=253)],
    namespace: Annotated[str | None, Query(max_length=63)] = None,
) -> BackfillResponse:
    if ctx.evaluations is None:
        raise HTTPException(503, "no eval queue is configured for this API server (OTELGUARD_REDIS_URL)")
    if body.end <= body.start:
        raise HTTPException(400, "'to' must be after 'from'")
    if body.end - body.start > MAX_RANGE:
        raise HTTPException(400, f"the range may span at most {MAX_RANGE.days} days")
    if body.start > datetime.now(UTC):
        raise HTTPException(400, "'from' is in the future")
    db = _db(ctx)
    row = await asyncio.to_thread(_find, db, name, namespace, who)
    kinds = list((row.spec.get("target") or {}).get("spanKinds") or [])
    start, end = to_ns(body.start), to_ns(body.end)
    assert start is not None and end is not None
    spans = await asyncio.to_thread(
        spans_for_evaluation, ctx.clickhouse, who.project_id, start, end, kinds=kinds, limit=body.limit
    )
    try:
        done = await asyncio.to_thread(ctx.evaluations.backfill, row, who.project_name, spans)
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from None
    return BackfillResponse(
        evaluator=f"{row.namespace}/{row.name}",
        version=row.version,
        spans_read=len(spans),
        matched=done.matched,
        tasks=done.tasks,
    )
