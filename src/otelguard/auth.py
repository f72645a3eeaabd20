"""API-key authentication shared by the OTLP receivers, the REST API and the guard service.

Accepted forms (DESIGN.md, Auth): ``Authorization: Bearer <secret>``, HTTP Basic ``<public>:<secret>``,
and ``x-otelguard-api-key: <secret>`` — as HTTP headers or gRPC metadata alike.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

API_KEY_HEADER = "x-otelguard-api-key"


class Unauthenticated(Exception):
    """No usable credentials, or credentials that match no active key."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_MISSING = (
    "missing API key: send 'Authorization: Bearer <key>', HTTP Basic '<public key>:<secret key>', "
    f"or an '{API_KEY_HEADER}' header"
)


@dataclass(frozen=True, slots=True)
class Credentials:
    secret: str
    public_key: str | None = None


@dataclass(frozen=True, slots=True)
class Principal:
    project_id: str
    project_name: str
    public_key: str


def credentials_from_headers(headers: Mapping[str, str]) -> Credentials:
    """Credentials from lower-cased header names; ``Unauthenticated`` when absent or malformed."""
    direct = headers.get(API_KEY_HEADER)
    if direct:
        return Credentials(direct.strip())
    authorization = headers.get("authorization")
    if not authorization:
        raise Unauthenticated(_MISSING)
    scheme, _, value = authorization.strip().partition(" ")
    scheme = scheme.lower()
    value = value.strip()
    if scheme == "bearer" and value:
        return Credentials(value)
    if scheme == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthenticated("malformed HTTP Basic credentials") from None
        public, sep, secret = decoded.partition(":")
        if not sep or not secret:
            raise Unauthenticated("HTTP Basic credentials must be '<public key>:<secret key>'")
        return Credentials(secret, public or None)
    raise Unauthenticated(f"unsupported Authorization scheme {scheme!r}: use Bearer or Basic")


Verifier = Callable[[Credentials], Principal | None]


class KeyCache:
    """Caches verified keys so the hot path does not hit Postgres per request.

    A revoked key stops working within ``ttl_s``; unknown keys are remembered briefly so a misconfigured
    client hammering the collector does not hammer Postgres too.
    """

    def __init__(self, verify: Verifier, *, ttl_s: float = 30.0, negative_ttl_s: float = 5.0) -> None:
        self._verify = verify
        self._ttl_s = ttl_s
        self._negative_ttl_s = negative_ttl_s
        self._cache: dict[Credentials, tuple[float, Principal | None]] = {}

    def _cached(self, creds: Credentials) -> tuple[bool, Principal | None]:
        hit = self._cache.get(creds)
        if hit is not None and hit[0] > time.monotonic():
            return True, hit[1]
        return False, None

    def _store(self, creds: Credentials, principal: Principal | None) -> None:
        if len(self._cache) > 10_000:
            self._cache.clear()
        ttl = self._ttl_s if principal is not None else self._negative_ttl_s
        self._cache[creds] = (time.monotonic() + ttl, principal)

    def authenticate(self, creds: Credentials) -> Principal:
        found, principal = self._cached(creds)
        if not found:
            principal = self._verify(creds)
            self._store(creds, principal)
        if principal is None:
            raise Unauthenticated("unknown or revoked API key")
        return principal

    async def authenticate_async(self, creds: Credentials) -> Principal:
        found, principal = self._cached(creds)
        if not found:
            principal = await asyncio.to_thread(self._verify, creds)
            self._store(creds, principal)
        if principal is None:
            raise Unauthenticated("unknown or revoked API key")
        return principal
