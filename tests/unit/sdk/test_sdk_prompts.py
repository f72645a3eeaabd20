"""The SDK's prompt cache (TTL, stale-while-revalidate, ETag 304, last known good), compile, and the
span linking of ``prompt.trace()`` with the OpenTelemetry SDK. The server is an httpx MockTransport here;
tests/integration/prompts has the same against a real server that is then stopped."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otelguard.sdk import OTelGuardClient, PromptNotFound, PromptUnavailable
from otelguard.sdk.tracing import PROMPT_NAME, PROMPT_VERSION, install_prompt_processor, prompt_scope

BODIES = {
    ("greet", 1): {
        "name": "greet", "namespace": "default", "version": 1, "hash": "h1", "type": "text",
        "template": "Hello {{ name }}{% include 'prompt:sig@production' %}",
        "variables": [{"name": "name"}], "modelConfig": None, "labels": ["production"],
    },
    ("greet", 2): {
        "name": "greet", "namespace": "default", "version": 2, "hash": "h2", "type": "text",
        "template": "Hi {{ name }}", "variables": [], "modelConfig": None, "labels": ["production"],
    },
    ("chat", 1): {
        "name": "chat", "namespace": "default", "version": 1, "hash": "c1", "type": "chat",
        "messages": [{"role": "system", "content": "Be {{ tone }}"}],
        "variables": [{"name": "tone", "default": "kind"}], "modelConfig": {"model": "m"}, "labels": [],
    },
    ("sig", 3): {
        "name": "sig", "namespace": "default", "version": 3, "hash": "s3", "type": "text",
        "template": " -- {{ team | default('ops') }}", "variables": [], "modelConfig": None, "labels": [],
    },
}  # fmt: skip


class FakeServer:
    def __init__(self) -> None:
        self.production = {"greet": 1, "chat": 1, "sig": 3}
        self.up = True
        self.requests: list[httpx.Request] = []
        self.delay_s = 0.0

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        time.sleep(self.delay_s)
        if not self.up:
            raise httpx.ConnectError("connection refused", request=request)
        name = request.url.path.rsplit("/", 1)[-1]
        version = request.url.params.get("version")
        number = int(version) if version else self.production.get(name)
        body = BODIES.get((name, number or 0))
        if body is None:
            return httpx.Response(404, json={"detail": f"prompt {name!r} not found"})
        etag = f'"{body["hash"]}"'
        if request.headers.get("if-none-match") == etag:
            return httpx.Response(304, headers={"etag": etag})
        return httpx.Response(200, json=body, headers={"etag": etag})


def client_for(server: FakeServer, **kw: float) -> OTelGuardClient:
    return OTelGuardClient("http://og", "k" * 20, transport=httpx.MockTransport(server.handler), **kw)


def wait_until(check: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_fresh_entries_are_served_from_memory() -> None:
    server = FakeServer()
    client = client_for(server, ttl_s=60)
    first = client.get_prompt("greet")
    assert client.get_prompt("greet") is first
    assert len(server.requests) == 1
    assert server.requests[0].headers["authorization"] == "Bearer " + "k" * 20


def test_stale_is_served_at_once_and_revalidated_with_etag() -> None:
    server = FakeServer()
    client = client_for(server, ttl_s=0.05)
    first = client.get_prompt("greet")
    time.sleep(0.06)
    server.delay_s = 0.2  # a slow revalidation must not slow the caller
    started = time.monotonic()
    assert client.get_prompt("greet") is first
    assert time.monotonic() - started < 0.1
    wait_until(lambda: client.stats["not_modified"] == 1)
    assert server.requests[-1].headers["if-none-match"] == '"h1"'
    assert client.get_prompt("greet") is first  # renewed, still the same object


def test_label_move_is_picked_up_after_revalidation() -> None:
    server = FakeServer()
    client = client_for(server, ttl_s=0.05)
    assert client.get_prompt("greet").version == 1
    server.production["greet"] = 2
    time.sleep(0.06)
    assert client.get_prompt("greet").version == 1  # stale copy while revalidating
    wait_until(lambda: client.get_prompt("greet").version == 2)


def test_last_known_good_when_the_server_is_down() -> None:
    server = FakeServer()
    client = client_for(server, ttl_s=0.02, retry_s=0.05)
    good = client.get_prompt("greet")
    server.up = False
    for _ in range(5):
        time.sleep(0.03)
        assert client.get_prompt("greet") is good
    wait_until(lambda: client.stats["errors"] >= 2)
    server.up = True
    server.production["greet"] = 2
    wait_until(lambda: client.get_prompt("greet").version == 2)
    with pytest.raises(PromptUnavailable):
        server.up = False
        client.get_prompt("never-fetched")


def test_versions_never_expire_and_404_is_not_found() -> None:
    server = FakeServer()
    client = client_for(server, ttl_s=0.0)
    pinned = client.get_prompt("greet", version=2)
    assert client.get_prompt("greet", version=2) is pinned
    assert len(server.requests) == 1
    with pytest.raises(PromptNotFound, match="not found"):
        client.get_prompt("missing")


def test_only_one_background_revalidation_at_a_time() -> None:
    server = FakeServer()
    client = client_for(server, ttl_s=0.01)
    client.get_prompt("greet")
    time.sleep(0.02)
    server.delay_s = 0.2
    threads = [threading.Thread(target=client.get_prompt, args=("greet",)) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wait_until(lambda: client.stats["not_modified"] >= 1)
    assert len(server.requests) == 2


def test_compile_text_with_include_and_chat() -> None:
    client = client_for(FakeServer())
    assert client.get_prompt("greet").compile(name="Ada") == "Hello Ada -- ops"
    assert client.get_prompt("chat").compile() == [{"role": "system", "content": "Be kind"}]


def test_trace_links_spans_started_in_scope() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    assert install_prompt_processor(provider)
    assert install_prompt_processor(provider)  # idempotent
    tracer = provider.get_tracer("app")  # stands in for an unchanged instrumentation
    prompt = client_for(FakeServer()).get_prompt("chat")
    with tracer.start_as_current_span("request"):
        with prompt_scope(prompt.name, prompt.version), tracer.start_as_current_span("chat gpt-4o"):
            pass
        with tracer.start_as_current_span("after"):
            pass
    spans = {s.name: dict(s.attributes or {}) for s in exporter.get_finished_spans()}
    assert spans["chat gpt-4o"] == {PROMPT_NAME: "chat", PROMPT_VERSION: 1}
    assert spans["request"] == {PROMPT_NAME: "chat", PROMPT_VERSION: 1}  # current when the scope opened
    assert spans["after"] == {}


def test_prompt_trace_uses_the_global_provider() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    prompt = client_for(FakeServer()).get_prompt("greet")
    with prompt.trace():
        trace.get_tracer("openai-instrumentation").start_span("llm").end()
    (span,) = exporter.get_finished_spans()
    assert span.attributes == {PROMPT_NAME: "greet", PROMPT_VERSION: 1}


def test_cached_get_prompt_is_fast() -> None:
    client = client_for(FakeServer())
    client.get_prompt("greet", label="production")
    n = 100_000
    started = time.perf_counter()
    for _ in range(n):
        client.get_prompt("greet", label="production")
    per_call_us = (time.perf_counter() - started) / n * 1e6
    assert per_call_us < 5, per_call_us
