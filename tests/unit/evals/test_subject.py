"""EvalSubject ↔ the JSON of a Celery message."""

from __future__ import annotations

import json
from typing import Any

import pytest

from otelguard.evals.result import PermanentEvalError
from otelguard.evals.subject import EvalSubject


def make(**kw: Any) -> EvalSubject:
    base: dict[str, Any] = {
        "project_id": "proj-1",
        "trace_id": "0af7651916cd43dd8448eb211c80319c",
        "span_id": "b7ad6b7169203331",
        "session_id": "sess-9",
        "name": "openai.chat",
        "kind": "llm",
        "model": "gpt-4o-mini",
        "input": "Bonjour 👋 — ça va?",
        "output": '{"answer": "日本"}',
        "start_ns": 1_717_000_000_123_456_789,
        "latency_ms": 812.25,
        "cost_usd": 0.000123,
        "status_error": True,
        "attributes": {"gen_ai.system": "openai", "otelguard.tags": "a,b"},
        "expected": "Tokyo",
        "context": None,
    }
    base.update(kw)
    return EvalSubject(**base)


def test_round_trip_through_json() -> None:
    original = make()
    wire = json.dumps(original.to_dict(), allow_nan=False)
    back = EvalSubject.from_dict(json.loads(wire))
    assert back == original
    assert back.start_ns == 1_717_000_000_123_456_789  # no float precision loss


def test_round_trip_minimal_optional_fields() -> None:
    original = make(cost_usd=None, expected=None, attributes={})
    assert EvalSubject.from_dict(json.loads(json.dumps(original.to_dict()))) == original


def test_to_dict_is_json_safe() -> None:
    odd = make(cost_usd=float("nan"), attributes={"n": float("inf"), "t": (1, 2), "b": b"x", 3: {"k": 1.5}})
    data = odd.to_dict()
    json.dumps(data, allow_nan=False)  # raises if anything is not strict JSON
    assert data["cost_usd"] is None
    assert data["attributes"] == {"n": None, "t": [1, 2], "b": "b'x'", "3": {"k": 1.5}}


def test_from_dict_defaults_and_ignores_unknown_keys() -> None:
    data = make().to_dict()
    del data["attributes"], data["expected"], data["context"]
    data["added_in_a_later_release"] = 1
    back = EvalSubject.from_dict(data)
    assert back.attributes == {} and back.expected is None and back.context is None


def test_from_dict_accepts_integer_latency_and_cost() -> None:
    back = EvalSubject.from_dict({**make().to_dict(), "latency_ms": 5, "cost_usd": 0})
    assert back.latency_ms == 5.0 and isinstance(back.latency_ms, float)
    assert back.cost_usd == 0.0


def test_from_dict_names_every_bad_field() -> None:
    data = {**make().to_dict(), "span_id": 7, "start_ns": "soon", "status_error": "no", "attributes": []}
    del data["output"]
    with pytest.raises(PermanentEvalError) as err:
        EvalSubject.from_dict(data)
    message = str(err.value)
    for part in (
        "span_id must be a string, got int",
        "output must be a string, got nothing",
        "start_ns must be an integer, got str",
        "status_error must be a boolean, got str",
        "attributes must be an object, got list",
    ):
        assert part in message


@pytest.mark.parametrize("value", [True, float("nan"), "1.5"])
def test_from_dict_rejects_non_numbers(value: object) -> None:
    with pytest.raises(PermanentEvalError, match="latency_ms must be a number"):
        EvalSubject.from_dict({**make().to_dict(), "latency_ms": value})


def test_from_dict_rejects_non_objects() -> None:
    with pytest.raises(PermanentEvalError, match="must be an object, got list"):
        EvalSubject.from_dict([])  # type: ignore[arg-type]
