from __future__ import annotations

import pytest

from conftest import Detect, entities
from otelguard.guardrails.actions import repair_json
from otelguard.guardrails.registry import ParamsError, bind


def test_json_valid(detect: Detect) -> None:
    assert detect("json_valid", '{"a": 1}', stage="output") == []
    assert detect("json_valid", '```json\n{"a": 1}\n```', stage="output") == []
    (bad,) = detect("json_valid", '{"a": 1,}', stage="output")
    assert bad.entity == "INVALID_JSON" and "line 1" in (bad.detail or "")
    assert entities(detect("json_valid", "[1]", {"require": "object"})) == ["INVALID_JSON"]


def test_json_schema(detect: Detect) -> None:
    schema = {
        "type": "object",
        "required": ["name", "age"],
        "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
    }
    assert detect("json_schema", '{"name": "a", "age": 3}', {"schema": schema}) == []
    found = detect("json_schema", '{"name": 1, "age": -1}', {"schema": schema})
    assert sorted(str(f.detail) for f in found) == [
        "/age: -1 is less than the minimum of 0",
        "/name: 1 is not of type 'string'",
    ]
    assert entities(detect("json_schema", "not json", {"schema": schema})) == ["INVALID_JSON"]
    with pytest.raises(ParamsError, match="invalid JSON Schema"):
        bind("json_schema", {"schema": {"type": "nope"}})


@pytest.mark.parametrize(
    ("params", "good", "bad"),
    [
        ({"format": "email"}, " a.b@example.com\n", "a.b@localhost"),
        ({"format": "url"}, "https://example.com/x?y=1", "ftp://example.com"),
        ({"format": "date"}, "2024-02-29", "2023-02-29"),
        ({"format": "date", "dateFormat": "%d/%m/%Y"}, "31/12/2024", "2024-12-31"),
        ({"format": "datetime"}, "2024-05-01T10:00:00+00:00", "yesterday"),
        ({"format": "number", "minimum": 0, "maximum": 1}, "0.25", "1.5"),
        ({"format": "integer"}, "42", "4.2"),
        ({"format": "number"}, "1e3", "nan"),
    ],
)
def test_formats(detect: Detect, params: dict[str, object], good: str, bad: str) -> None:
    assert detect("format", good, params) == []
    assert entities(detect("format", bad, params)) == ["FORMAT_MISMATCH"]


@pytest.mark.parametrize(
    "text",
    [
        "I'm sorry, but I can't help with that.",
        "I cannot assist with this request.",
        "As an AI language model, I cannot provide that.",
        "I must respectfully decline.",
        "I am unable to provide medical advice.",
    ],
)
def test_refusals(detect: Detect, text: str) -> None:
    found = detect("refusal", text)
    assert entities(found) == ["REFUSAL"] and found[0].score >= 0.9


def test_not_refusals(detect: Detect) -> None:
    assert detect("refusal", "Sure! Here is how you can help yourself: ...") == []
    assert detect("refusal", "I can help with that. First, ...") == []
    late = detect("refusal", "x" * 400 + " I cannot provide more detail on step 3.")
    assert late and late[0].score == 0.5


def test_completeness(detect: Detect) -> None:
    text = "## Summary\nok\n## Next steps\n- a"
    assert detect("completeness", text, {"sections": ["summary", "next steps"]}) == []
    (missing,) = detect("completeness", text, {"sections": ["Summary", "Risks"]})
    assert missing.detail == "missing section 'Risks'"
    found = detect("completeness", '{"a": {"b": [1]}}', {"fields": ["a.b.0", "a.c"]})
    assert [f.detail for f in found] == ["missing field 'a.c'"]


@pytest.mark.parametrize(
    ("broken", "fixed"),
    [
        ('{"a": 1, "b": [1, 2,],}', {"a": 1, "b": [1, 2]}),
        ("{'a': 'it\"s', 'b': True, 'c': None}", {"a": 'it"s', "b": True, "c": None}),
        ("{a: 1, b_c: 'x'}", {"a": 1, "b_c": "x"}),
        ('```json\n{"a": [1, 2\n```', {"a": [1, 2]}),
        ('{"a": "trunc', {"a": "trunc"}),
        ('{"a": {"b": 1', {"a": {"b": 1}}),
    ],
)
def test_repair_json(broken: str, fixed: object) -> None:
    import json

    repaired = repair_json(broken)
    assert repaired is not None and json.loads(repaired) == fixed


def test_repair_json_gives_up() -> None:
    assert repair_json("this is prose, not JSON") is None
