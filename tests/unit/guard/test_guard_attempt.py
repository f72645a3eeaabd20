"""``attempt`` on the guard API (single, batch, async) and in the service: it reaches the engine's retry
action, so once ``maxAttempts`` are used up the rule's later actions apply; bad values are 400; the result
cache keeps attempts apart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from otelguard.auth import Credentials, KeyCache, Principal
from otelguard.webui.app import create_app
from otelguard.webui.context import ApiContext
from otelguard.webui.guard_service import (
    GuardConfig,
    GuardRequest,
    GuardService,
    InvalidAttempt,
    PolicyRow,
)

KEY = "unit-key-0123456789abcdef"
AUTH = {"authorization": f"Bearer {KEY}"}
FALLBACK = '{"error": "no answer"}'
SPEC = {
    "format": 1,
    "stages": ["output"],
    "rules": [
        {
            "name": "json",
            "validator": "json_valid",
            "onFail": [
                {"type": "retry", "params": {"maxAttempts": 3, "params": {"temperature": 0}}},
                {"type": "fallback", "params": {"response": FALLBACK}},
            ],
        }
    ],
}
NOT_JSON = {"stage": "output", "input": "q", "output": "forty-two"}


def verify(creds: Credentials) -> Principal | None:
    return Principal("pid-1", "default", "pk-1") if creds.secret == KEY else None


@pytest.fixture
def service() -> Iterator[GuardService]:
    rows = [PolicyRow("ns/json", 1, SPEC, (1,))]
    config = GuardConfig(webhook_attempts=1)
    svc = GuardService(lambda: rows, config=config).start(poll=False)
    yield svc
    svc.close()


@pytest.fixture
def client(service: GuardService) -> Iterator[TestClient]:
    ctx = ApiContext(clickhouse=object(), keys=KeyCache(verify), guard=service)  # type: ignore[arg-type]
    with TestClient(create_app(ctx)) as c:
        yield c


def post(client: TestClient, body: Any, path: str = "/api/v1/guard") -> Any:
    return client.post(path, json=body, headers=AUTH)


def test_retry_until_max_attempts_then_the_fallback(client: TestClient) -> None:
    first = post(client, NOT_JSON).json()  # no attempt: 1
    assert first["retry"]["attempt"] == 2 and first["retry"]["maxAttempts"] == 3
    assert first["fallback"] is None and first["actions"][0]["actions"] == ["retry"]
    second = post(client, {**NOT_JSON, "attempt": 2}).json()
    assert second["retry"]["attempt"] == 3 and not second["cached"]  # not attempt 1's cached result
    last = post(client, {**NOT_JSON, "attempt": 3}).json()
    assert last["retry"] is None
    assert last["fallback"]["response"] == FALLBACK
    assert last["actions"][0]["actions"] == ["retry_exhausted", "fallback"]
    again = post(client, {**NOT_JSON, "attempt": 3}).json()  # same text and attempt: the cache answers
    assert again["cached"] and again["fallback"]["response"] == FALLBACK
    assert post(client, {**NOT_JSON, "attempt": 1}).json()["retry"]["attempt"] == 2


@pytest.mark.parametrize("attempt", [0, -1, 101, 10**9, "2", 2.5, 2.0, True, None, [2], {"n": 2}])
def test_bad_attempt_is_400(client: TestClient, attempt: Any) -> None:
    r = post(client, {**NOT_JSON, "attempt": attempt})
    assert r.status_code == 400, r.text
    assert "attempt" in r.json()["detail"]
    assert post(client, NOT_JSON).status_code == 200  # still serving


def test_batch_items_carry_their_own_attempt(client: TestClient) -> None:
    items = [NOT_JSON, {**NOT_JSON, "attempt": 3}, {**NOT_JSON, "attempt": 0}, {**NOT_JSON, "attempt": 100}]
    out = post(client, {"items": items}, "/api/v1/guard/batch").json()["items"]
    assert [i["status"] for i in out] == [200, 200, 400, 200]
    assert out[0]["result"]["retry"]["attempt"] == 2
    assert out[1]["result"]["fallback"]["response"] == FALLBACK
    assert "attempt" in out[2]["error"]
    assert out[3]["result"]["fallback"]["response"] == FALLBACK


def test_async_passes_the_attempt(client: TestClient) -> None:
    hook = "http://callback.invalid/cb"  # never resolves: the decision is kept for GET all the same
    assert (
        post(client, {**NOT_JSON, "attempt": 0, "callback_url": hook}, "/api/v1/guard/async").status_code
        == 400
    )
    r = post(client, {**NOT_JSON, "attempt": 3, "callback_url": hook}, "/api/v1/guard/async")
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 10
    while (body := client.get(r.headers["location"], headers=AUTH).json())["status"] == "pending":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert body["result"]["fallback"]["response"] == FALLBACK


def test_openapi_documents_attempt(client: TestClient) -> None:
    paths = client.get("/api/openapi.json").json()["paths"]
    schema = paths["/api/v1/guard"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    prop = schema["properties"]["attempt"]
    assert (prop["minimum"], prop["maximum"], prop["default"]) == (1, 100, 1)


def test_service_validates_and_passes_the_attempt(service: GuardService) -> None:
    def check(attempt: Any) -> Any:
        req = GuardRequest("output", "forty-two", input_text="q", attempt=attempt)
        return service.check(req, project_id="pid-1", project_name="default")

    assert check(1).result.retry.attempt == 2
    assert check(3).result.fallback.response == FALLBACK
    assert check(2).result.retry.attempt == 3
    for bad in (0, 101, True, "1"):
        with pytest.raises(InvalidAttempt, match="attempt must be an integer from 1 to 100"):
            check(bad)
