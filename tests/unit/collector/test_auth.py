"""Credential parsing and the key cache."""

from __future__ import annotations

import base64

import pytest

from otelguard.auth import Credentials, KeyCache, Principal, Unauthenticated, credentials_from_headers


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"authorization": "Bearer sk-og-secret"}, Credentials("sk-og-secret")),
        ({"authorization": "bearer   sk-og-secret  "}, Credentials("sk-og-secret")),
        ({"authorization": basic("pk-og-1", "sk-og-2")}, Credentials("sk-og-2", "pk-og-1")),
        ({"x-otelguard-api-key": "sk-og-3"}, Credentials("sk-og-3")),
        ({"x-otelguard-api-key": "sk-og-3", "authorization": "Bearer other"}, Credentials("sk-og-3")),
    ],
)
def test_accepted_forms(headers: dict[str, str], expected: Credentials) -> None:
    assert credentials_from_headers(headers) == expected


@pytest.mark.parametrize(
    ("headers", "needle"),
    [
        ({}, "missing API key"),
        ({"authorization": "Bearer"}, "unsupported"),
        ({"authorization": "Digest abc"}, "unsupported"),
        ({"authorization": "Basic !!!"}, "malformed"),
        ({"authorization": basic("only-user", "")}, "<public key>:<secret key>"),
        ({"authorization": "Basic " + base64.b64encode(b"nocolon").decode()}, "<public key>:<secret key>"),
    ],
)
def test_rejected_forms(headers: dict[str, str], needle: str) -> None:
    with pytest.raises(Unauthenticated) as info:
        credentials_from_headers(headers)
    assert needle in info.value.message


def test_cache_hits_and_negative_entries() -> None:
    calls: list[Credentials] = []
    good = Principal("p1", "default", "pk")

    def verify(creds: Credentials) -> Principal | None:
        calls.append(creds)
        return good if creds.secret == "right" else None

    cache = KeyCache(verify)
    assert cache.authenticate(Credentials("right")) == good
    assert cache.authenticate(Credentials("right")) == good
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            cache.authenticate(Credentials("wrong"))
    assert calls == [Credentials("right"), Credentials("wrong")]


def test_expired_entries_are_verified_again() -> None:
    calls = 0

    def verify(creds: Credentials) -> Principal | None:
        nonlocal calls
        calls += 1
        return None if calls > 1 else Principal("p", "n", "pk")  # revoked after the first check

    cache = KeyCache(verify, ttl_s=0.0)
    cache.authenticate(Credentials("k"))
    with pytest.raises(Unauthenticated):
        cache.authenticate(Credentials("k"))
