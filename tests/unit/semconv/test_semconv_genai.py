"""OTel GenAI semantic conventions, current and deprecated names."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from otelguard.model import RawEvent, SpanRecord

Norm = Callable[..., SpanRecord]


@pytest.mark.parametrize(
    ("operation", "kind"),
    [
        ("chat", "llm"),
        ("text_completion", "llm"),
        ("generate_content", "llm"),
        ("embeddings", "embedding"),
        ("execute_tool", "tool"),
        ("invoke_agent", "agent"),
        ("create_agent", "agent"),
        ("retrieval", "retriever"),
        ("invoke_workflow", "chain"),
        ("CHAT", "llm"),
    ],
)
def test_operation_name_sets_kind(norm: Norm, operation: str, kind: str) -> None:
    assert norm({"gen_ai.operation.name": operation}).kind == kind


@pytest.mark.parametrize(
    ("attrs", "kind"),
    [
        ({"gen_ai.tool.name": "get_weather", "gen_ai.tool.call.id": "call_1"}, "tool"),
        ({"gen_ai.tool.call.id": "call_1"}, "tool"),
        ({"gen_ai.request.model": "gpt-4o"}, "llm"),
        ({"gen_ai.usage.input_tokens": 3}, "llm"),
        ({"gen_ai.operation.name": "something_new", "gen_ai.request.model": "gpt-4o"}, "llm"),
        ({"gen_ai.operation.name": "something_new"}, "other"),
        ({"http.method": "GET"}, "other"),
        ({}, "other"),
        # explicit convention wins over evidence
        ({"gen_ai.operation.name": "invoke_agent", "gen_ai.request.model": "gpt-4o"}, "agent"),
    ],
)
def test_kind_inference(norm: Norm, attrs: dict[str, Any], kind: str) -> None:
    assert norm(attrs).kind == kind


@pytest.mark.parametrize(
    ("attrs", "provider"),
    [
        ({"gen_ai.provider.name": "openai"}, "openai"),
        ({"gen_ai.system": "openai"}, "openai"),  # deprecated name
        ({"gen_ai.provider.name": "anthropic", "gen_ai.system": "openai"}, "anthropic"),  # current wins
        ({"gen_ai.system": "Anthropic"}, "anthropic"),  # OpenLLMetry spelling
        ({"gen_ai.system": "az.ai.openai"}, "azure.ai.openai"),  # deprecated OTel value
        ({"gen_ai.provider.name": "azure.ai.openai"}, "azure.ai.openai"),
        ({"gen_ai.system": "vertex_ai"}, "gcp.vertex_ai"),
        ({"gen_ai.system": "gemini"}, "gcp.gemini"),
        ({"gen_ai.system": "Vertex AI"}, "gcp.vertex_ai"),
        ({"gen_ai.provider.name": "aws.bedrock"}, "aws.bedrock"),
        ({"gen_ai.system": "AWS"}, "aws.bedrock"),
        ({"gen_ai.system": "xai"}, "x_ai"),
        ({"gen_ai.system": "mistralai"}, "mistral_ai"),
        ({"gen_ai.system": "Some New-Provider"}, "some_new_provider"),
        ({}, ""),
    ],
)
def test_provider_normalized(norm: Norm, attrs: dict[str, Any], provider: str) -> None:
    assert norm(attrs).provider == provider


def test_models_request_and_response(norm: Norm) -> None:
    rec = norm({"gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06"})
    assert (rec.model, rec.request_model) == ("gpt-4o-2024-08-06", "gpt-4o")
    rec = norm({"gen_ai.request.model": "gpt-4o"})
    assert (rec.model, rec.request_model) == ("gpt-4o", "gpt-4o")


@pytest.mark.parametrize(
    ("attrs", "usage"),
    [
        (
            {"gen_ai.usage.input_tokens": 100, "gen_ai.usage.output_tokens": 20},
            {"input": 100, "output": 20, "total": 120},
        ),
        (  # deprecated names
            {"gen_ai.usage.prompt_tokens": 100, "gen_ai.usage.completion_tokens": 20},
            {"input": 100, "output": 20, "total": 120},
        ),
        (  # current names win over deprecated ones
            {
                "gen_ai.usage.prompt_tokens": 1,
                "gen_ai.usage.input_tokens": 100,
                "gen_ai.usage.output_tokens": 2,
            },
            {"input": 100, "output": 2, "total": 102},
        ),
        (  # sent total is kept
            {
                "gen_ai.usage.input_tokens": 10,
                "gen_ai.usage.output_tokens": 5,
                "gen_ai.usage.total_tokens": 16,
            },
            {"input": 10, "output": 5, "total": 16},
        ),
        (
            {
                "gen_ai.usage.input_tokens": 1000,
                "gen_ai.usage.output_tokens": 50,
                "gen_ai.usage.cache_read.input_tokens": 600,
                "gen_ai.usage.cache_creation.input_tokens": 200,
                "gen_ai.usage.reasoning.output_tokens": 30,
            },
            {
                "input": 1000,
                "output": 50,
                "total": 1050,
                "cache_read": 600,
                "cache_write": 200,
                "reasoning": 30,
            },
        ),
        (  # older OpenLLMetry/OTel draft names
            {
                "gen_ai.usage.input_tokens": 1000,
                "gen_ai.usage.output_tokens": 50,
                "gen_ai.usage.cache_read_input_tokens": 600,
                "gen_ai.usage.cache_creation_input_tokens": 200,
                "gen_ai.usage.reasoning_tokens": 30,
            },
            {
                "input": 1000,
                "output": 50,
                "total": 1050,
                "cache_read": 600,
                "cache_write": 200,
                "reasoning": 30,
            },
        ),
        (  # string and float counts are accepted; junk and negatives are ignored
            {
                "gen_ai.usage.input_tokens": "12",
                "gen_ai.usage.output_tokens": 3.0,
                "gen_ai.usage.total_tokens": -1,
            },
            {"input": 12, "output": 3, "total": 15},
        ),
        ({"gen_ai.usage.input_tokens": "many", "gen_ai.usage.output_tokens": True}, {}),
        ({"gen_ai.usage.output_tokens": 7}, {"output": 7, "total": 7}),
    ],
)
def test_usage(norm: Norm, attrs: dict[str, Any], usage: dict[str, int]) -> None:
    rec = norm(attrs)
    assert rec.usage == usage
    assert (rec.input_tokens, rec.output_tokens, rec.total_tokens) == (
        usage.get("input", 0),
        usage.get("output", 0),
        usage.get("total", 0),
    )


MESSAGES_IN = [{"role": "user", "parts": [{"type": "text", "content": "Weather in Paris?"}]}]
MESSAGES_OUT = [
    {"role": "assistant", "parts": [{"type": "text", "content": "Rainy, 57°F"}], "finish_reason": "stop"}
]


def test_messages_json_strings_kept_verbatim(norm: Norm) -> None:
    raw_in = json.dumps(MESSAGES_IN, indent=1)
    rec = norm({"gen_ai.input.messages": raw_in, "gen_ai.output.messages": json.dumps(MESSAGES_OUT)})
    assert rec.input == raw_in
    assert json.loads(rec.output) == MESSAGES_OUT


def test_structured_messages_encoded_compactly(norm: Norm) -> None:
    rec = norm({"gen_ai.input.messages": MESSAGES_IN, "gen_ai.output.messages": MESSAGES_OUT})
    assert rec.input == json.dumps(MESSAGES_IN, separators=(",", ":"), ensure_ascii=False)
    assert json.loads(rec.output) == MESSAGES_OUT


@pytest.mark.parametrize(
    "instructions",
    [
        json.dumps([{"type": "text", "content": "Be brief."}]),
        [{"type": "text", "content": "Be brief."}],
        "Be brief.",  # not JSON: treated as one text part
    ],
)
def test_system_instructions_lead_the_input(norm: Norm, instructions: Any) -> None:
    rec = norm({"gen_ai.system_instructions": instructions, "gen_ai.input.messages": json.dumps(MESSAGES_IN)})
    assert json.loads(rec.input) == [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        *MESSAGES_IN,
    ]


def test_message_events_older_conventions(norm: Norm) -> None:
    events = [
        RawEvent("gen_ai.system.message", 1, {"gen_ai.system": "openai", "content": "Be brief."}),
        RawEvent("gen_ai.user.message", 2, {"content": "Weather in Paris?"}),
        RawEvent(
            "gen_ai.assistant.message",
            3,
            {"tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "weather"}}]},
        ),
        RawEvent("gen_ai.tool.message", 4, {"id": "call_1", "content": "rainy"}),
        RawEvent(
            "gen_ai.choice",
            5,
            {"index": 0, "finish_reason": "stop", "message": {"content": "Rainy."}},
        ),
    ]
    rec = norm({"gen_ai.operation.name": "chat"}, events=events)
    assert json.loads(rec.input) == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Paris?"},
        {
            "role": "assistant",
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "weather"}}],
        },
        {"role": "tool", "id": "call_1", "content": "rainy"},
    ]
    assert json.loads(rec.output) == [
        {"role": "assistant", "content": "Rainy.", "finish_reason": "stop", "index": 0}
    ]
    assert json.loads(rec.events)[1] == {
        "name": "gen_ai.user.message",
        "time_unix_nano": 2,
        "attributes": {"content": "Weather in Paris?"},
    }


def test_operation_details_event(norm: Norm) -> None:
    details = RawEvent(
        "gen_ai.client.inference.operation.details",
        1,
        {
            "gen_ai.input.messages": json.dumps(MESSAGES_IN),
            "gen_ai.output.messages": json.dumps(MESSAGES_OUT),
        },
    )
    rec = norm({}, events=[details])
    assert json.loads(rec.input) == MESSAGES_IN
    assert json.loads(rec.output) == MESSAGES_OUT


def test_span_attributes_win_over_events(norm: Norm) -> None:
    ev = RawEvent("gen_ai.user.message", 1, {"content": "from event"})
    rec = norm({"gen_ai.input.messages": '[{"role":"user"}]'}, events=[ev])
    assert rec.input == '[{"role":"user"}]'


def test_legacy_prompt_and_completion(norm: Norm) -> None:
    # Deprecated single-string attributes and OpenLLMetry's legacy content events.
    assert norm({"gen_ai.prompt": "hi", "gen_ai.completion": "hello"}).input == "hi"
    events = [
        RawEvent("gen_ai.content.prompt", 1, {"gen_ai.prompt": "hi"}),
        RawEvent("gen_ai.content.completion", 2, {"gen_ai.completion": "hello"}),
    ]
    rec = norm({}, events=events)
    assert (rec.input, rec.output) == ("hi", "hello")


def test_tool_call_arguments_and_result(norm: Norm) -> None:
    rec = norm(
        {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": "weather",
            "gen_ai.tool.call.arguments": '{"city":"Paris"}',
            "gen_ai.tool.call.result": '{"temp":14}',
        }
    )
    assert (rec.kind, rec.input, rec.output) == ("tool", '{"city":"Paris"}', '{"temp":14}')


def test_conversation_and_agent(norm: Norm) -> None:
    rec = norm(
        {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.conversation.id": "conv-1",
            "gen_ai.agent.name": "Math Tutor",
            "gen_ai.agent.id": "asst_1",
        }
    )
    assert (rec.kind, rec.session_id) == ("agent", "conv-1")
    assert rec.attributes["gen_ai.agent.name"] == "Math Tutor"


def test_prompt_name_attribute(norm: Norm) -> None:
    assert norm({"gen_ai.prompt.name": "support-triage"}).prompt_name == "support-triage"


def test_client_cost_wins_over_price_table(norm: Norm) -> None:
    rec = norm(
        {
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 1000,
            "gen_ai.usage.output_tokens": 100,
            "gen_ai.usage.cost": 0.5,
        }
    )
    assert (rec.cost, rec.total_cost, rec.cost_source) == ({"total": 0.5}, 0.5, "client")


def test_client_cost_components(norm: Norm) -> None:
    rec = norm({"gen_ai.usage.input_cost": 0.25, "gen_ai.usage.output_cost": "0.5"})
    assert rec.cost == {"input": 0.25, "output": 0.5, "total": 0.75}
    assert rec.cost_source == "client"


def test_invalid_client_cost_falls_back_to_price_table(norm: Norm) -> None:
    rec = norm(
        {"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 1000, "gen_ai.usage.cost": "n/a"}
    )
    assert rec.cost_source == "price_table"
    assert rec.total_cost == pytest.approx(1000 * 2.50e-6)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ('{"role": "assistant", "content": "ok"}', {"role": "assistant", "content": "ok"}),
        ("plain text", {"role": "assistant", "content": "plain text"}),
    ],
)
def test_choice_event_message_as_string(norm: Norm, message: str, expected: dict[str, Any]) -> None:
    rec = norm({}, events=[RawEvent("gen_ai.choice", 1, {"message": message})])
    assert json.loads(rec.output) == [expected]
