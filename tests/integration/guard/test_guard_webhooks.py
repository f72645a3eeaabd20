"""Alert webhooks and async guard callbacks against a REAL HTTP receiver on loopback (http.server in a
thread): delivery, deduplication, retry after a 500, and a dead receiver never slowing a guard request."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient

from otelguard.auth import Credentials, KeyCache, Principal
from otelguard.guardrails import Engine, compile_policy
from otelguard.guardrails.webhooks import Delivery, DeliveryResult, WebhookAlertSink, WebhookSender
from otelguard.webui.app import create_app
from otelguard.webui.context import ApiContext
from otelguard.webui.guard_service import GuardConfig, GuardService, PolicyRow

KEY = "integration-key-0123456789"
AUTH = {"authorization": f"Bearer {KEY}"}


class Receiver:
    """A real HTTP server recording every POST; answers the queued statuses first, then 200."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.lock = threading.Lock()
        self.got = threading.Condition(self.lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                with receiver.lock:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                    receiver.posts.append(
                        {
                            "path": self.path,
                            "headers": {k.lower(): v for k, v in self.headers.items()},
                            "json": json.loads(body),
                            "status": status,
                        }
                    )
                    receiver.got.notify_all()
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, n: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        with self.got:
            assert self.got.wait_for(lambda: len(self.posts) >= n, timeout), self.posts
            return list(self.posts)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def dead_url() -> str:
    """A loopback port nobody listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


LOOPBACK = ("127.0.0.0/8",)  # the receivers run on loopback, which webhooks reach only when allowed


def fast_sender(**kw: Any) -> WebhookSender:
    return WebhookSender("test", backoff_s=0.05, timeout_s=2.0, allow_networks=LOOPBACK, **kw).start()


# -- the sender ------------------------------------------------------------------------------------------
def test_retry_after_500_then_delivered(receiver: Receiver) -> None:
    receiver.statuses = [500, 503]
    sender = fast_sender(max_attempts=4)
    done: list[DeliveryResult] = []
    assert sender.submit(Delivery(f"{receiver.url}/cb", {"a": 1}, done.append))
    posts = receiver.wait(3)
    assert sender.flush(5)
    sender.close()
    assert [p["status"] for p in posts] == [500, 503, 200]
    assert {p["headers"]["x-otelguard-delivery"] for p in posts} == {
        posts[0]["headers"]["x-otelguard-delivery"]
    }
    assert [p["headers"]["x-otelguard-attempt"] for p in posts] == ["1", "2", "3"]
    assert done == [DeliveryResult(True, 3, 200, None)]


def test_gives_up_after_max_attempts_and_4xx_is_final(receiver: Receiver) -> None:
    receiver.statuses = [500, 500, 400]
    sender = fast_sender(max_attempts=2, workers=1)  # one worker: the statuses are served in order
    done: list[DeliveryResult] = []
    sender.submit(Delivery(receiver.url, {"n": 1}, done.append))
    sender.submit(Delivery(receiver.url, {"n": 2}, done.append))
    assert sender.flush(5)
    sender.close()
    assert [(r.ok, r.attempts, r.status) for r in done] == [(False, 2, 500), (False, 1, 400)]
    assert (sender.delivered, sender.failed) == (0, 2)


def test_bounded_queue_drops_instead_of_blocking() -> None:
    sender = WebhookSender("test", max_queue=2)  # not started: nothing drains it
    results = [sender.submit(Delivery(dead_url(), {})) for _ in range(5)]
    assert results == [True, True, False, False, False] and sender.dropped == 3
    sender.close()


# -- alert actions ---------------------------------------------------------------------------------------
def alert_policy(url: str, dedup: int = 300) -> Any:
    return compile_policy(
        {
            "stages": ["input"],
            "rules": [
                {
                    "name": "pii",
                    "validator": "pii",
                    "onFail": [
                        {
                            "type": "alert",
                            "params": {"url": url, "dedupSeconds": dedup, "severity": "critical"},
                        },
                        {"type": "sanitize"},
                    ],
                }
            ],
        },
        name="team/pii",
        version=1,
    )


def test_alert_posted_once_per_dedup_window(receiver: Receiver) -> None:
    sender = fast_sender()
    engine = Engine([alert_policy(f"{receiver.url}/alerts")], alert_sink=WebhookAlertSink(sender))
    first = engine.evaluate("mail jane@example.com", "input")
    second = engine.evaluate("mail bob@example.org", "input")  # same policy + rule + entity types
    third = engine.evaluate("call +44 20 7946 0958", "input")  # a different fingerprint
    assert [r.actions for r in (first, second, third)] == [
        ["alert", "sanitize"],
        ["alert_deduplicated", "sanitize"],
        ["alert", "sanitize"],
    ]
    assert sender.flush(5)
    sender.close()
    posts = receiver.posts
    assert len(posts) == 2 and {p["path"] for p in posts} == {"/alerts"}
    bodies = sorted((p["json"] for p in posts), key=lambda b: b["entities"])
    assert [(b["policy"], b["rule"], b["severity"], b["entities"]) for b in bodies] == [
        ("team/pii", "pii", "critical", ["EMAIL"]),
        ("team/pii", "pii", "critical", ["PHONE"]),
    ]
    assert "jane@example.com" not in json.dumps(posts)  # never the checked text


def test_dead_alert_receiver_does_not_slow_checks() -> None:
    sender = WebhookSender("test", backoff_s=0.2, max_attempts=3, allow_networks=LOOPBACK).start()
    engine = Engine([alert_policy(dead_url(), dedup=0)], alert_sink=WebhookAlertSink(sender))
    worst = 0.0
    for i in range(20):
        started = time.perf_counter()
        r = engine.evaluate(f"mail user{i}@example.com", "input")
        worst = max(worst, time.perf_counter() - started)
        assert r.verdict == "flag" and "alert" in r.actions
    assert worst < 0.05, worst
    sender.close(timeout_s=2)


# -- async guard API -------------------------------------------------------------------------------------
SPEC = {
    "format": 1,
    "stages": ["input", "output"],
    "rules": [{"name": "pii", "validator": "pii", "onFail": [{"type": "sanitize"}]}],
}


@contextlib.contextmanager
def serve_guard(rows: list[PolicyRow], config: GuardConfig) -> Iterator[tuple[TestClient, GuardService]]:
    """The API app around a started guard service (no stores), signed in with ``KEY``."""
    guard = GuardService(lambda: rows, config=config).start(poll=False)

    def verify(creds: Credentials) -> Principal | None:
        return Principal("pid-1", "default", "pk-1") if creds.secret == KEY else None

    ctx = ApiContext(clickhouse=object(), keys=KeyCache(verify), guard=guard)  # type: ignore[arg-type]
    try:
        with TestClient(create_app(ctx)) as c:
            yield c, guard
    finally:
        guard.close()


@pytest.fixture
def client() -> Iterator[tuple[TestClient, GuardService]]:
    config = GuardConfig(webhook_backoff_s=0.05, webhook_timeout_s=2.0, webhook_allow_networks=LOOPBACK)
    with serve_guard([PolicyRow("ns/safety", 1, SPEC, (1,))], config) as served:
        yield served


def wait_done(c: TestClient, job_id: str, key: str = "callback") -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        body: dict[str, Any] = c.get(f"/api/v1/guard/async/{job_id}", headers=AUTH).json()
        if body["status"] != "pending" and body[key]["status"] not in ("pending",):
            return body
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} did not finish")


def test_async_callback_delivered_after_a_500(
    client: tuple[TestClient, GuardService], receiver: Receiver
) -> None:
    c, _ = client
    receiver.statuses = [500]
    r = c.post(
        "/api/v1/guard/async",
        json={"stage": "input", "input": "mail jane@example.com", "callback_url": f"{receiver.url}/cb?x=1"},
        headers=AUTH,
    )
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    assert r.headers["location"] == f"/api/v1/guard/async/{job_id}"
    posts = receiver.wait(2)
    assert [p["status"] for p in posts] == [500, 200] and posts[1]["path"] == "/cb?x=1"
    delivered = posts[1]["json"]
    assert (delivered["id"], delivered["status"]) == (job_id, "done")
    assert (delivered["result"]["verdict"], delivered["result"]["text"]) == ("flag", "mail <EMAIL>")
    body = wait_done(c, job_id)
    assert body["result"] == delivered["result"]
    assert body["callback"] == {"status": "delivered", "attempts": 2, "httpStatus": 200, "error": None}


def test_async_with_dead_callback_answers_fast_and_keeps_result(
    client: tuple[TestClient, GuardService],
) -> None:
    c, guard = client
    started = time.perf_counter()
    r = c.post(
        "/api/v1/guard/async",
        json={"stage": "input", "input": "hello a@b.io", "callback_url": dead_url()},
        headers=AUTH,
    )
    assert r.status_code == 202 and time.perf_counter() - started < 0.5
    # The sync API keeps answering fast while the callback is being retried.
    started = time.perf_counter()
    sync = c.post("/api/v1/guard", json={"stage": "input", "input": "x@y.io"}, headers=AUTH)
    assert sync.status_code == 200 and time.perf_counter() - started < 0.5
    body = wait_done(c, r.json()["id"])
    assert body["result"]["verdict"] == "flag"
    assert body["callback"]["status"] == "failed"
    assert body["callback"]["attempts"] == guard.config.webhook_attempts
    assert "ConnectError" in body["callback"]["error"]
