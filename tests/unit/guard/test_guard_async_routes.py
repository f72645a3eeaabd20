"""``POST /api/v1/guard/async`` and ``GET /api/v1/guard/async/{id}`` in-process: 202, the stored result,
bad callback URLs and bodies (4xx), project isolation, expiry, a full queue (429)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from otelguard.auth import Credentials, KeyCache, Principal
from otelguard.webui.app import create_app
from otelguard.webui.context import ApiContext
from otelguard.webui.guard_service import GuardConfig, GuardService, PolicyRow

KEY = "unit-key-0123456789abcdef"
OTHER = "other-key-0123456789abcdef"
AUTH = {"authorization": f"Bearer {KEY}"}
SPEC = {
    "format": 1,
    "stages": ["input", "output"],
    "rules": [{"name": "pii", "validator": "pii", "onFail": [{"type": "sanitize"}]}],
}


def verify(creds: Credentials) -> Principal | None:
    if creds.secret == KEY:
        return Principal("pid-1", "default", "pk-1")
    if creds.secret == OTHER:
        return Principal("pid-2", "other", "pk-2")
    return None


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/cb"


Factory = Callable[..., TestClient]


@pytest.fixture
def make() -> Iterator[Factory]:
    opened: list[tuple[Any, GuardService]] = []

    def factory(**config: Any) -> TestClient:
        rows = [PolicyRow("ns/safety", 1, SPEC, (1,))]
        # The callbacks here go to loopback ports, which webhooks may only reach when allowed.
        config.setdefault("webhook_allow_networks", ("127.0.0.0/8",))
        cfg = GuardConfig(max_text_bytes=1000, webhook_attempts=1, **config)
        guard = GuardService(lambda: rows, config=cfg).start(poll=False)
        ctx = ApiContext(clickhouse=object(), keys=KeyCache(verify), guard=guard)  # type: ignore[arg-type]
        cm = TestClient(create_app(ctx))
        client = cm.__enter__()
        opened.append((cm, guard))
        return client

    yield factory
    for cm, guard in opened:
        cm.__exit__(None, None, None)
        guard.close()


def submit(client: TestClient, body: dict[str, Any], headers: dict[str, str] = AUTH) -> Any:
    return client.post("/api/v1/guard/async", json=body, headers=headers)


def result(client: TestClient, job_id: str, headers: dict[str, str] = AUTH) -> Any:
    deadline = time.monotonic() + 10
    while True:
        r = client.get(f"/api/v1/guard/async/{job_id}", headers=headers)
        if r.status_code != 200 or r.json()["status"] != "pending" or time.monotonic() > deadline:
            return r
        time.sleep(0.01)


def test_accepted_then_result(make: Factory) -> None:
    client = make()
    r = submit(client, {"stage": "input", "input": "mail a@b.io", "callback_url": closed_port_url()})
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] == "pending" and job["id"].startswith("ga_")
    got = result(client, job["id"])
    assert got.status_code == 200
    body = got.json()
    assert (body["status"], body["result"]["verdict"], body["result"]["text"]) == (
        "done",
        "flag",
        "mail <EMAIL>",
    )
    assert body["error"] is None and body["createdAt"]


@pytest.mark.parametrize(
    ("callback", "message"),
    [
        ("not a url", "http or https"),
        ("ftp://example.com/hook", "http or https, not 'ftp'"),
        ("file:///etc/passwd", "http or https"),
        ("javascript:alert(1)", "http or https"),
        ("http:///no-host", "no host"),
        ("https://user:pw@example.com/hook", "credentials"),
        ("http://example.com:99999/hook", "not a valid URL"),
        ("http://exa mple.com/", "whitespace"),
        ("", "non-empty"),
    ],
)
def test_bad_callback_url(make: Factory, callback: str, message: str) -> None:
    r = submit(make(), {"stage": "input", "input": "x", "callback_url": callback})
    assert r.status_code == 400, r.text
    assert "callback_url" in r.json()["detail"] and message in r.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"stage": "input", "input": "x"}, 400, "callback_url"),
        ({"stage": "input", "input": "x", "callback_url": 5}, 400, "callback_url"),
        ({"stage": "input", "input": "x", "callback_url": "http://h/" + "a" * 2100}, 400, "callback_url"),
        ({"stage": "ingest", "input": "x", "callback_url": "http://h/cb"}, 400, "unknown stage"),
        ({"stage": "input", "input": "", "callback_url": "http://h/cb"}, 400, "input is required"),
        (
            {"stage": "input", "input": "x", "policy": "nope", "callback_url": "http://h/cb"},
            404,
            "unknown policy",
        ),
        ({"stage": "input", "input": "x" * 1001, "callback_url": "http://h/cb"}, 413, "over the limit"),
        ([1], 400, "JSON object"),
    ],
)
def test_bad_body(make: Factory, body: Any, status: int, message: str) -> None:
    r = make().post("/api/v1/guard/async", json=body, headers=AUTH)
    assert r.status_code == status, r.text
    assert message in r.json()["detail"]


def test_needs_a_key_and_results_are_per_project(make: Factory) -> None:
    client = make()
    assert client.post("/api/v1/guard/async", json={}).status_code == 401
    job = submit(client, {"stage": "input", "input": "hi", "callback_url": closed_port_url()}).json()
    assert result(client, job["id"]).status_code == 200
    assert client.get(f"/api/v1/guard/async/{job['id']}").status_code == 401
    other = client.get(f"/api/v1/guard/async/{job['id']}", headers={"authorization": f"Bearer {OTHER}"})
    assert other.status_code == 404
    assert client.get("/api/v1/guard/async/ga_nope", headers=AUTH).status_code == 404


def test_results_expire(make: Factory) -> None:
    client = make(async_ttl_s=0.2)
    job = submit(client, {"stage": "input", "input": "hi", "callback_url": closed_port_url()}).json()
    assert result(client, job["id"]).status_code == 200
    time.sleep(0.3)
    assert client.get(f"/api/v1/guard/async/{job['id']}", headers=AUTH).status_code == 404


def test_full_queue_is_429_and_sync_still_serves(make: Factory) -> None:
    client = make(async_max_pending=0)
    r = submit(client, {"stage": "input", "input": "hi", "callback_url": "http://127.0.0.1:9/cb"})
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    assert (
        client.post("/api/v1/guard", json={"stage": "input", "input": "hi"}, headers=AUTH).status_code == 200
    )
