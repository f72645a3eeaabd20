"""Convention-independent parts of normalize: ids, attributes, resource, errors, tags, events."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from otelguard.model import RawEvent, RawSpan, SpanRecord, StatusCode
from otelguard.semconv import PriceTable, normalize

Norm = Callable[..., SpanRecord]


def test_identity_and_times_copied(span: Callable[..., RawSpan], prices: PriceTable) -> None:
    raw = span({}, status=StatusCode.OK)
    rec = normalize(raw, "proj-1", prices=prices)
    assert (rec.project_id, rec.trace_id, rec.span_id, rec.parent_span_id) == (
        "proj-1",
        raw.trace_id,
        raw.span_id,
        raw.parent_span_id,
    )
    assert (rec.start_time, rec.end_time, rec.name, rec.otel_kind) == (
        raw.start_time_unix_nano,
        raw.end_time_unix_nano,
        "span",
        "client",
    )
    assert (rec.status_code, rec.scope_name, rec.events) == ("ok", "test-scope", "[]")
    assert (rec.input, rec.output, rec.input_size, rec.input_truncated) == ("", "", 0, False)


def test_attributes_stringified(norm: Norm) -> None:
    attrs: dict[str, Any] = {
        "s": "text",
        "i": 42,
        "f": 1.5,
        "nan": float("nan"),
        "b": True,
        "l": ["a", 1, False],
        "d": {"k": [1, 2], "é": "ü"},
        "raw": b"\x00\xff",
        "nested_bytes": [b"\x01"],
        "none": None,
    }
    assert norm(attrs).attributes == {
        "s": "text",
        "i": "42",
        "f": "1.5",
        "nan": "NaN",
        "b": "true",
        "l": '["a",1,false]',
        "d": '{"k":[1,2],"é":"ü"}',
        "raw": "AP8=",
        "nested_bytes": '["AQ=="]',
        "none": "null",
    }


def test_resource_attributes_service_and_identity(norm: Norm) -> None:
    resource = {"service.name": "checkout", "user.id": "res-user", "session.id": "res-session", "pid": 7}
    rec = norm({}, resource=resource)
    assert (rec.service_name, rec.user_id, rec.session_id) == ("checkout", "res-user", "res-session")
    assert rec.resource_attributes == {
        "service.name": "checkout",
        "user.id": "res-user",
        "session.id": "res-session",
        "pid": "7",
    }
    # the span's own attributes win over the resource's, whatever convention they use
    rec = norm({"enduser.id": "span-user", "gen_ai.conversation.id": "c"}, resource=resource)
    assert (rec.user_id, rec.session_id) == ("span-user", "c")
    assert norm({}, resource={"enduser.id": "e"}).user_id == "e"


@pytest.mark.parametrize(
    ("attrs", "events", "status", "message", "error"),
    [
        ({"error.type": "timeout"}, [], StatusCode.ERROR, "deadline", ("timeout", "deadline")),
        (
            {},
            [RawEvent("exception", 5, {"exception.type": "ValueError", "exception.message": "bad"})],
            StatusCode.ERROR,
            "ValueError: bad",
            ("ValueError", "bad"),
        ),
        (  # error.type attribute wins for the type; the event still gives the message
            {"error.type": "500"},
            [RawEvent("exception", 5, {"exception.type": "HTTPError", "exception.message": "boom"})],
            StatusCode.ERROR,
            "",
            ("500", "boom"),
        ),
        (  # the last exception recorded ended the span
            {},
            [
                RawEvent("exception", 1, {"exception.type": "RetryableError", "exception.message": "first"}),
                RawEvent("exception", 2, {"exception.type": "FatalError", "exception.message": "second"}),
            ],
            StatusCode.ERROR,
            "",
            ("FatalError", "second"),
        ),
        (
            {"exception.type": "KeyError", "exception.message": "'x'"},
            [],
            StatusCode.ERROR,
            "",
            ("KeyError", "'x'"),
        ),
        ({}, [], StatusCode.ERROR, "upstream failed", ("", "upstream failed")),
        ({}, [], StatusCode.OK, "fine", ("", "")),
    ],
)
def test_errors(
    norm: Norm,
    attrs: dict[str, Any],
    events: list[RawEvent],
    status: StatusCode,
    message: str,
    error: tuple[str, str],
) -> None:
    rec = norm(attrs, events=events, status=status, status_message=message)
    assert (rec.error_type, rec.error_message) == error
    assert (rec.status_code, rec.status_message) == (status.value, message)


@pytest.mark.parametrize(
    ("attrs", "tags"),
    [
        ({"tag.tags": ["a", "b"]}, ["a", "b"]),
        ({"otelguard.tags": "a, b,,c"}, ["a", "b", "c"]),
        ({"otelguard.tags": '["x","y"]'}, ["x", "y"]),
        (
            {"otelguard.tags": ["b", "a"], "tag.tags": ["a", "c"], "langfuse.trace.tags": ["c", "d"]},
            ["b", "a", "c", "d"],
        ),
        ({"tag.tags": [1, True]}, ["1", "true"]),
        ({}, []),
    ],
)
def test_tags(norm: Norm, attrs: dict[str, Any], tags: list[str]) -> None:
    assert norm(attrs).tags == tags


def test_events_json(norm: Norm) -> None:
    events = [
        RawEvent("gen_ai.user.message", 10, {"content": "hi", "blob": b"\x01"}),
        RawEvent("custom", 11),
    ]
    assert json.loads(norm({}, events=events).events) == [
        {
            "name": "gen_ai.user.message",
            "time_unix_nano": 10,
            "attributes": {"content": "hi", "blob": "AQ=="},
        },
        {"name": "custom", "time_unix_nano": 11, "attributes": {}},
    ]


def test_non_string_identity_values(norm: Norm) -> None:
    rec = norm({"user.id": 12345, "session.id": ["a"], "gen_ai.request.model": "gpt-4o"})
    assert (rec.user_id, rec.session_id) == ("12345", '["a"]')


def test_attributes_do_not_alias_raw(span: Callable[..., RawSpan], prices: PriceTable) -> None:
    raw = span({"k": "v"})
    rec = normalize(raw, "p", prices=prices)
    rec.attributes["k"] = "changed"
    assert raw.attributes["k"] == "v"


def test_only_the_winning_payload_attribute_leaves_the_attributes_map(norm: Norm) -> None:
    rec = norm(
        {
            "gen_ai.input.messages": '[{"role":"user","parts":[{"type":"text","content":"hi"}]}]',
            "input.value": "the OpenInference copy",
            "gen_ai.output.messages": '[{"role":"assistant","parts":[]}]',
            "gen_ai.request.model": "gpt-4o",
        }
    )
    assert "hi" in rec.input
    assert "gen_ai.input.messages" not in rec.attributes
    assert "gen_ai.output.messages" not in rec.attributes
    assert rec.attributes["input.value"] == "the OpenInference copy"  # lost the precedence, kept as is
    assert rec.attributes["gen_ai.request.model"] == "gpt-4o"
