"""Request helpers every read router shares: unknown query parameters are refused (400), times need a
zone, bad ranges and cursors are 400s, ids are checked before they reach a query."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import HTTPException, Query, Request
from fastapi.dependencies.models import Dependant
from pydantic import BaseModel, BeforeValidator, ValidationError

from otelguard.webui.security import Authenticated

__all__ = [
    "API_ERRORS",
    "NOT_FOUND",
    "ApiError",
    "Cursor",
    "End",
    "Limit",
    "Order",
    "Start",
    "bad_request",
    "check_hex_id",
    "read_json_body",
    "reject_unknown_params",
    "time_range",
    "to_ns",
]


class ApiError(BaseModel):
    """The body of every 4xx the API raises itself (FastAPI's own 422 lists the invalid fields)."""

    detail: str


# Documented on every authenticated router (OpenAPI clients and schemathesis check answers against it).
API_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ApiError, "description": "Invalid request: unknown or malformed parameters"},
    401: {"model": ApiError, "description": "Missing, unknown or revoked API key"},
}
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": ApiError, "description": "Not found in the caller's project"}
}


def _query_names(dependant: Dependant) -> set[str]:
    names = {p.alias for p in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


def reject_unknown_params(request: Request, _who: Authenticated) -> None:
    """400 for query parameters the route does not declare (after authentication)."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    unknown = sorted(set(request.query_params.keys()) - _query_names(dependant))
    if unknown:
        raise HTTPException(400, f"unknown query parameter(s): {', '.join(unknown[:10])}")


def to_ns(value: datetime | None) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise HTTPException(400, "timestamps need a time zone, e.g. 2026-11-27T10:00:00Z")
    ns = int(value.timestamp() * 1_000_000) * 1000
    if not 0 <= ns < 2**63:
        raise HTTPException(400, "timestamps must lie between 1970 and 2262")
    return ns


def time_range(start: datetime | None, end: datetime | None) -> tuple[int | None, int | None]:
    start_ns, end_ns = to_ns(start), to_ns(end)
    if start_ns is not None and end_ns is not None and start_ns > end_ns:
        raise HTTPException(400, "start must not be after end")
    return start_ns, end_ns


def bad_request(exc: ValidationError | ValueError) -> HTTPException:
    if isinstance(exc, ValidationError):
        msgs = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'query'}: {e['msg']}" for e in exc.errors()[:5])
        return HTTPException(400, msgs)
    return HTTPException(400, str(exc))


def check_hex_id(value: str, length: int, what: str) -> str:
    normalized = value.lower()
    if len(normalized) != length or any(c not in "0123456789abcdef" for c in normalized):
        raise HTTPException(400, f"{what} must be {length} hexadecimal characters")
    return normalized


_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _iso_only(value: object) -> object:
    # pydantic would read "0.5" or "1700000000000" as Unix seconds or milliseconds (by size): a guess the
    # documented date-time format does not promise, so a number is refused instead of misread.
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        raise ValueError(
            "expected an ISO 8601 date-time with a zone, e.g. 2026-11-27T10:00:00Z, not a number"
        )
    return value


_Iso = BeforeValidator(_iso_only)
Start = Annotated[datetime | None, Query(description="Earliest start, ISO 8601 with zone (inclusive)"), _Iso]
End = Annotated[datetime | None, Query(description="Latest start, ISO 8601 with zone (exclusive)"), _Iso]
Cursor = Annotated[str | None, Query(max_length=2048, description="next_cursor of the previous page")]
Limit = Annotated[int, Query(ge=1, description="Page size; values above 1000 are clamped")]
Order = Annotated[Literal["asc", "desc"], Query(description="Sort direction")]


async def read_json_body(request: Request, limit: int) -> Any:
    """The decoded JSON body; 413 above ``limit`` bytes (declared or read), 400 when empty, not UTF-8 or
    not JSON. Every route that parses its own body (guard, scores, score configs, feedback) uses this."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"request body is {declared} bytes, over the limit of {limit} bytes")
    body = await request.body()
    if len(body) > limit:
        raise HTTPException(413, f"request body is {len(body)} bytes, over the limit of {limit} bytes")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(
            400, f"request body is not valid UTF-8 (byte {exc.start}: {exc.reason})"
        ) from None
    if not text.strip():
        raise HTTPException(400, "request body is empty: send a JSON object")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise HTTPException(400, f"request body is not valid JSON: {exc}") from None
