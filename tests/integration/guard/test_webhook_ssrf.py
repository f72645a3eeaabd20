"""SSRF protection of outgoing webhooks against REAL receivers on loopback (http.server, and an HTTPS one
with a certificate for ``hook.test``): refused loopback/private/link-local targets (literal and by name)
under the strict default, delivery once the allow-list opens loopback, the POST pinned to the checked
address with the original Host and TLS name, async callbacks and alerts refused with a clear reason."""

from __future__ import annotations

import json
import logging
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from test_guard_webhooks import AUTH, LOOPBACK, Receiver, serve_guard

from otelguard.guardrails.webhooks import Delivery, DeliveryResult, WebhookSender
from otelguard.webui.guard_service import GuardConfig, GuardService, PolicyRow


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def refused_count(sender: str, reason: str) -> float:
    value = REGISTRY.get_sample_value("otelguard_webhook_refused_total", {"sender": sender, "reason": reason})
    return value or 0.0


def deliver(sender: WebhookSender, url: str) -> DeliveryResult:
    done: list[DeliveryResult] = []
    assert sender.submit(Delivery(url, {"n": 1}, done.append))
    assert sender.flush(10)
    (result,) = done
    return result


@pytest.mark.parametrize(
    ("make_url", "why"),
    [
        (lambda port: f"http://127.0.0.1:{port}/hook", "127.0.0.1, a loopback address"),
        (lambda port: f"http://localhost:{port}/hook", "localhost resolves to 127.0.0.1, a loopback address"),
        (lambda port: f"http://[::1]:{port}/hook", "::1, a loopback address"),
        (lambda port: f"http://[::ffff:127.0.0.1]:{port}/hook", "a loopback address"),
        (lambda port: "http://10.0.0.1/hook", "10.0.0.1, a private address"),
        (lambda port: "http://192.168.1.20:8080/hook", "192.168.1.20, a private address"),
        (lambda port: "http://169.254.169.254/latest/meta-data/", "169.254.169.254, a link-local address"),
        (lambda port: "http://[fe80::1]/hook", "fe80::1, a link-local address"),
        (lambda port: "http://0.0.0.0:9/", "0.0.0.0, an unspecified address"),
    ],
)
def test_strict_default_refuses_without_connecting(receiver: Receiver, make_url: Any, why: str) -> None:
    port = receiver.server.server_address[1]
    sender = WebhookSender("ssrf-test", max_attempts=3, backoff_s=0.5).start()
    before = refused_count("ssrf-test", "address")
    started = time.perf_counter()
    result = deliver(sender, make_url(port))
    sender.close()
    assert time.perf_counter() - started < 0.4  # final at once: no connect, no retry backoff
    assert (result.ok, result.refused, result.attempts, result.status) == (False, True, 0, None)
    assert result.error is not None and why in result.error
    assert "OTELGUARD_WEBHOOK_ALLOW_NETWORKS" in result.error
    assert receiver.posts == []
    assert (sender.refused, sender.failed, sender.delivered) == (1, 1, 0)
    assert refused_count("ssrf-test", "address") == before + 1


def test_allow_list_opens_loopback_by_name_and_literal(receiver: Receiver) -> None:
    port = receiver.server.server_address[1]
    sender = WebhookSender("ssrf-test", allow_networks=LOOPBACK).start()
    assert deliver(sender, f"http://localhost:{port}/by-name").ok
    assert deliver(sender, f"http://127.0.0.1:{port}/by-ip").ok
    refused = deliver(sender, "http://10.0.0.1/x")  # only the listed networks open
    sender.close()
    assert refused.refused and "10.0.0.1, a private address" in (refused.error or "")
    assert [(p["path"], p["headers"]["host"]) for p in receiver.posts] == [
        ("/by-name", f"localhost:{port}"),
        ("/by-ip", f"127.0.0.1:{port}"),
    ]


def test_the_post_goes_to_the_checked_address_with_the_original_host(receiver: Receiver) -> None:
    # hook.test does not resolve on this machine: the delivery only succeeds if the connection uses the
    # address the check resolved (no second lookup the answer could change in between: DNS rebinding).
    port = receiver.server.server_address[1]
    lookups: list[tuple[str, int]] = []

    def resolver(host: str, port: int) -> list[str]:
        lookups.append((host, port))
        return ["127.0.0.1"]

    sender = WebhookSender("ssrf-test", allow_networks=["127.0.0.1/32"], resolver=resolver).start()
    result = deliver(sender, f"http://hook.test:{port}/cb?x=1")
    sender.close()
    assert result.ok, result
    assert lookups == [("hook.test", port)]
    (post,) = receiver.posts
    assert (post["path"], post["headers"]["host"]) == ("/cb?x=1", f"hook.test:{port}")


def test_a_name_answering_one_private_address_is_refused(receiver: Receiver) -> None:
    port = receiver.server.server_address[1]
    sender = WebhookSender(
        "ssrf-test", resolver=lambda host, p: ["93.184.216.34", "127.0.0.1"], max_attempts=2
    ).start()
    result = deliver(sender, f"http://rebind.test:{port}/")
    sender.close()
    assert result.refused and "rebind.test resolves to 127.0.0.1, a loopback address" in (result.error or "")
    assert receiver.posts == []


# -- TLS: the pinned connection still presents and verifies the host name ------------------------------
class TlsReceiver:
    def __init__(self, tmp: Path) -> None:
        self.cert, key = tmp / "cert.pem", tmp / "key.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-keyout", str(key), "-out", str(self.cert), "-subj", "/CN=hook.test",
             "-addext", "subjectAltName=DNS:hook.test"],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        self.sni: list[str | None] = []
        self.hosts: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", "0")))
                receiver.hosts.append(self.headers["host"])
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, key)
        context.sni_callback = lambda sock, name, ctx: self.sni.append(name)  # type: ignore[assignment,misc,return-value]
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_https_keeps_sni_and_certificate_check_of_the_name(tmp_path: Path) -> None:
    tls = TlsReceiver(tmp_path)
    trust = ssl.create_default_context(cafile=str(tls.cert))
    sender = WebhookSender(
        "ssrf-test",
        allow_networks=LOOPBACK,
        resolver=lambda host, port: ["127.0.0.1"],
        verify=trust,
        max_attempts=1,
    ).start()
    try:
        assert deliver(sender, f"https://hook.test:{tls.port}/hook").ok
        assert (tls.sni, tls.hosts) == (["hook.test"], [f"hook.test:{tls.port}"])
        # The certificate is for hook.test: the same address under another name fails verification.
        other = WebhookSender(
            "ssrf-test", allow_networks=LOOPBACK, resolver=lambda h, p: ["127.0.0.1"], verify=trust
        ).start()
        wrong = deliver(other, f"https://other.test:{tls.port}/hook")
        other.close()
        assert not wrong.ok and not wrong.refused and "CERTIFICATE_VERIFY_FAILED" in (wrong.error or "")
    finally:
        sender.close()
        tls.close()


# -- through the guard service -------------------------------------------------------------------------
def alert_spec(url: str) -> dict[str, Any]:
    return {
        "format": 1,
        "stages": ["input"],
        "rules": [
            {
                "name": "pii",
                "validator": "pii",
                "onFail": [
                    {"type": "alert", "params": {"url": url, "dedupSeconds": 0}},
                    {"type": "sanitize"},
                ],
            }
        ],
    }


@pytest.fixture
def strict(receiver: Receiver) -> Iterator[tuple[TestClient, GuardService]]:
    """A guard service with the cluster's strict default (no allow-list); its alert goes to loopback."""
    rows = [PolicyRow("ns/alerts", 1, alert_spec(f"{receiver.url}/alerts"), (1,))]
    with serve_guard(rows, GuardConfig.from_env({}, local=False)) as served:
        yield served


def test_async_callbacks_to_loopback_are_refused_with_the_reason(
    strict: tuple[TestClient, GuardService], receiver: Receiver
) -> None:
    c, _ = strict
    port = receiver.server.server_address[1]
    body = {"stage": "input", "input": "hello"}
    for literal in (f"http://127.0.0.1:{port}/cb", "http://169.254.169.254/latest/meta-data/"):
        r = c.post("/api/v1/guard/async", json={**body, "callback_url": literal}, headers=AUTH)
        assert r.status_code == 400 and "which webhooks may not reach" in r.json()["detail"], r.text
    r = c.post(
        "/api/v1/guard/async", json={**body, "callback_url": f"http://localhost:{port}/cb"}, headers=AUTH
    )
    assert r.status_code == 202, r.text  # a name is resolved at delivery, off the request path
    deadline = time.monotonic() + 10
    while (job := c.get(r.headers["location"], headers=AUTH).json())["callback"]["status"] == "pending":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert job["status"] == "done" and job["result"]["verdict"] == "pass"  # the decision is kept
    assert job["callback"]["status"] == "refused" and job["callback"]["attempts"] == 0
    assert "localhost resolves to 127.0.0.1, a loopback address" in job["callback"]["error"]
    assert receiver.posts == []


def test_a_refused_alert_is_logged_and_counted_and_checks_go_on(
    strict: tuple[TestClient, GuardService], receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    c, guard = strict
    before = refused_count("guard-alerts", "address")
    with caplog.at_level(logging.WARNING, logger="otelguard.guardrails.webhooks"):
        for i in range(3):
            r = c.post(
                "/api/v1/guard", json={"stage": "input", "input": f"mail u{i}@example.com"}, headers=AUTH
            )
            assert r.status_code == 200 and r.json()["text"] == "mail <EMAIL>"
            assert r.json()["actions"][0]["actions"] == ["alert", "sanitize"]
        assert guard.alert_sender.flush(10)
    assert guard.alert_sender.refused == 3 and guard.alert_sender.delivered == 0
    assert refused_count("guard-alerts", "address") == before + 3
    assert receiver.posts == []
    messages = [r.getMessage() for r in caplog.records]
    assert any("127.0.0.1, a loopback address" in m and "guard-alerts" in m for m in messages), messages


def test_the_local_default_delivers_to_loopback(receiver: Receiver) -> None:
    rows = [PolicyRow("ns/alerts", 1, alert_spec(f"{receiver.url}/alerts"), (1,))]
    guard = GuardService(lambda: rows, config=GuardConfig.from_env({}, local=True)).start(poll=False)
    try:
        guard.engine.evaluate("mail jane@example.com", "input")
        (post,) = receiver.wait(1)
    finally:
        guard.close()
    assert post["path"] == "/alerts" and json.dumps(post["json"]).count("EMAIL") == 1
