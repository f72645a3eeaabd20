"""``/api/v1/prompts``: prompts by name and label, compiled previews, version timelines and diffs.

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

Needs the Postgres pool on the API context (``ApiContext.postgres``); without it the routes answer 503.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
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
from otelguard.storage.postgres import Database
from otelguard.storage.postgres.prompts import PromptVersion, get_prompt_version, list_prompt_versions
from otelguard.webui.context import ApiContext

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


# -- queries (candidates for storage.postgres.prompts) ------------------------------------------------------


def _namespaces(db: Database, name: str) -> list[str]:
    with db.connection() as conn:
        rows = conn.execute(
            "SELECT namespace FROM resources WHERE kind = 'Prompt' AND name = %s ORDER BY namespace", (name,)
        ).fetchall()
    return [str(r[0]) for r in rows]


def _resolve_namespace(db: Database, name: str, namespace: str | None) -> str:
    found = _namespaces(db, name)
    if namespace is not None:
        if namespace not in found:
            raise HTTPException(404, f"prompt {name!r} not found in namespace {namespace!r}")
        return namespace
    if not found:
        raise HTTPException(404, f"prompt {name!r} not found")
    if len(found) > 1:
        raise HTTPException(409, f"prompt {name!r} exists in namespaces {', '.join(found)}: pass ?namespace=")
    return found[0]


def _labels(db: Database, namespace: str, name: str) -> dict[str, int]:
    with db.connection() as conn:
        rows = conn.execute(
            "SELECT label, version FROM prompt_labels WHERE namespace = %s AND name = %s ORDER BY label",
            (namespace, name),
        ).fetchall()
    return {str(label): int(v) for label, v in rows}


def _resource(db: Database, namespace: str, name: str) -> tuple[dict[str, Any], dict[str, Any], datetime]:
    with db.connection() as conn:
        row = conn.execute(
            "SELECT spec, labels, updated_at FROM resources WHERE kind = 'Prompt' AND namespace = %s "
            "AND name = %s",
            (namespace, name),
        ).fetchone()
    if row is None:
        raise HTTPException(404, f"prompt {name!r} not found")
    return dict(row[0]), dict(row[1]), row[2]


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
        labels = _labels(db, namespace, name)
        shown = ", ".join(f"{k}={v}" for k, v in labels.items()) or "none"
        raise HTTPException(404, f"prompt {name!r} has no label {label!r} (labels: {shown})")
    top = max((v.version for v in list_prompt_versions(db, namespace, name)), default=0)
    raise HTTPException(404, f"prompt {name!r} has no version {version} (versions 1..{top})")


def _list(
    db: Database, name: str | None, label: str | None, tag: str | None, folder: str | None, limit: int
) -> list[dict[str, Any]]:
    where = ["r.kind = 'Prompt'"]
    args: list[Any] = []
    if name:
        where.append("strpos(r.name, %s) > 0")
        args.append(name)
    if tag:
        where.append("r.spec->'tags' ? %s")
        args.append(tag)
    if folder:
        where.append("(r.spec->>'folder' = %s OR starts_with(r.spec->>'folder', %s))")
        args += [folder.rstrip("/"), folder.rstrip("/") + "/"]
    if label:
        where.append(
            "EXISTS (SELECT 1 FROM prompt_labels l WHERE l.namespace = r.namespace AND l.name = r.name "
            "AND l.label = %s)"
        )
        args.append(label)
    sql = (
        "SELECT r.namespace, r.name, r.version, r.spec, r.labels, r.updated_at, "
        "(SELECT max(v.version) FROM prompt_versions v WHERE v.namespace = r.namespace AND v.name = r.name), "
        "(SELECT COALESCE(jsonb_object_agg(l.label, l.version), '{}'::jsonb) FROM prompt_labels l "
        " WHERE l.namespace = r.namespace AND l.name = r.name) "
        f"FROM resources r WHERE {' AND '.join(where)} ORDER BY r.name, r.namespace LIMIT %s"
    )
    with db.connection() as conn:
        rows = conn.execute(sql, (*args, limit)).fetchall()
    return [
        {
            "namespace": ns,
            "name": nm,
            "type": "text" if "template" in spec else "chat",
            "description": spec.get("description"),
            "currentVersion": current,
            "latestVersion": latest,
            "labels": dict(sorted(labels.items())),
            "tags": spec.get("tags", []),
            "folder": spec.get("folder"),
            "metadataLabels": meta,
            "updatedAt": updated.isoformat(),
        }
        for ns, nm, current, spec, meta, updated, latest, labels in rows
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
    spec, _meta, _updated = _resource(db, namespace, found.name)
    labels = _labels(db, namespace, found.name)
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

router = APIRouter(prefix="/api/v1/prompts", tags=["prompts"])


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
    labels = _labels(db, ns, name)
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
