"""The API server's FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from otelguard import __version__
from otelguard.webui.context import ApiContext
from otelguard.webui.routers import evaluators as evaluators_router
from otelguard.webui.routers import feedback as feedback_router
from otelguard.webui.routers import guard, guardrail_events, health, metrics, sessions, spans, traces, users
from otelguard.webui.routers import scores as scores_router
from otelguard.webui.routers.prompts import router as prompts_router
from otelguard.webui.static import register_static


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's 422 without echoing the input back: an echoed lone surrogate (``"\\ud800"``) cannot be
    encoded as UTF-8 and turned the 422 into a 500."""
    assert isinstance(exc, RequestValidationError)
    errors = [{k: v for k, v in e.items() if k not in ("input", "ctx")} for e in exc.errors()]
    return JSONResponse(status_code=422, content={"detail": jsonable_encoder(errors)})


def create_app(context: ApiContext) -> FastAPI:
    app = FastAPI(
        title="OTelGuard API",
        version=__version__,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
        description=(
            "Read traces, spans, sessions, users and metrics of LLM applications. "
            "Authenticate with an OTelGuard API key."
        ),
    )
    app.state.context = context
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.include_router(health.router)
    app.include_router(traces.router)
    app.include_router(spans.router)
    app.include_router(sessions.router)
    app.include_router(users.router)
    app.include_router(metrics.router)
    app.include_router(prompts_router)
    app.include_router(guard.router)
    app.include_router(guardrail_events.router)
    app.include_router(scores_router.router)
    app.include_router(feedback_router.router)
    app.include_router(evaluators_router.router)
    register_static(app)  # last: its catch-all serves the web UI's client-side routes
    return app
