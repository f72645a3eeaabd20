"""The text an evaluator should read from a stored payload.

Spans store chat payloads as JSON message lists (OTel GenAI ``parts``, or ``{role, content}`` with a
string or a list of text parts). Heuristics and judges score what the model said, not that envelope: a
``json-valid`` check asks whether the assistant's answer is JSON, a ``length`` check counts its words.
Anything that is not a message list is returned unchanged.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["message_text"]


def _part_text(part: Any) -> str | None:
    if isinstance(part, str):
        return part
    if isinstance(part, dict) and part.get("type", "text") == "text":
        value = part.get("content", part.get("text"))
        return value if isinstance(value, str) else None
    return None


def _content(message: dict[str, Any]) -> str | None:
    for key in ("parts", "content"):
        value = message.get(key)
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            texts = [t for t in (_part_text(p) for p in value) if t is not None]
            if texts:
                return "\n".join(texts)
    return None


def message_text(payload: str) -> str:
    stripped = payload.lstrip()
    if not stripped.startswith(("[", "{")):
        return payload
    try:
        doc = json.loads(payload)
    except ValueError:
        return payload
    messages = [doc] if isinstance(doc, dict) else doc
    if not isinstance(messages, list) or not messages:
        return payload
    if not all(isinstance(m, dict) and isinstance(m.get("role"), str) for m in messages):
        return payload
    contents = [(m["role"], _content(m)) for m in messages]
    if any(c is None for _, c in contents):
        return payload  # a tool call or another shape: the raw JSON says more than a partial text
    if len(contents) == 1:
        return str(contents[0][1])
    return "\n\n".join(f"{role}: {text}" for role, text in contents)
