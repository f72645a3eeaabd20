"""Request authentication for the REST API: the same API keys and header forms as the collector."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyHeader, HTTPBasic, HTTPBearer

from otelguard.auth import API_KEY_HEADER, Principal, Unauthenticated, credentials_from_headers
from otelguard.webui.context import ApiContext

# Declared only so OpenAPI documents the accepted schemes; parsing is shared with the collector.
_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <secret key>")
_basic = HTTPBasic(auto_error=False, description="HTTP Basic <public key>:<secret key>")
_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)


def context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.context
    return ctx


def principal(
    request: Request,
    ctx: Annotated[ApiContext, Depends(context)],
    _b: Annotated[object, Depends(_bearer)] = None,
    _s: Annotated[object, Depends(_basic)] = None,
    _h: Annotated[object, Depends(_header)] = None,
) -> Principal:
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        return ctx.keys.authenticate(credentials_from_headers(headers))
    except Unauthenticated as exc:
        raise HTTPException(401, exc.message, headers={"WWW-Authenticate": "Bearer"}) from None


Authenticated = Annotated[Principal, Depends(principal)]
Context = Annotated[ApiContext, Depends(context)]
