"""User feedback on a real server (uvicorn, chDB, Postgres): public-key authentication (no secret), CORS on
this route only, per-key/IP rate limits, validation, and the scores it becomes."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from score_support import SPAN_A1, TRACE_A, Api

from otelguard.storage.postgres import revoke_api_key

ORIGIN = "https://shop.example"
PK = "x-otelguard-public-key"


def fb(**over: Any) -> dict[str, Any]:
    return {"trace_id": TRACE_A, "type": "thumbs", "value": "up", **over}


def send(api: Api, body: Any, headers: dict[str, str] | None = None, **params: str) -> httpx.Response:
    return httpx.post(
        f"{api.url}/api/v1/feedback", json=body, headers=headers or {}, params=params, timeout=30
    )


def scores(api: Api) -> list[dict[str, Any]]:
    response = httpx.get(f"{api.url}/api/v1/scores", headers=api.a.auth, params={"limit": 100}, timeout=30)
    assert response.status_code == 200
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_public_key_alone_records_feedback_as_scores(api: Api) -> None:
    up = send(api, fb(comment="great answer", span_id=SPAN_A1), {PK: api.a.public_key, "origin": ORIGIN})
    assert up.status_code == 201, up.text
    down = send(api, fb(value=False, session_id="sess-9"), public_key=api.a.public_key)
    rating = send(api, fb(type="rating", value=4, name="stars"), {PK: api.a.public_key})
    assert down.status_code == 201 and rating.status_code == 201
    rows = {r["id"]: r for r in scores(api)}
    first = rows[up.json()["id"]]
    assert (first["source"], first["data_type"], first["value"], first["name"]) == (
        "feedback", "boolean", 1.0, "user-feedback"
    )  # fmt: skip
    assert first["comment"] == "great answer" and first["span_id"] == SPAN_A1
    second = rows[down.json()["id"]]
    assert second["value"] == 0.0 and second["session_id"] == "sess-9"
    stars = rows[rating.json()["id"]]
    assert (stars["name"], stars["data_type"], stars["value"]) == ("stars", "numeric", 4.0)
    # Only project A got them.
    other = httpx.get(f"{api.url}/api/v1/scores", headers=api.b.auth, timeout=30).json()["items"]
    assert other == []


def test_full_keys_work_too_but_the_secret_is_never_needed(api: Api) -> None:
    assert send(api, fb(), api.a.auth).status_code == 201
    basic = base64.b64encode(f"{api.a.public_key}:{api.a.secret}".encode()).decode()
    assert send(api, fb(), {"authorization": f"Basic {basic}"}).status_code == 201
    assert len(scores(api)) == 2
    # A public key cannot read anything.
    for path in ("/api/v1/scores", "/api/v1/traces"):
        assert httpx.get(f"{api.url}{path}", headers={PK: api.a.public_key}, timeout=30).status_code == 401


def test_unknown_revoked_or_missing_keys_are_401(api: Api) -> None:
    missing = send(api, fb(), {"origin": ORIGIN})
    assert missing.status_code == 401 and PK in missing.json()["detail"]
    assert missing.headers["access-control-allow-origin"] == "*"  # the browser can read the error
    assert send(api, fb(), {PK: "pk-og-0000000000000000"}).status_code == 401
    assert send(api, fb(), {PK: api.a.secret}).status_code == 401  # a secret is not a public key
    assert send(api, fb(), {PK: "x" * 5000}).status_code == 401
    assert send(api, fb(), public_key="pk-og-\x00").status_code == 401  # never reaches Postgres
    revoke_api_key(api.db, api.b.public_key)
    assert send(api, fb(), {PK: api.b.public_key}).status_code == 401


def test_cors_preflight_and_headers_only_on_feedback(api: Api) -> None:
    preflight = httpx.options(
        f"{api.url}/api/v1/feedback",
        headers={
            "origin": ORIGIN,
            "access-control-request-method": "POST",
            "access-control-request-headers": f"content-type, {PK}",
        },
        timeout=30,
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    allowed = {h.strip() for h in preflight.headers["access-control-allow-headers"].split(",")}
    assert {"content-type", PK} <= allowed and "authorization" not in allowed
    assert int(preflight.headers["access-control-max-age"]) > 0
    posted = send(api, fb(), {PK: api.a.public_key, "origin": ORIGIN})
    assert posted.headers["access-control-allow-origin"] == "*"
    # Nowhere else: the read API stays same-origin only.
    for method, path in (("OPTIONS", "/api/v1/scores"), ("GET", "/api/v1/scores"), ("GET", "/api/v1/traces")):
        other = httpx.request(
            method, f"{api.url}{path}", headers={**api.a.auth, "origin": ORIGIN,
                                                 "access-control-request-method": "GET"}, timeout=30
        )  # fmt: skip
        assert "access-control-allow-origin" not in other.headers, (method, path)


def test_cors_with_an_origin_list(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTELGUARD_FEEDBACK_ORIGINS", f"{ORIGIN}, https://other.example")
    api.server.app.state.feedback = None  # re-read the environment
    ok = httpx.options(
        f"{api.url}/api/v1/feedback",
        headers={"origin": ORIGIN, "access-control-request-method": "POST"},
        timeout=30,
    )
    assert ok.status_code == 204 and ok.headers["access-control-allow-origin"] == ORIGIN
    assert "origin" in ok.headers["vary"].lower()
    evil = httpx.options(
        f"{api.url}/api/v1/feedback",
        headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
        timeout=30,
    )
    assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers
    posted = send(api, fb(), {PK: api.a.public_key, "origin": "https://evil.example"})
    assert "access-control-allow-origin" not in posted.headers  # the browser will not expose it
    assert (
        send(api, fb(), {PK: api.a.public_key, "origin": ORIGIN}).headers["access-control-allow-origin"]
        == ORIGIN
    )


def test_rate_limit_per_key_answers_429_with_retry_after(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTELGUARD_FEEDBACK_BURST", "3")
    monkeypatch.setenv("OTELGUARD_FEEDBACK_RATE", "0.01")
    api.server.app.state.feedback = None
    codes = [send(api, fb(), {PK: api.a.public_key}).status_code for _ in range(3)]
    assert codes == [201, 201, 201]
    limited = send(api, fb(), {PK: api.a.public_key, "origin": ORIGIN})
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 100
    assert limited.headers["access-control-allow-origin"] == "*"
    assert "retry-after" in limited.headers["access-control-expose-headers"].lower()
    assert len(scores(api)) == 3  # the refused one was not written
    # Another key (another bucket) is unaffected; unknown keys are limited too.
    assert send(api, fb(), {PK: api.b.public_key}).status_code == 201
    bogus = [send(api, fb(), {PK: "pk-og-ffffffffffffffff"}).status_code for _ in range(4)]
    assert bogus == [401, 401, 401, 429]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (fb(type="stars"), "type"),
        (fb(type="rating", value=6), "1 to 5"),
        (fb(type="rating", value=0), "1 to 5"),
        (fb(type="rating", value=4.5), "value"),
        (fb(type="rating", value=True), "1 to 5"),
        (fb(value="maybe"), "thumbs"),
        (fb(value=3), "thumbs"),
        (fb(comment="x" * 2001), "comment"),
        (fb(trace_id="not-hex"), "trace_id"),
        (fb(span_id="12"), "span_id"),
        (fb(name=""), "name"),
        (fb(extra=1), "extra"),
        ({"type": "thumbs", "value": "up"}, "trace_id"),
        (["not", "an", "object"], "JSON object"),
    ],
)
def test_bad_feedback_is_400(api: Api, body: Any, message: str) -> None:
    response = send(api, body, {PK: api.a.public_key, "origin": ORIGIN})
    assert response.status_code == 400, response.text
    assert message in response.json()["detail"]
    assert response.headers["access-control-allow-origin"] == "*"
    assert scores(api) == []


def test_bad_requests_beyond_the_body(api: Api) -> None:
    unknown = send(api, fb(), {PK: api.a.public_key}, colour="red")
    assert unknown.status_code == 400 and "colour" in unknown.json()["detail"]
    raw = httpx.post(
        f"{api.url}/api/v1/feedback", content=b"{oops", headers={PK: api.a.public_key}, timeout=30
    )
    assert raw.status_code == 400 and "JSON" in raw.json()["detail"]
    huge = httpx.post(
        f"{api.url}/api/v1/feedback", content=b"x" * 20_000, headers={PK: api.a.public_key}, timeout=30
    )
    assert huge.status_code == 413
    # navigator.sendBeacon posts text/plain (no preflight): accepted as JSON.
    beacon = httpx.post(
        f"{api.url}/api/v1/feedback",
        content=b'{"trace_id": "' + TRACE_A.encode() + b'", "type": "thumbs", "value": "down"}',
        headers={PK: api.a.public_key, "content-type": "text/plain;charset=UTF-8"},
        timeout=30,
    )
    assert beacon.status_code == 201


def test_feedback_respects_score_configs(api: Api) -> None:
    config = {"name": "user-feedback", "data_type": "numeric", "min_value": 1, "max_value": 5}
    created = httpx.post(f"{api.url}/api/v1/score-configs", json=config, headers=api.a.auth, timeout=30)
    assert created.status_code == 201
    thumbs = send(api, fb(), {PK: api.a.public_key})
    assert thumbs.status_code == 400 and "configured as numeric" in thumbs.json()["detail"]
    assert send(api, fb(type="rating", value=5), {PK: api.a.public_key}).status_code == 201
