"""``/api/v1/prompts``: prompts by name and label, compiled previews, version timelines and diffs, usage
per version and regression checks of label moves.

Read-only: the write path is git (``Prompt`` resources, reconciled into ``prompt_versions`` and
``prompt_labels``).

Project scoping: prompts are stored per Kubernetes namespace, API keys belong to projects, and there is
no mapping between the two yet. So every authenticated caller sees every prompt of the installation (in
the embedded runtime: every prompt of ``--manifests``; under the operator: every namespace the installation
reconciles). A prompt is addressed by name; ``?namespace=`` picks one when the same name exists in more
than one namespace (409 otherwise), and a name in a single namespace needs none.

Serving by label is the SDK's hot path: responses are cached in-process for ``_TTL_S`` (a label move is
visible within that time), carry ``ETag: "<content hash>"`` (the version's content; the labels listed in
the body may change without it) and ``Cache-Control: private, max-age=10, stale-while-revalidate=60``, and
``If-None-Match`` answers 304. The route is ``async`` with an async authentication, so a cache hit never
leaves the event loop.

Usage (``/{name}/usage``) and regressions (``/{name}/regressions``) read the caller's project's spans
in ClickHouse (``storage.clickhouse.prompt_usage``; definitions there) and judge label moves with
``prompts.regression``. A ``regression`` flag per label on ``GET /{name}`` is left out on purpose: that
route is the SDK's cached hot path and the check costs two ClickHouse queries per move.

Needs the Postgres pool on the API context (``ApiContext.postgres``); without it the routes answer 503
(the analytics routes also without ClickHouse).
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from otelguard.auth import Principal, Unauthenticated, credentials_from_headers
from otelguard.prompts import (
    Included,
    IncludeRef,
    MissingVariables,
    PromptSource,
    PromptTemplateError,
    TemplateEngine,
    diff_versions,
)
from otelguard.prompts.regression import DEFAULT_SAMPLE, MAX_SAMPLE, MIN_SAMPLE, Sample, compare
from otelguard.storage.clickhouse import ClickHouseError, ClickHouseTransport
from otelguard.storage.clickhouse.prompt_usage import SpanSample, move_samples, prompt_usage
from otelguard.storage.postgres import Database
from otelguard.storage.postgres.prompts import (
    PromptVersion,
    get_prompt_labels,
    get_prompt_resource,
    get_prompt_version,
    list_label_moves,
    list_prompt_versions,
    list_prompts,
    prompt_namespaces,
)
from otelguard.webui.context import ApiContext
from otelguard.webui.params import API_ERRORS, NOT_FOUND

__all__ = ["router"]

DEFAULT_LABEL = "production"
CACHE_CONTROL = "private, max-age=10, stale-while-revalidate=60"
_TTL_S = 1.0
_MAX_VARIABLES_BYTES = 1_000_000
_ENGINE = TemplateEngine()
_NAME = r"^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$"
_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


# -- request plumbing -----------------------------------------------------------------------------------


def _context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.context
    return ctx


async def _principal(request: Request) -> Principal:
    """Authentication without a thread hop when the key is cached (the same keys as every route)."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        return await _context(request).keys.authenticate_async(credentials_from_headers(headers))
    except Unauthenticated as exc:
        raise HTTPException(401, exc.message, headers={"WWW-Authenticate": "Bearer"}) from None


def _allow(*names: str) -> Any:
    allowed = set(names)

    async def check(request: Request, _who: Annotated[Principal, Depends(_principal)]) -> None:
        unknown = sorted(set(request.query_params.keys()) - allowed)
        if unknown:
            raise HTTPException(400, f"unknown query parameter(s): {', '.join(unknown[:10])}")

    return Depends(check)


def _database(request: Request) -> Database:
    db = getattr(_context(request), "postgres", None)
    if not isinstance(db, Database):
        raise HTTPException(503, "the prompt store (Postgres) is not configured for this API server")
    return db


Who = Annotated[Principal, Depends(_principal)]
Db = Annotated[Database, Depends(_database)]
Name = Annotated[str, Path(min_length=1, max_length=253, pattern=_NAME, description="Prompt name")]
Namespace = Annotated[
    str | None, Query(max_length=63, description="Namespace, when the name exists in more than one")
]
Label = Annotated[str | None, Query(max_length=63, pattern=_LABEL, description="Label, e.g. production")]
Version = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="Version number")]


# -- lookups (SQL in storage.postgres.prompts; HTTP errors here) -------------------------------------------


def _resolve_namespace(db: Database, name: str, namespace: str | None) -> str:
    found = prompt_namespaces(db, name)
    if namespace is not None:
        if namespace not in found:
            raise HTTPException(404, f"prompt {name!r} not found in namespace {namespace!r}")
        return namespace
    if not found:
        raise HTTPException(404, f"prompt {name!r} not found")
    if len(found) > 1:
        raise HTTPException(409, f"prompt {name!r} exists in namespaces {', '.join(found)}: pass ?namespace=")
    return found[0]


def _version(
    db: Database, namespace: str, name: str, label: str | None, version: int | None
) -> PromptVersion:
    if label is not None and version is not None:
        raise HTTPException(400, "pass label or version, not both")
    if version is None:
        label = label or DEFAULT_LABEL
    found = get_prompt_version(db, namespace, name, version=version, label=label)
    if found is not None:
        return found
    if label is not None:
        labels = get_prompt_labels(db, namespace, name)
        shown = ", ".join(f"{k}={v}" for k, v in labels.items()) or "none"
        raise HTTPException(404, f"prompt {name!r} has no label {label!r} (labels: {shown})")
    top = max((v.version for v in list_prompt_versions(db, namespace, name)), default=0)
    raise HTTPException(404, f"prompt {name!r} has no version {version} (versions 1..{top})")


def _list(
    db: Database, name: str | None, label: str | None, tag: str | None, folder: str | None, limit: int
) -> list[dict[str, Any]]:
    return [
        {
            "namespace": p.namespace,
            "name": p.name,
            "type": "text" if "template" in p.spec else "chat",
            "description": p.spec.get("description"),
            "currentVersion": p.current_version,
            "latestVersion": p.latest_version,
            "labels": p.labels,
            "tags": p.spec.get("tags", []),
            "folder": p.spec.get("folder"),
            "metadataLabels": p.metadata_labels,
            "updatedAt": p.updated_at.isoformat(),
        }
        for p in list_prompts(db, name=name, label=label, tag=tag, folder=folder, limit=limit)
    ]


def _loader(db: Database, namespace: str) -> Any:
    def load(ref: IncludeRef) -> Included | None:
        found = get_prompt_version(db, namespace, ref.name, version=ref.version, label=ref.label)
        if found is None:
            return None
        return Included(found.name, found.version, found.content.get("template"))

    return load


# -- the served body, cached ------------------------------------------------------------------------------


def _body(db: Database, namespace: str, found: PromptVersion) -> dict[str, Any]:
    resource = get_prompt_resource(db, namespace, found.name)
    if resource is None:
        raise HTTPException(404, f"prompt {found.name!r} not found")
    spec = resource.spec
    labels = get_prompt_labels(db, namespace, found.name)
    content = found.content
    source = PromptSource.from_content(content)
    return {
        "namespace": namespace,
        "name": found.name,
        "version": found.version,
        "hash": found.content_hash,
        "type": source.kind,
        **({"template": source.template} if source.template is not None else {}),
        **({"messages": content.get("messages")} if source.template is None else {}),
        "variables": content.get("variables", []),
        "modelConfig": content.get("modelConfig"),
        "labels": sorted(k for k, v in labels.items() if v == found.version),
        "tags": spec.get("tags", []),
        "folder": spec.get("folder"),
        "createdAt": found.created_at.isoformat(),
        "createdBy": found.created_by,
        "createdGeneration": found.created_generation,
        "gitRevision": found.git_revision,
    }


class _Cache:
    """(namespace, name, label, version) → (ETag, JSON body), fresh for ``_TTL_S``.

    Single flight: concurrent misses of one key share one fetch. Stale entries are served while one
    background fetch renews them (a label move shows within about ``_TTL_S``); a failed renewal drops
    the entry, so the next request fetches (and reports 404/503) itself.
    """

    def __init__(self, size: int = 4096) -> None:
        self._items: OrderedDict[tuple[Any, ...], tuple[float, str, bytes]] = OrderedDict()
        self._inflight: dict[tuple[Any, ...], asyncio.Future[tuple[str, bytes]]] = {}
        self._size = size

    async def get(self, key: tuple[Any, ...], fetch: Callable[[], tuple[str, bytes]]) -> tuple[str, bytes]:
        hit = self._items.get(key)
        if hit is not None:
            if hit[0] < time.monotonic() and key not in self._inflight:
                self._start(key, fetch).add_done_callback(lambda f: f.exception())
            return hit[1], hit[2]
        running = self._inflight.get(key)
        return await (running if running is not None else self._start(key, fetch))

    def _start(
        self, key: tuple[Any, ...], fetch: Callable[[], tuple[str, bytes]]
    ) -> asyncio.Future[tuple[str, bytes]]:
        future = asyncio.ensure_future(asyncio.to_thread(fetch))
        self._inflight[key] = future

        def done(f: asyncio.Future[tuple[str, bytes]]) -> None:
            self._inflight.pop(key, None)
            if f.cancelled() or f.exception() is not None:
                self._items.pop(key, None)
                return
            etag, body = f.result()
            self._items[key] = (time.monotonic() + _TTL_S, etag, body)
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

        future.add_done_callback(done)
        return future


def _cache(request: Request) -> _Cache:
    """One cache per application (its state), not per process: two apps never share entries."""
    state = request.app.state
    cache: _Cache | None = getattr(state, "prompt_cache", None)
    if cache is None:
        cache = state.prompt_cache = _Cache()
    return cache


def _fetch(
    db: Database, name: str, namespace: str | None, label: str | None, version: int | None
) -> tuple[str, bytes]:
    ns = _resolve_namespace(db, name, namespace)
    found = _version(db, ns, name, label, version)
    body = json.dumps(_body(db, ns, found), separators=(",", ":"), ensure_ascii=False).encode()
    return f'"{found.content_hash}"', body


def _not_modified(request: Request, etag: str) -> bool:
    header = request.headers.get("if-none-match")
    if not header:
        return False
    tags = {t.strip().removeprefix("W/") for t in header.split(",")}
    return "*" in tags or etag in tags


# -- routes -----------------------------------------------------------------------------------------------

router = APIRouter(prefix="/api/v1/prompts", tags=["prompts"], responses={**API_ERRORS, **NOT_FOUND})


class PromptSummary(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    namespace: str
    name: str
    type: str
    description: str | None = None
    current_version: int = Field(alias="currentVersion", description="Version of the spec in git now")
    latest_version: int | None = Field(alias="latestVersion", description="Highest version number")
    labels: dict[str, int]
    tags: list[str]
    folder: str | None = None
    metadata_labels: dict[str, str] = Field(alias="metadataLabels")
    updated_at: str = Field(alias="updatedAt")


class PromptList(BaseModel):
    items: list[PromptSummary]


@router.get(
    "",
    response_model=PromptList,
    response_model_by_alias=True,
    summary="Prompts with their latest version, labels, tags and folder",
    dependencies=[_allow("name", "label", "tag", "folder", "limit")],
)
async def list_(
    db: Db,
    who: Who,
    name: Annotated[str | None, Query(max_length=253, description="Name contains this")] = None,
    label: Label = None,
    tag: Annotated[str | None, Query(max_length=63, description="Has this tag")] = None,
    folder: Annotated[str | None, Query(max_length=253, description="In this folder or below")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many")] = 500,
) -> dict[str, Any]:
    items = await asyncio.to_thread(_list, db, name, label, tag, folder, limit)
    return {"items": items}


@router.get(
    "/{name}",
    summary="One prompt version by label (default production) or version number; ETag revalidation",
    dependencies=[_allow("label", "version", "namespace")],
    responses={304: {"description": "Not modified (If-None-Match)"}, 404: {"description": "Unknown"}},
)
async def get(
    request: Request,
    db: Db,
    who: Who,
    name: Name,
    label: Label = None,
    version: Version = None,
    namespace: Namespace = None,
) -> Response:
    key = (namespace, name, label, version)
    etag, body = await _cache(request).get(key, partial(_fetch, db, name, namespace, label, version))
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if _not_modified(request, etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


class CompileRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    variables: dict[str, Any] = Field(default_factory=dict, description="Template variables")
    label: str | None = Field(None, max_length=63, pattern=_LABEL)
    version: int | None = Field(None, ge=1, le=2**31 - 1)


def _compile(db: Database, name: str, namespace: str | None, body: CompileRequest) -> dict[str, Any]:
    ns = _resolve_namespace(db, name, namespace)
    found = _version(db, ns, name, body.label, body.version)
    try:
        rendered = _ENGINE.render(
            PromptSource.from_content(found.content),
            body.variables,
            loader=_loader(db, ns),
            root=(found.name, found.version),
        )
    except PromptTemplateError as exc:
        detail = exc.as_dict()
        if isinstance(exc, MissingVariables):
            detail["message"] = str(exc)
        elif exc.reason == "UnsafeTemplate":
            detail["message"] = f"template refused by the sandbox: {exc}"
        else:
            detail["message"] = str(exc)
        raise HTTPException(422, detail) from None
    out: dict[str, Any] = {
        "name": found.name,
        "namespace": ns,
        "version": found.version,
        "hash": found.content_hash,
        "type": rendered.kind,
        "includes": rendered.includes,
    }
    if rendered.text is not None:
        out["text"] = rendered.text
    else:
        out["messages"] = rendered.messages
    return out


@router.post(
    "/{name}/compile",
    summary="Render a prompt version with variables (preview); 422 lists missing variables",
    dependencies=[_allow("namespace")],
)
async def compile_(
    request: Request, db: Db, who: Who, name: Name, body: CompileRequest, namespace: Namespace = None
) -> dict[str, Any]:
    if int(request.headers.get("content-length") or 0) > _MAX_VARIABLES_BYTES:
        raise HTTPException(413, f"request body larger than {_MAX_VARIABLES_BYTES:,} bytes")
    return await asyncio.to_thread(_compile, db, name, namespace, body)


def _timeline(db: Database, name: str, namespace: str | None) -> dict[str, Any]:
    ns = _resolve_namespace(db, name, namespace)
    labels = get_prompt_labels(db, ns, name)
    versions = list_prompt_versions(db, ns, name)
    return {
        "namespace": ns,
        "name": name,
        "labels": labels,
        "items": [
            {
                "version": v.version,
                "hash": v.content_hash,
                "createdAt": v.created_at.isoformat(),
                "createdBy": v.created_by,
                "createdGeneration": v.created_generation,
                "gitRevision": v.git_revision,
                "labels": sorted(k for k, n in labels.items() if n == v.version),
            }
            for v in reversed(versions)
        ],
    }


@router.get(
    "/{name}/versions",
    summary="Version timeline, newest first: hash, created by (generation, git revision), labels",
    dependencies=[_allow("namespace")],
)
async def versions(db: Db, who: Who, name: Name, namespace: Namespace = None) -> dict[str, Any]:
    return await asyncio.to_thread(_timeline, db, name, namespace)


def _diff(db: Database, name: str, namespace: str | None, old: int, new: int) -> dict[str, Any]:
    ns = _resolve_namespace(db, name, namespace)
    a, b = _version(db, ns, name, None, old), _version(db, ns, name, None, new)
    return {
        "namespace": ns,
        "name": name,
        "from": {"version": a.version, "hash": a.content_hash},
        "to": {"version": b.version, "hash": b.content_hash},
        **diff_versions(a.content, b.content, old_label=f"v{a.version}", new_label=f"v{b.version}"),
    }


@router.get(
    "/{name}/diff",
    summary="Unified diff of the templates and a structured diff of modelConfig and variables",
    dependencies=[_allow("from", "to", "namespace")],
)
async def diff(
    db: Db,
    who: Who,
    name: Name,
    old: Annotated[int, Query(alias="from", ge=1, le=2**31 - 1, description="Older version")],
    new: Annotated[int, Query(alias="to", ge=1, le=2**31 - 1, description="Newer version")],
    namespace: Namespace = None,
) -> dict[str, Any]:
    return await asyncio.to_thread(_diff, db, name, namespace, old, new)


# -- usage and regressions (from traces in ClickHouse, scoped to the caller's project) -------------------

_WEEK_NS = 7 * 86_400 * 10**9
_TRACE_ROUTE_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Bad time range or unknown query parameter"},
    401: {"description": "Missing, unknown or revoked API key"},
    404: {"description": "Unknown prompt"},
    409: {"description": "The name exists in several namespaces: pass ?namespace="},
    503: {"description": "Postgres or ClickHouse not configured or unavailable"},
}
_EPOCH_MS_FROM = 10**11  # epoch numbers at or above this are milliseconds (year 5138 in seconds)


def _clickhouse(request: Request) -> ClickHouseTransport:
    transport: ClickHouseTransport | None = getattr(_context(request), "clickhouse", None)
    if transport is None:
        raise HTTPException(503, "the trace store (ClickHouse) is not configured for this API server")
    return transport


def _instant(text: str | None, what: str) -> int | None:
    """ns since the epoch from ISO-8601 with a zone, or epoch seconds / milliseconds; 400 otherwise."""
    if text is None:
        return None
    value = text.strip()
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is not None:
        if not math.isfinite(number):
            raise HTTPException(400, f"{what}: not a time: {text[:64]!r}")
        ns = int(number * (10**6 if abs(number) >= _EPOCH_MS_FROM else 10**9))
    else:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise HTTPException(
                400, f"{what}: not ISO-8601 or epoch seconds/milliseconds: {text[:64]!r}"
            ) from None
        if parsed.tzinfo is None:
            raise HTTPException(400, f"{what}: timestamps need a time zone, e.g. 2026-11-27T10:00:00Z")
        ns = int(parsed.timestamp() * 1_000_000) * 1000
    if not 0 <= ns < 2**63:
        raise HTTPException(400, f"{what}: timestamps must lie between 1970 and 2262")
    return ns


def _usage_range(start: str | None, end: str | None) -> tuple[int, int]:
    """[from, to): default the last 7 days; only ``from``: up to now; only ``to``: the 7 days before."""
    start_ns, end_ns = _instant(start, "from"), _instant(end, "to")
    if end_ns is None:
        end_ns = time.time_ns() if start_ns is None else max(start_ns, time.time_ns())
    if start_ns is None:
        start_ns = max(0, end_ns - _WEEK_NS)
    if start_ns >= end_ns:
        raise HTTPException(400, "from must be before to")
    return start_ns, end_ns


def _iso(ns: int | None) -> str | None:
    return None if ns is None else datetime.fromtimestamp(ns / 1e9, UTC).isoformat()


def _usage(
    db: Database,
    transport: ClickHouseTransport,
    project_id: str,
    name: str,
    namespace: str | None,
    start_ns: int,
    end_ns: int,
) -> dict[str, Any]:
    _resolve_namespace(db, name, namespace)  # 404/409 before reading traces
    try:
        rows = prompt_usage(transport, project_id, name, start_ns, end_ns)
    except ClickHouseError as exc:
        raise HTTPException(503, f"the trace store is unavailable: {exc}") from None
    return {
        "name": name,
        "from": _iso(start_ns),
        "to": _iso(end_ns),
        "versions": [
            {
                "version": u.version,
                "spans": u.spans,
                "traces": u.traces,
                "latency_ms_p50": u.latency_ms_p50,
                "latency_ms_p95": u.latency_ms_p95,
                "input_tokens": u.input_tokens,
                "output_tokens": u.output_tokens,
                "total_tokens": u.total_tokens,
                "cost_usd": u.cost_usd,
                "error_rate": u.error_rate,
                "guardrail_hits": u.guardrail_hits,
                "score_averages": u.score_averages,
                "first_seen": _iso(u.first_seen_ns),
                "last_seen": _iso(u.last_seen_ns),
            }
            for u in rows
        ],
    }


@router.get(
    "/{name}/usage",
    summary="Usage per version from the caller's project's traces: spans, latency, tokens, cost, errors, "
    "guardrail hits, score averages (default: the last 7 days)",
    dependencies=[_allow("from", "to", "namespace")],
    responses=_TRACE_ROUTE_ERRORS,
)
async def usage(
    request: Request,
    db: Db,
    who: Who,
    name: Name,
    start: Annotated[
        str | None, Query(alias="from", max_length=64, description="ISO-8601 with zone, or epoch s/ms")
    ] = None,
    end: Annotated[str | None, Query(alias="to", max_length=64, description="Exclusive; default now")] = None,
    namespace: Namespace = None,
) -> dict[str, Any]:
    start_ns, end_ns = _usage_range(start, end)
    transport = _clickhouse(request)
    return await asyncio.to_thread(_usage, db, transport, who.project_id, name, namespace, start_ns, end_ns)


def _sample_json(sample: SpanSample) -> dict[str, Any]:
    return {
        "spans": sample.spans,
        "latency_ms_p95": sample.latency_ms_p95,
        "cost_usd_mean": sample.cost_usd_mean,
        "error_rate": sample.error_rate,
        "guardrail_hit_rate": sample.guardrail_hit_rate,
        "score_averages": dict(sample.score_averages),
    }


def _regressions(
    db: Database,
    transport: ClickHouseTransport,
    project_id: str,
    name: str,
    namespace: str | None,
    label: str | None,
    size: int,
    limit: int,
) -> dict[str, Any]:
    ns = _resolve_namespace(db, name, namespace)
    out: list[dict[str, Any]] = []
    try:
        for move in list_label_moves(db, ns, name, label=label, limit=limit):
            at_ns = int(move.moved_at.timestamp() * 1_000_000) * 1000
            base, cand = move_samples(
                transport,
                project_id,
                name,
                from_version=move.from_version,
                to_version=move.to_version,
                at_ns=at_ns,
                size=size,
            )
            verdict = compare(Sample(**asdict(base)), Sample(**asdict(cand)), sample_size=size)
            out.append(
                {
                    "label": move.label,
                    "from_version": move.from_version,
                    "to_version": move.to_version,
                    "moved_at": move.moved_at.astimezone(UTC).isoformat(),
                    "status": verdict.status,
                    "baseline": _sample_json(base),
                    "candidate": _sample_json(cand),
                    "regressions": [asdict(r) for r in verdict.regressions],
                }
            )
    except ClickHouseError as exc:
        raise HTTPException(503, f"the trace store is unavailable: {exc}") from None
    return {"name": name, "moves": out}


@router.get(
    "/{name}/regressions",
    summary="Label moves, newest first, each comparing the new version's first spans with the old "
    "version's last ones (latency p95, cost, error rate, guardrail hits, scores)",
    dependencies=[_allow("label", "sample", "limit", "namespace")],
    responses=_TRACE_ROUTE_ERRORS,
)
async def regressions(
    request: Request,
    db: Db,
    who: Who,
    name: Name,
    label: Label = None,
    sample: Annotated[
        int, Query(ge=MIN_SAMPLE, le=MAX_SAMPLE, description="Spans per side (each needs min(N, 20))")
    ] = DEFAULT_SAMPLE,
    limit: Annotated[int, Query(ge=1, le=100, description="At most this many moves")] = 20,
    namespace: Namespace = None,
) -> dict[str, Any]:
    transport = _clickhouse(request)
    return await asyncio.to_thread(
        _regressions, db, transport, who.project_id, name, namespace, label, sample, limit
    )
