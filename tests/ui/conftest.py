"""Web UI end-to-end fixtures: a built UI, a running ``otelguard up`` seeded through the OpenTelemetry SDK,
and headless Debian Chromium driven by Playwright (``executable_path``: browsers are never downloaded)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode

from platform_process import Platform

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _messages(*pairs: tuple[str, str]) -> str:
    return json.dumps([{"role": r, "parts": [{"type": "text", "content": c}]} for r, c in pairs])


def seed(platform: Platform) -> dict[str, str]:
    """Send a few realistic traces through the real OTel SDK; return their trace ids by name."""
    exporter = OTLPSpanExporter(endpoint=f"{platform.otlp_http_url}/v1/traces", headers=platform.auth)
    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("otelguard.ui-tests")
    ids: dict[str, str] = {}

    # An agent that answers an order question; its tool call fails.
    with tracer.start_as_current_span("invoke_agent support") as agent:
        agent.set_attribute("gen_ai.operation.name", "invoke_agent")
        agent.set_attribute("gen_ai.agent.name", "support")
        agent.set_attribute("gen_ai.conversation.id", "sess-checkout-42")
        agent.set_attribute("user.id", "alice@example.com")
        ids["agent"] = format(agent.get_span_context().trace_id, "032x")
        with tracer.start_as_current_span("chat gpt-4o-mini") as llm:
            llm.set_attribute("gen_ai.operation.name", "chat")
            llm.set_attribute("gen_ai.provider.name", "openai")
            llm.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            llm.set_attribute("gen_ai.usage.input_tokens", 1240)
            llm.set_attribute("gen_ai.usage.output_tokens", 310)
            llm.set_attribute(
                "gen_ai.input.messages",
                _messages(
                    ("system", "You are a friendly support agent for Acme Shop."),
                    ("user", "Where is my order #1042? It was due yesterday."),
                ),
            )
            llm.set_attribute(
                "gen_ai.output.messages",
                _messages(("assistant", "Let me look up order #1042 for you.")),
            )
        with tracer.start_as_current_span("execute_tool lookup_order") as tool:
            tool.set_attribute("gen_ai.operation.name", "execute_tool")
            tool.set_attribute("gen_ai.tool.name", "lookup_order")
            tool.set_status(Status(StatusCode.ERROR, "order service timed out"))

    # A retrieval-augmented answer about refunds, in the plain {role, content} format.
    with tracer.start_as_current_span("rag answer") as root:
        root.set_attribute("traceloop.span.kind", "workflow")
        root.set_attribute("session.id", "sess-refunds-7")
        root.set_attribute("user.id", "bob@example.com")
        ids["rag"] = format(root.get_span_context().trace_id, "032x")
        with tracer.start_as_current_span("retrieve policy docs") as ret:
            ret.set_attribute("openinference.span.kind", "RETRIEVER")
            ret.set_attribute("input.value", "refund policy for damaged items")
        with tracer.start_as_current_span("chat claude-3-5-sonnet") as llm:
            llm.set_attribute("gen_ai.operation.name", "chat")
            llm.set_attribute("gen_ai.provider.name", "anthropic")
            llm.set_attribute("gen_ai.request.model", "claude-3-5-sonnet-20241022")
            llm.set_attribute("gen_ai.usage.input_tokens", 2200)
            llm.set_attribute("gen_ai.usage.output_tokens", 180)
            llm.set_attribute(
                "gen_ai.input.messages",
                json.dumps([{"role": "user", "content": "Can I get a refund for a damaged blender?"}]),
            )
            llm.set_attribute(
                "gen_ai.output.messages",
                json.dumps([{"role": "assistant", "content": "Yes: damaged items are refunded in full."}]),
            )

    # A few single-call traces so the table has rows to sort.
    for i, (model, user) in enumerate(
        [
            ("gpt-4o", "carol@example.com"),
            ("gpt-4o-mini", "alice@example.com"),
            ("gpt-4.1", "dave@example.com"),
        ]
    ):
        with tracer.start_as_current_span(f"chat {model}") as llm:
            llm.set_attribute("gen_ai.operation.name", "chat")
            llm.set_attribute("gen_ai.provider.name", "openai")
            llm.set_attribute("gen_ai.request.model", model)
            llm.set_attribute("gen_ai.usage.input_tokens", 300 * (i + 1))
            llm.set_attribute("gen_ai.usage.output_tokens", 90 * (i + 1))
            llm.set_attribute("user.id", user)
            llm.set_attribute("session.id", f"sess-misc-{i}")
            llm.set_attribute("gen_ai.input.messages", _messages(("user", f"Summarise ticket number {i}")))
    provider.shutdown()
    platform.wait_for_traces(5)
    return ids


@pytest.fixture(scope="session")
def ui_build() -> Path:
    """The built UI, rebuilt by scripts/build_ui.sh when webui/ changed (a no-op when it is fresh)."""
    subprocess.run(["bash", str(REPO / "scripts" / "build_ui.sh")], check=True)
    return REPO / "src" / "otelguard" / "webui" / "static"


@pytest.fixture(scope="module")
def seeded(ui_build: Path, platform: Platform) -> tuple[Platform, dict[str, str]]:
    return platform, seed(platform)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail(
            "Debian chromium is missing: run scripts/install_chromium.sh (apt-get install -y chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1440, "height": 900}, color_scheme="light")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    yield pg
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"
