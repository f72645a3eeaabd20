"""OpenInference (Arize Phoenix) conventions."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from otelguard.model import SpanRecord

Norm = Callable[..., SpanRecord]


@pytest.mark.parametrize(
    ("oi_kind", "kind"),
    [
        ("LLM", "llm"),
        ("TOOL", "tool"),
        ("AGENT", "agent"),
        ("CHAIN", "chain"),
        ("RETRIEVER", "retriever"),
        ("RERANKER", "retriever"),
        ("EMBEDDING", "embedding"),
        ("GUARDRAIL", "guardrail"),
        ("EVALUATOR", "evaluator"),
        ("PROMPT", "chain"),
        ("llm", "llm"),
        ("UNKNOWN", "other"),
    ],
)
def test_span_kind(norm: Norm, oi_kind: str, kind: str) -> None:
    assert norm({"openinference.span.kind": oi_kind}).kind == kind


def test_span_kind_wins_over_evidence_and_other_conventions(norm: Norm) -> None:
    rec = norm(
        {"openinference.span.kind": "CHAIN", "llm.model_name": "gpt-4o", "traceloop.span.kind": "tool"}
    )
    assert rec.kind == "chain"


def test_model_and_provider(norm: Norm) -> None:
    rec = norm({"llm.model_name": "gpt-4o-mini-2024-07-18", "llm.provider": "azure", "llm.system": "openai"})
    assert (rec.model, rec.request_model, rec.provider) == (
        "gpt-4o-mini-2024-07-18",
        "gpt-4o-mini-2024-07-18",
        "azure.ai.openai",
    )
    rec = norm({"llm.model_name": "claude-sonnet-4-5", "llm.system": "anthropic"})
    assert rec.provider == "anthropic"
    rec = norm({"embedding.model_name": "text-embedding-3-small", "openinference.span.kind": "EMBEDDING"})
    assert rec.model == "text-embedding-3-small"


def test_request_and_response_model_names(norm: Norm) -> None:
    rec = norm({"llm.request.model_name": "gpt-4o", "llm.response.model_name": "gpt-4o-2024-11-20"})
    assert (rec.model, rec.request_model) == ("gpt-4o-2024-11-20", "gpt-4o")


@pytest.mark.parametrize(
    ("attrs", "usage"),
    [
        (
            {"llm.token_count.prompt": 10, "llm.token_count.completion": 5, "llm.token_count.total": 15},
            {"input": 10, "output": 5, "total": 15},
        ),
        (  # Anthropic via OpenInference: prompt already includes cache reads and writes
            {
                "llm.token_count.prompt": 1210,
                "llm.token_count.completion": 50,
                "llm.token_count.prompt_details.cache_read": 1000,
                "llm.token_count.prompt_details.cache_write": 200,
                "llm.token_count.completion_details.reasoning": 20,
            },
            {
                "input": 1210,
                "output": 50,
                "total": 1260,
                "cache_read": 1000,
                "cache_write": 200,
                "reasoning": 20,
            },
        ),
        (  # older detail name
            {"llm.token_count.prompt": 100, "llm.token_count.prompt_details.cache_input": 40},
            {"input": 100, "total": 100, "cache_read": 40},
        ),
    ],
)
def test_token_counts(norm: Norm, attrs: dict[str, Any], usage: dict[str, int]) -> None:
    assert norm(attrs).usage == usage


def test_input_and_output_messages(norm: Norm) -> None:
    rec = norm(
        {
            "openinference.span.kind": "LLM",
            "input.value": '{"messages": "raw request"}',
            "input.mime_type": "application/json",
            "llm.input_messages.0.message.role": "system",
            "llm.input_messages.0.message.content": "Be brief.",
            "llm.input_messages.1.message.role": "user",
            "llm.input_messages.1.message.contents.0.message_content.type": "text",
            "llm.input_messages.1.message.contents.0.message_content.text": "What is this?",
            "llm.input_messages.1.message.contents.1.message_content.type": "image",
            "llm.input_messages.1.message.contents.1.message_content.image.image.url": "https://x/y.png",
            "llm.output_messages.0.message.role": "assistant",
            "llm.output_messages.0.message.tool_calls.0.tool_call.id": "call_1",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.name": "lookup",
            "llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": '{"q":"x"}',
            "output.value": "raw response",
        }
    )
    assert json.loads(rec.input) == [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {"type": "image", "image_url": "https://x/y.png"},
            ],
        },
    ]
    assert json.loads(rec.output) == [
        {"role": "assistant", "tool_calls": [{"id": "call_1", "name": "lookup", "arguments": '{"q":"x"}'}]}
    ]
    assert rec.input.startswith('[{"role":"system","content":"Be brief."}')  # compact


def test_values_without_messages(norm: Norm) -> None:
    rec = norm({"openinference.span.kind": "CHAIN", "input.value": "question", "output.value": '{"a":1}'})
    assert (rec.input, rec.output) == ("question", '{"a":1}')


def test_session_user_tags_metadata(norm: Norm) -> None:
    rec = norm(
        {
            "session.id": "s-1",
            "user.id": "u-1",
            "tag.tags": ["prod", "beta", "prod"],
            "metadata": '{"tenant": "acme"}',
        }
    )
    assert (rec.session_id, rec.user_id, rec.tags) == ("s-1", "u-1", ["prod", "beta"])
    assert rec.attributes["metadata"] == '{"tenant": "acme"}'
    assert rec.attributes["tag.tags"] == '["prod","beta","prod"]'


def test_client_cost(norm: Norm) -> None:
    rec = norm(
        {
            "llm.model_name": "gpt-4o",
            "llm.token_count.prompt": 100,
            "llm.cost.prompt": 0.001,
            "llm.cost.completion": 0.002,
            "llm.cost.prompt_details.cache_read": 0.0001,
            "llm.cost.completion_details.reasoning": 0.0005,
        }
    )
    assert rec.cost_source == "client"
    assert rec.cost == {
        "input": 0.001,
        "output": 0.002,
        "cache_read": 0.0001,
        "reasoning": 0.0005,
        "total": pytest.approx(0.003),
    }
    assert norm({"llm.cost.total": 0.42, "llm.cost.prompt": 0.1}).cost == {"input": 0.1, "total": 0.42}


def test_prompt_template_version(norm: Norm) -> None:
    rec = norm({"llm.prompt_template.template": "Hi {name}", "llm.prompt_template.version": "v3"})
    assert rec.prompt_version == 3
    assert norm({"llm.prompt_template.version": "draft"}).prompt_version == 0
