"""OpenLLMetry (Traceloop) conventions, Langfuse prompt attributes and OTelGuard's own attributes."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from otelguard.model import SpanRecord

Norm = Callable[..., SpanRecord]


@pytest.mark.parametrize(
    ("attrs", "kind"),
    [
        ({"traceloop.span.kind": "workflow"}, "chain"),
        ({"traceloop.span.kind": "task"}, "chain"),
        ({"traceloop.span.kind": "agent"}, "agent"),
        ({"traceloop.span.kind": "tool"}, "tool"),
        ({"traceloop.span.kind": "unknown"}, "other"),
        ({"llm.request.type": "chat"}, "llm"),
        ({"llm.request.type": "completion"}, "llm"),
        ({"llm.request.type": "embedding"}, "embedding"),
        ({"llm.request.type": "rerank"}, "retriever"),
        # the GenAI operation is more specific than traceloop's kind
        ({"traceloop.span.kind": "task", "gen_ai.operation.name": "chat"}, "llm"),
    ],
)
def test_kind(norm: Norm, attrs: dict[str, Any], kind: str) -> None:
    assert norm(attrs).kind == kind


def test_indexed_prompts_and_completions(norm: Norm) -> None:
    attrs: dict[str, Any] = {
        "gen_ai.system": "openai",
        "llm.request.type": "chat",
        "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.prompt.0.role": "system",
        "gen_ai.prompt.0.content": "Be brief.",
        "gen_ai.prompt.1.role": "user",
        "gen_ai.prompt.1.content": "Weather?",
        "gen_ai.prompt.2.role": "assistant",
        "gen_ai.prompt.2.tool_calls.0.id": "call_1",
        "gen_ai.prompt.2.tool_calls.0.name": "weather",
        "gen_ai.prompt.2.tool_calls.0.arguments": '{"city":"Paris"}',
        "gen_ai.prompt.3.role": "tool",
        "gen_ai.prompt.3.tool_call_id": "call_1",
        "gen_ai.prompt.3.content": "rainy",
        "gen_ai.completion.0.role": "assistant",
        "gen_ai.completion.0.content": "It is rainy.",
        "gen_ai.completion.0.finish_reason": "stop",
    }
    rec = norm(attrs)
    assert json.loads(rec.input) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather?"},
        {
            "role": "assistant",
            "tool_calls": [{"id": "call_1", "name": "weather", "arguments": '{"city":"Paris"}'}],
        },
        {"role": "tool", "content": "rainy", "tool_call_id": "call_1"},
    ]
    assert rec.output == '[{"role":"assistant","content":"It is rainy.","finish_reason":"stop"}]'
    # the payload lives in input/output only; other attributes are kept as sent
    assert not any(k.startswith(("gen_ai.prompt.", "gen_ai.completion.")) for k in rec.attributes)
    assert rec.attributes["llm.request.type"] == "chat"


def test_indexed_messages_numeric_order_and_gaps(norm: Norm) -> None:
    attrs = {f"gen_ai.prompt.{i}.content": f"m{i}" for i in (11, 2, 10, 0)}
    attrs["gen_ai.prompt.name"] = "triage"  # a registry attribute under the same prefix, not a message
    attrs["gen_ai.prompt.x.content"] = "not indexed"
    rec = norm(attrs)
    assert [m["content"] for m in json.loads(rec.input)] == ["m0", "m2", "m10", "m11"]
    assert rec.prompt_name == "triage"


def test_genai_messages_win_over_indexed(norm: Norm) -> None:
    rec = norm({"gen_ai.input.messages": '[{"role":"user"}]', "gen_ai.prompt.0.content": "old"})
    assert rec.input == '[{"role":"user"}]'


def test_entity_input_output(norm: Norm) -> None:
    entity_in = '{"args": [], "kwargs": {"question": "why?"}}'
    rec = norm(
        {
            "traceloop.span.kind": "workflow",
            "traceloop.entity.name": "answer_question",
            "traceloop.entity.input": entity_in,
            "traceloop.entity.output": '"because"',
        }
    )
    assert (rec.kind, rec.input, rec.output) == ("chain", entity_in, '"because"')


def test_association_properties(norm: Norm) -> None:
    rec = norm(
        {
            "traceloop.association.properties.user_id": "u-9",
            "traceloop.association.properties.session_id": "s-9",
            "traceloop.association.properties.ls_provider": "openai",
            "traceloop.association.properties.ls_model_name": "gpt-4o",
            "traceloop.association.properties.tags": "a,b",
        }
    )
    assert (rec.user_id, rec.session_id, rec.provider, rec.model) == ("u-9", "s-9", "openai", "gpt-4o")
    assert rec.tags == ["a", "b"]
    rec = norm({"traceloop.association.properties.thread_id": "thread-1"})
    assert rec.session_id == "thread-1"


def test_usage_total_and_anthropic_inclusive_input(norm: Norm) -> None:
    # OpenLLMetry's Anthropic instrumentation reports input = input + cache_read + cache_creation.
    rec = norm(
        {
            "gen_ai.system": "Anthropic",
            "llm.request.type": "chat",
            "gen_ai.request.model": "claude-sonnet-4-5-20250929",
            "gen_ai.usage.input_tokens": 10 + 5000 + 100,
            "gen_ai.usage.output_tokens": 200,
            "llm.usage.total_tokens": 5310,
            "gen_ai.usage.cache_read_input_tokens": 5000,
            "gen_ai.usage.cache_creation_input_tokens": 100,
        }
    )
    assert rec.usage == {"input": 5110, "output": 200, "total": 5310, "cache_read": 5000, "cache_write": 100}
    expected = (10 * 3.00 + 5000 * 0.30 + 100 * 3.75 + 200 * 15.00) / 1e6
    assert rec.total_cost == pytest.approx(expected)
    assert rec.cost_source == "price_table"


@pytest.mark.parametrize(
    ("attrs", "name", "version"),
    [
        ({"traceloop.prompt.key": "triage", "traceloop.prompt.version": 4}, "triage", 4),
        ({"langfuse.prompt.name": "lf", "langfuse.prompt.version": "2"}, "lf", 2),
        ({"langfuse.observation.prompt.name": "obs", "langfuse.observation.prompt.version": 7}, "obs", 7),
        ({"otelguard.prompt.name": "og", "otelguard.prompt.version": 9}, "og", 9),
        (  # OTelGuard's own attributes win
            {
                "otelguard.prompt.name": "og",
                "otelguard.prompt.version": 9,
                "langfuse.prompt.name": "lf",
                "langfuse.prompt.version": 2,
                "traceloop.prompt.key": "tl",
            },
            "og",
            9,
        ),
        ({"otelguard.prompt.name": "og", "otelguard.prompt.version": "latest"}, "og", 0),
        ({}, "", 0),
    ],
)
def test_prompt_attributes(norm: Norm, attrs: dict[str, Any], name: str, version: int) -> None:
    rec = norm(attrs)
    assert (rec.prompt_name, rec.prompt_version) == (name, version)


def test_otelguard_attributes_win(norm: Norm) -> None:
    rec = norm(
        {
            "otelguard.user.id": "og-user",
            "user.id": "oi-user",
            "traceloop.association.properties.user_id": "tl-user",
            "otelguard.session.id": "og-session",
            "session.id": "oi-session",
            "gen_ai.conversation.id": "conv",
            "otelguard.tags": ["x"],
            "tag.tags": ["y", "x"],
        }
    )
    assert (rec.user_id, rec.session_id, rec.tags) == ("og-user", "og-session", ["x", "y"])


def test_langfuse_user_session_tags(norm: Norm) -> None:
    rec = norm({"langfuse.user.id": "u", "langfuse.session.id": "s", "langfuse.trace.tags": '["t1","t2"]'})
    assert (rec.user_id, rec.session_id, rec.tags) == ("u", "s", ["t1", "t2"])
