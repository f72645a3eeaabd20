"""Realistic LLM spans for benchmarks: ~15 attributes, ~1 KB input and ~1 KB output of varied text."""

from __future__ import annotations

import json
import random

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

WORDS = [
    "order",
    "refund",
    "shipping",
    "invoice",
    "account",
    "password",
    "reset",
    "delivery",
    "tracking",
    "customer",
    "support",
    "agent",
    "please",
    "could",
    "you",
    "help",
    "me",
    "with",
    "my",
    "recent",
    "purchase",
    "the",
    "package",
    "arrived",
    "damaged",
    "and",
    "I",
    "would",
    "like",
    "a",
    "replacement",
    "or",
    "a",
    "full",
    "refund",
    "as",
    "soon",
    "as",
    "possible",
    "thanks",
    "kindly",
    "regards",
    "update",
    "status",
    "policy",
    "warranty",
    "return",
    "label",
    "courier",
    "address",
    "change",
    "subscription",
    "cancel",
    "upgrade",
    "plan",
    "billing",
    "charge",
]
MODELS = [("openai", "gpt-4o-mini"), ("openai", "gpt-4o"), ("anthropic", "claude-sonnet-4-20250514")]


def text(rng: random.Random, size: int) -> str:
    out: list[str] = []
    length = 0
    while length < size:
        word = rng.choice(WORDS)
        out.append(word)
        length += len(word) + 1
    return " ".join(out)


def request(rng: random.Random, n_spans: int, base_trace: int) -> bytes:
    """One OTLP request of ``n_spans`` LLM spans, in traces of 5 spans (unique ids from ``base_trace``)."""
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    for key, value in (("service.name", "support-bot"), ("deployment.environment", "prod")):
        a = rs.resource.attributes.add()
        a.key, a.value.string_value = key, value
    scope = rs.scope_spans.add()
    scope.scope.name = "opentelemetry.instrumentation.openai"
    now = 1_764_000_000_000_000_000 + rng.randrange(10**12)
    for i in range(n_spans):
        provider, model = rng.choice(MODELS)
        s = scope.spans.add()
        s.trace_id = (base_trace + i // 5).to_bytes(16, "big")
        s.span_id = rng.getrandbits(64).to_bytes(8, "big")
        s.name = f"chat {model}"
        s.kind = 3
        s.start_time_unix_nano = now + i * 1000
        s.end_time_unix_nano = s.start_time_unix_nano + rng.randrange(200_000_000, 3_000_000_000)
        attrs = {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": model,
            "gen_ai.response.model": model,
            "gen_ai.request.temperature": 0.2,
            "gen_ai.request.max_tokens": 1024,
            "gen_ai.usage.input_tokens": rng.randrange(200, 2000),
            "gen_ai.usage.output_tokens": rng.randrange(50, 800),
            "gen_ai.response.id": f"chatcmpl-{rng.getrandbits(64):x}",
            "gen_ai.response.finish_reasons": "stop",
            "gen_ai.conversation.id": f"session-{rng.randrange(5000)}",
            "user.id": f"user-{rng.randrange(1000)}",
            "server.address": "api.openai.com",
            "gen_ai.input.messages": json.dumps(
                [{"role": "user", "parts": [{"type": "text", "content": text(rng, 1000)}]}]
            ),
            "gen_ai.output.messages": json.dumps(
                [{"role": "assistant", "parts": [{"type": "text", "content": text(rng, 1000)}]}]
            ),
        }
        for key, value in attrs.items():
            a = s.attributes.add()
            a.key = key
            if isinstance(value, str):
                a.value.string_value = value
            elif isinstance(value, float):
                a.value.double_value = value
            else:
                a.value.int_value = value
    return bytes(req.SerializeToString())
