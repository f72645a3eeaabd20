"""``POST /api/v1/guard`` (check one input or output against the caller's guardrail policies) and
``POST /api/v1/guard/batch`` (up to 100 checks; each item gets its own result or error),
``POST /api/v1/guard/async`` (the same body plus ``callback_url``: 202 with an id; the decision is POSTed to
the callback when ready) and ``GET /api/v1/guard/async/{id}`` (the decision, kept for an hour by default).

The body is parsed here rather than by FastAPI so that bad input gets the right status: a body that is not
UTF-8 or not JSON, an unknown stage, a missing/empty text or an ``attempt`` outside 1..100 is 400, a text
over the size limit 413, an unknown ``policy`` 404. ``attempt`` (default 1) tells a ``retry`` action which
attempt of the caller's LLM call this is, so the SDK's remote mode reaches the rule's post-retry actions
just as local mode does. See ``otelguard.webui.guard_service`` for policy selection, caching and events.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPBasic, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from otelguard.auth import API_KEY_HEADER, Principal, Unauthenticated, credentials_from_headers
from otelguard.guardrails import GuardrailError, InputTooLarge, InvalidText, UnknownPolicy
from otelguard.webui.context import ApiContext
from otelguard.webui.guard_service import MAX_ATTEMPT, AsyncQueueFull, GuardRequest, GuardService
from otelguard.webui.params import API_ERRORS, read_json_body
from otelguard.webui.security import Context

router = APIRouter(prefix="/api/v1", tags=["guard"], responses=API_ERRORS)

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <secret key>")
_basic = HTTPBasic(auto_error=False, description="HTTP Basic <public key>:<secret key>")
_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)
_THREAD_ABOVE = 32 * 1024  # texts longer than this are checked off the event loop


async def _principal(
    request: Request,
    ctx: Context,
    _b: Annotated[object, Depends(_bearer)] = None,
    _s: Annotated[object, Depends(_basic)] = None,
    _h: Annotated[object, Depends(_header)] = None,
) -> Principal:
    """The same authentication as ``security.principal``, without a thread hop on the hot path."""
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        return await ctx.keys.authenticate_async(credentials_from_headers(headers))
    except Unauthenticated as exc:
        raise HTTPException(401, exc.message, headers={"WWW-Authenticate": "Bearer"}) from None


Who = Annotated[Principal, Depends(_principal)]


class GuardMetadata(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())
    model: str | None = Field(None, max_length=256, description="Model the text is sent to / came from")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels selectors match (app, route…)")
    trace_id: str | None = Field(None, max_length=64, description="Trace the events are linked to")
    span_id: str | None = Field(None, max_length=32, description="Span the events are linked to")


class GuardBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stage: str = Field(description="input or output")
    input: str | None = Field(None, description="The prompt (required for stage input)")
    output: str | None = Field(None, description="The model's output (required for stage output)")
    context: str | None = Field(None, description="Reference text for grounding validators")
    metadata: GuardMetadata | None = None
    policy: str | None = Field(
        None, max_length=512, description="Evaluate only this policy (ns/name or name)"
    )
    attempt: int = Field(
        1,
        ge=1,
        le=MAX_ATTEMPT,
        strict=True,  # a JSON integer: no "2", 2.0 or true
        description="Which attempt of the call this is (1 = the first): a retry action compares it with its "
        "maxAttempts, and once they are used up the rule's later actions (e.g. fallback) apply",
    )

    def request(self) -> GuardRequest:
        meta = self.metadata.model_dump() if self.metadata is not None else None
        return GuardRequest.from_body(
            self.stage, self.input, self.output, self.context, meta, self.policy, attempt=self.attempt
        )


class GuardBatchBody(BaseModel):
    items: list[dict[str, Any]] = Field(description="Up to 100 guard request bodies")


def _service(ctx: ApiContext) -> GuardService:
    if ctx.guard is None:
        raise HTTPException(503, "the guard service is not running in this API server")
    return ctx.guard


def _error(exc: Exception) -> HTTPException:
    if isinstance(exc, InputTooLarge):
        return HTTPException(413, str(exc))
    if isinstance(exc, UnknownPolicy):
        return HTTPException(404, str(exc))
    if isinstance(exc, ValidationError):
        msgs = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in exc.errors(include_url=False)[:5]
        )
        return HTTPException(400, msgs)
    return HTTPException(400, str(exc))


def _check(service: GuardService, body: Any, who: Principal) -> dict[str, Any]:
    """One check from a decoded JSON value; raises GuardrailError / ValidationError on bad input."""
    if not isinstance(body, dict):
        raise InvalidText("a guard request is a JSON object")
    req = GuardBody.model_validate(body).request()
    decision = service.check(req, project_id=who.project_id, project_name=who.project_name)
    return decision.to_dict()


_OPENAPI_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": GuardBody.model_json_schema(ref_template="#/$defs/{model}")}
        },
    }
}


@router.post(
    "/guard",
    summary="Check an input or output against the project's guardrail policies",
    openapi_extra=_OPENAPI_BODY,
    responses={400: {}, 404: {}, 413: {}},
)
async def guard(request: Request, ctx: Context, who: Who) -> JSONResponse:
    service = _service(ctx)
    body = await read_json_body(request, service.config.max_body_bytes)
    try:
        size = max((len(v) for v in (body.get("input"), body.get("output")) if isinstance(v, str)), default=0)
        if size > _THREAD_ABOVE:
            result = await run_in_threadpool(_check, service, body, who)
        else:
            result = _check(service, body, who)
    except (GuardrailError, ValidationError, AttributeError) as exc:
        if isinstance(exc, AttributeError):  # body.get on a non-object
            raise HTTPException(400, "a guard request is a JSON object") from None
        raise _error(exc) from None
    return JSONResponse(result)


@router.post(
    "/guard/batch",
    summary="Up to 100 guard checks; every item gets its own result or error",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": GuardBatchBody.model_json_schema()}},
        }
    },
    responses={400: {}, 413: {}},
)
async def guard_batch(request: Request, ctx: Context, who: Who) -> JSONResponse:
    service = _service(ctx)
    body = await read_json_body(request, service.config.max_batch_bytes)
    items = body.get("items") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise HTTPException(400, "a batch is a JSON object with an 'items' list")
    if not items:
        raise HTTPException(400, "the batch has no items")
    limit = service.config.max_batch_items
    if len(items) > limit:
        raise HTTPException(400, f"the batch has {len(items)} items, over the limit of {limit}")

    def run() -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            try:
                out.append({"index": index, "status": 200, "result": _check(service, item, who)})
            except (GuardrailError, ValidationError) as exc:
                err = _error(exc)
                out.append({"index": index, "status": err.status_code, "error": err.detail})
        return out

    return JSONResponse({"items": await run_in_threadpool(run)})


class GuardAsyncBody(GuardBody):
    callback_url: str = Field(
        max_length=2048, description="http(s) URL the decision is POSTed to (no credentials in the URL)"
    )


@router.post(
    "/guard/async",
    summary="Accept a guard check; the decision is POSTed to callback_url and kept for GET",
    status_code=202,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": GuardAsyncBody.model_json_schema(ref_template="#/$defs/{model}")
                }
            },
        }
    },
    responses={400: {}, 404: {}, 413: {}, 429: {}},
)
async def guard_async(request: Request, ctx: Context, who: Who) -> JSONResponse:
    service = _service(ctx)
    body = await read_json_body(request, service.config.max_body_bytes)
    if not isinstance(body, dict):
        raise HTTPException(400, "a guard request is a JSON object")
    try:
        parsed = GuardAsyncBody.model_validate(body)
        job = service.jobs.submit(
            parsed.request(),
            parsed.callback_url,
            project_id=who.project_id,
            project_name=who.project_name,
        )
    except AsyncQueueFull as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": "1"}) from None
    except (GuardrailError, ValidationError) as exc:
        raise _error(exc) from None
    except ValueError as exc:  # the callback URL
        raise HTTPException(400, f"callback_url: {exc}") from None
    location = f"/api/v1/guard/async/{job.id}"
    return JSONResponse(
        {"id": job.id, "status": job.status, "location": location},
        status_code=202,
        headers={"Location": location},
    )


@router.get(
    "/guard/async/{job_id}",
    summary="The state and decision of an async guard check",
    responses={404: {}},
)
async def guard_async_result(job_id: str, ctx: Context, who: Who) -> JSONResponse:
    job = _service(ctx).jobs.get(job_id, who.project_id)
    if job is None:
        raise HTTPException(404, f"no async guard check {job_id!r} (unknown, expired or another project's)")
    return JSONResponse(job.to_dict())
