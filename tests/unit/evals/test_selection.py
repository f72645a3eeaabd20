"""Which spans an Evaluator picks: target criteria, deterministic sampling, batching into task payloads."""

from __future__ import annotations

from typing import Any

import pytest

from otelguard.api.v1alpha1.evaluator import EvaluatorSpec
from otelguard.evals.selection import (
    BATCH_SIZE,
    FIELD_LIMIT,
    ActiveEvaluator,
    Snapshot,
    build_payloads,
    sampled,
    subject_from_record,
)
from otelguard.evals.subject import EvalSubject
from otelguard.model import SpanRecord


def record(**overrides: Any) -> SpanRecord:
    values: dict[str, Any] = {
        "project_id": "p1",
        "trace_id": "1" * 32,
        "span_id": "a" * 16,
        "parent_span_id": "",
        "start_time": 1_700_000_000_000_000_000,
        "end_time": 1_700_000_001_500_000_000,
        "name": "chat",
        "kind": "llm",
        "otel_kind": "client",
        "status_code": "ok",
        "status_message": "",
        "service_name": "svc",
        "scope_name": "",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "request_model": "gpt-4o-mini",
        "usage": {},
        "cost": {},
        "input_tokens": 10,
        "output_tokens": 5,
        "total_tokens": 15,
        "total_cost": 0.001,
        "cost_source": "price_table",
        "user_id": "u",
        "session_id": "s",
        "tags": ["prod", "chat"],
        "prompt_name": "support",
        "prompt_version": 3,
        "input": "hello",
        "output": '{"answer": 1}',
        "input_size": 5,
        "output_size": 13,
        "input_truncated": False,
        "output_truncated": False,
        "error_type": "",
        "error_message": "",
        "attributes": {"otelguard.eval.expected": "ref", "big": "x" * 5000},
        "resource_attributes": {},
        "events": "[]",
    }
    values.update(overrides)
    return SpanRecord(**values)


def evaluator(name: str = "json", **spec: Any) -> ActiveEvaluator:
    body = {"kind": "heuristic", "heuristic": {"type": "json-valid"}, "score": {"name": "valid_json"}, **spec}
    return ActiveEvaluator("default", name, 2, EvaluatorSpec.model_validate(body), body)


@pytest.mark.parametrize(
    ("target", "overrides", "expected"),
    [
        ({}, {}, True),
        ({"spanKinds": ["llm"]}, {}, True),
        ({"spanKinds": ["tool"]}, {}, False),
        ({"models": ["gpt-4o*"]}, {}, True),
        ({"models": ["claude-*"]}, {}, False),
        ({"tags": ["prod"]}, {}, True),
        ({"tags": ["prod", "beta"]}, {}, False),
        ({"promptName": "support"}, {}, True),
        ({"promptName": "support", "promptVersion": 3}, {}, True),
        ({"promptName": "support", "promptVersion": 2}, {}, False),
        ({"promptName": "other"}, {}, False),
        ({"projects": ["alpha"]}, {}, True),
        ({"projects": ["beta"]}, {}, False),
        ({"projects": ["alpha"]}, {"project_id": "unknown"}, False),
    ],
)
def test_target_criteria(target: dict[str, Any], overrides: dict[str, Any], expected: bool) -> None:
    ev = evaluator(target=target)
    r = record(**overrides)
    snapshot = Snapshot((ev,), {"p1": "alpha"})
    assert ev.matches(r, snapshot.project_names.get(r.project_id)) is expected
    assert bool(build_payloads(snapshot, [r], 0.0)) is expected


def test_sampling_is_deterministic_and_close_to_the_rate() -> None:
    ids = [f"{i:016x}" for i in range(20_000)]
    picked = [s for s in ids if sampled(s, "default/json", 0.1)]
    assert 1_700 < len(picked) < 2_300
    assert picked == [s for s in ids if sampled(s, "default/json", 0.1)]
    # another evaluator samples other spans
    other = {s for s in ids if sampled(s, "default/other", 0.1)}
    assert len(other & set(picked)) < len(picked) // 2
    assert all(sampled(s, "x", 1.0) for s in ids[:100])
    assert not any(sampled(s, "x", 0.0) for s in ids[:100])


def test_payloads_are_batched_per_evaluator_and_carry_the_spec() -> None:
    a, b = evaluator("a"), evaluator("b", target={"spanKinds": ["tool"]})
    records = [record(span_id=f"{i:016x}") for i in range(BATCH_SIZE * 2 + 5)]
    records.append(record(span_id="f" * 16, kind="tool"))
    payloads = build_payloads(Snapshot((a, b), {}), records, 12.5)
    sizes = [(p["evaluator"]["name"], len(p["subjects"])) for p in payloads]
    assert sizes == [("a", BATCH_SIZE), ("a", BATCH_SIZE), ("a", 6), ("b", 1)]
    first = payloads[0]
    assert first["evaluator"] == {"namespace": "default", "name": "a", "version": 2, "spec": a.spec_json}
    assert first["enqueued_at"] == 12.5


def test_subject_is_bounded_and_round_trips() -> None:
    r = record(input="é" * (FIELD_LIMIT + 10), status_code="error")
    s = subject_from_record(r)
    assert len(s.input) == FIELD_LIMIT
    assert s.expected == "ref" and s.status_error and s.latency_ms == 1500.0
    assert "big" not in s.attributes  # long attribute values stay behind
    assert EvalSubject.from_dict(s.to_dict()) == s
