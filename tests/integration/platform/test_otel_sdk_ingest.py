"""The official OpenTelemetry SDK, unchanged, sends nested gen_ai spans over OTLP/HTTP and OTLP/gRPC to a
running ``otelguard up``; the read API returns them with model, tokens, cost, tree shape, user and session."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import Status, StatusCode

from platform_process import Platform


def send_agent_trace(exporter: SpanExporter, session: str, user: str) -> str:
    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test.agent")
    with tracer.start_as_current_span("invoke_agent support") as agent:
        agent.set_attribute("gen_ai.operation.name", "invoke_agent")
        agent.set_attribute("gen_ai.agent.name", "support")
        agent.set_attribute("gen_ai.conversation.id", session)
        agent.set_attribute("user.id", user)
        trace_id = format(agent.get_span_context().trace_id, "032x")
        with tracer.start_as_current_span("chat gpt-4o-mini") as llm:
            llm.set_attribute("gen_ai.operation.name", "chat")
            llm.set_attribute("gen_ai.provider.name", "openai")
            llm.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            llm.set_attribute("gen_ai.response.model", "gpt-4o-mini-2024-07-18")
            llm.set_attribute("gen_ai.usage.input_tokens", 1000)
            llm.set_attribute("gen_ai.usage.output_tokens", 500)
            llm.set_attribute(
                "gen_ai.input.messages",
                '[{"role":"user","parts":[{"type":"text","content":"Where is my order?"}]}]',
            )
            llm.set_attribute(
                "gen_ai.output.messages",
                '[{"role":"assistant","parts":[{"type":"text","content":"Let me look it up."}]}]',
            )
            with tracer.start_as_current_span("execute_tool lookup_order") as tool:
                tool.set_attribute("gen_ai.operation.name", "execute_tool")
                tool.set_attribute("gen_ai.tool.name", "lookup_order")
                tool.set_status(Status(StatusCode.ERROR, "order service timed out"))
    provider.shutdown()
    return trace_id


def walk(nodes: list[dict[str, Any]], depth: int = 0) -> list[tuple[int, dict[str, Any]]]:
    out = []
    for node in nodes:
        out.append((depth, node))
        out.extend(walk(node["children"], depth + 1))
    return out


@pytest.mark.parametrize("transport", ["http-protobuf", "http-gzip", "grpc"])
def test_sdk_trace_round_trip(platform: Platform, transport: str) -> None:
    session, user = f"sess-{uuid.uuid4().hex[:8]}", f"user-{transport}"
    exporter: SpanExporter
    if transport == "grpc":
        exporter = GrpcExporter(endpoint=platform.grpc_endpoint, insecure=True, headers=platform.auth)
    else:
        exporter = HttpExporter(
            endpoint=f"{platform.otlp_http_url}/v1/traces",
            headers=platform.auth,
            compression=Compression.Gzip if transport == "http-gzip" else Compression.NoCompression,
        )
    trace_id = send_agent_trace(exporter, session, user)

    [summary] = platform.wait_for_traces(1, session_id=session)
    assert summary["trace_id"] == trace_id
    assert summary["user_id"] == user
    assert summary["span_count"] == 3
    assert summary["error_count"] == 1

    detail = platform.get(f"/api/v1/traces/{trace_id}").json()
    shape = [(depth, node["name"], node["kind"]) for depth, node in walk(detail["spans"])]
    assert shape == [
        (0, "invoke_agent support", "agent"),
        (1, "chat gpt-4o-mini", "llm"),
        (2, "execute_tool lookup_order", "tool"),
    ]
    llm = walk(detail["spans"])[1][1]
    assert llm["provider"] == "openai"
    assert llm["model"] == "gpt-4o-mini-2024-07-18"
    assert llm["usage"]["input"] == 1000 and llm["usage"]["output"] == 500
    # gpt-4o-mini: $0.15 / 1M input, $0.60 / 1M output
    assert llm["total_cost"] == pytest.approx(1000 * 0.15e-6 + 500 * 0.60e-6)
    assert "Where is my order?" in llm["input"]
    tool = walk(detail["spans"])[2][1]
    assert tool["status_code"] == "error"
    assert detail["total_tokens"] == 1500
    assert detail["total_cost"] == pytest.approx(llm["total_cost"])
