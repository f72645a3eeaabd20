"""Evaluators read the words of a chat payload, not its JSON envelope."""

from __future__ import annotations

import json

import pytest

from otelguard.evals.message_text import message_text


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "Hi there"}]}]), "Hi there"),
        (json.dumps([{"role": "assistant", "content": '{"answer": 42}'}]), '{"answer": 42}'),
        (json.dumps([{"role": "assistant", "content": [{"type": "text", "text": "a"}, "b"]}]), "a\nb"),
        (
            json.dumps([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Why?"}]),
            "system: Be brief.\n\nuser: Why?",
        ),
        (json.dumps({"role": "assistant", "content": "one"}), "one"),
        ("plain text", "plain text"),
        ('{"answer": 42}', '{"answer": 42}'),  # JSON that is not a message: unchanged
        ("[1, 2]", "[1, 2]"),
        ("[not json", "[not json"),
        ("", ""),
        (
            json.dumps([{"role": "assistant", "tool_calls": [{"id": "x"}]}]),
            '[{"role": "assistant", "tool_calls": [{"id": "x"}]}]',
        ),
    ],
)
def test_message_text(payload: str, expected: str) -> None:
    assert message_text(payload) == expected
