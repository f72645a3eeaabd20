"""OTel GenAI semantic conventions: operation → kind, message payloads and span events.

Current conventions put chat history in ``gen_ai.input.messages`` / ``gen_ai.output.messages`` (JSON
strings, or structured values from SDKs that support complex attributes) with the system prompt apart
in ``gen_ai.system_instructions``. Older conventions sent one span event per message
(``gen_ai.user.message``, ``gen_ai.choice``, ...) or ``gen_ai.content.prompt`` /
``gen_ai.content.completion`` events; the newest emit a ``gen_ai.client.inference.operation.details``
event carrying the same attributes as the span. All of them are read here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from otelguard.model import AttrValue, RawEvent, SpanKind
from otelguard.semconv.attributes import as_str, json_compact

OPERATION_KINDS: dict[str, str] = {
    "chat": SpanKind.LLM.value,
    "text_completion": SpanKind.LLM.value,
    "generate_content": SpanKind.LLM.value,
    "embeddings": SpanKind.EMBEDDING.value,
    "execute_tool": SpanKind.TOOL.value,
    "invoke_agent": SpanKind.AGENT.value,
    "create_agent": SpanKind.AGENT.value,
    "retrieval": SpanKind.RETRIEVER.value,
    "invoke_workflow": SpanKind.CHAIN.value,
}

_ROLE_EVENTS = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
_CHOICE_EVENT = "gen_ai.choice"
_DETAILS_EVENT = "gen_ai.client.inference.operation.details"
_PROMPT_EVENT = "gen_ai.content.prompt"  # OpenLLMetry legacy: attribute gen_ai.prompt
_COMPLETION_EVENT = "gen_ai.content.completion"  # attribute gen_ai.completion
_EXCEPTION_EVENT = "exception"
# Event attributes that identify the provider rather than belonging to the message.
_NOT_MESSAGE_FIELDS = frozenset({"gen_ai.system", "gen_ai.provider.name"})


def input_payload(messages: AttrValue, system: AttrValue) -> str | None:
    """The stored input for ``gen_ai.input.messages`` + ``gen_ai.system_instructions``.

    A JSON string is kept verbatim (re-encoding every span costs a parse and a dump for nothing);
    only when system instructions must be merged in front is the message list parsed.
    """
    if system is None:
        if messages is None:
            return None
        return messages if type(messages) is str else json_compact(messages)
    msgs = _parse_json(messages) if messages is not None else []
    if type(msgs) is not list:
        return messages if type(messages) is str else json_compact(messages)
    parts = _parse_json(system)
    if type(parts) is not list:
        parts = [{"type": "text", "content": as_str(system)}]
    return json_compact([{"role": "system", "parts": parts}, *msgs])


def output_payload(messages: AttrValue) -> str | None:
    if messages is None:
        return None
    return messages if type(messages) is str else json_compact(messages)


def _parse_json(value: AttrValue) -> object:
    if type(value) is str:
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class EventFindings:
    """What the span events say about messages and errors (all optional)."""

    __slots__ = (
        "exception_message",
        "exception_type",
        "input_messages",
        "input_text",
        "output_messages",
        "output_text",
    )

    def __init__(self) -> None:
        self.input_messages: list[object] = []
        self.output_messages: list[object] = []
        self.input_text: str | None = None  # a ready payload (details event or legacy prompt event)
        self.output_text: str | None = None
        self.exception_type = ""
        self.exception_message = ""

    def input_payload(self) -> str | None:
        if self.input_text is not None:
            return self.input_text
        return json_compact(self.input_messages) if self.input_messages else None

    def output_payload(self) -> str | None:
        if self.output_text is not None:
            return self.output_text
        return json_compact(self.output_messages) if self.output_messages else None


def scan_events(events: Sequence[RawEvent]) -> EventFindings:
    found = EventFindings()
    for ev in events:
        name = ev.name
        attrs = ev.attributes
        role = _ROLE_EVENTS.get(name)
        if role is not None:
            msg: dict[str, object] = {"role": attrs.get("role") or role}
            msg.update((k, v) for k, v in attrs.items() if k != "role" and k not in _NOT_MESSAGE_FIELDS)
            found.input_messages.append(msg)
        elif name == _CHOICE_EVENT:
            found.output_messages.append(_choice(attrs))
        elif name == _EXCEPTION_EVENT:
            # The last exception recorded is the one that ended the span.
            found.exception_type = as_str(attrs.get("exception.type")) or found.exception_type
            found.exception_message = as_str(attrs.get("exception.message")) or found.exception_message
        elif name == _DETAILS_EVENT:
            found.input_text = input_payload(
                attrs.get("gen_ai.input.messages"), attrs.get("gen_ai.system_instructions")
            )
            found.output_text = output_payload(attrs.get("gen_ai.output.messages"))
        elif name == _PROMPT_EVENT and found.input_text is None:
            found.input_text = as_str(attrs.get("gen_ai.prompt")) or None
        elif name == _COMPLETION_EVENT and found.output_text is None:
            found.output_text = as_str(attrs.get("gen_ai.completion")) or None
    return found


def _choice(attrs: dict[str, AttrValue]) -> dict[str, object]:
    # gen_ai.choice carries {index, finish_reason, message: {role?, content, tool_calls?}}.
    body = attrs.get("message")
    if type(body) is str:  # SDKs without map-valued event attributes send the message as JSON
        parsed = _parse_json(body)
        body = parsed if type(parsed) is dict else {"content": body}
    msg: dict[str, object] = {"role": "assistant"}
    if type(body) is dict:
        msg.update(body)
    elif "content" in attrs:
        msg["content"] = attrs["content"]
    for key in ("finish_reason", "index", "tool_calls"):
        if key in attrs and key not in msg:
            msg[key] = attrs[key]
    return msg
