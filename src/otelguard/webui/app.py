"""The API server's FastAPI application."""

from __future__ import annotations

from fastapi import FastAPI

from otelguard import __version__
from otelguard.webui.context import ApiContext
from otelguard.webui.routers import guard, guardrail_events, health, metrics, sessions, spans, traces, users
from otelguard.webui.routers.prompts import router as prompts_router
from otelguard.webui.static import register_static


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
    app.include_router(health.router)
    app.include_router(traces.router)
    app.include_router(spans.router)
    app.include_router(sessions.router)
    app.include_router(users.router)
    app.include_router(metrics.router)
    app.include_router(prompts_router)
    app.include_router(guard.router)
    app.include_router(guardrail_events.router)
    register_static(app)  # last: its catch-all serves the web UI's client-side routes
    return app
