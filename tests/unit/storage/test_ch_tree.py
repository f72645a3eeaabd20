"""Span trees and read-model validation (pure functions, no database)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from otelguard.storage.clickhouse import SpanNode, TraceDetail, TraceFilter
from otelguard.storage.clickhouse.traces import build_tree


def node(span_id: str, parent: str = "", start: int = 0, **kw: Any) -> SpanNode:
    values: dict[str, Any] = dict(
        trace_id="t",
        span_id=span_id,
        parent_span_id=parent,
        name=span_id,
        kind="other",
        otel_kind="internal",
        start_time=start,
        end_time=start + 1,
        latency_ms=0.0,
        status_code="ok",
        status_message="",
        service_name="",
        scope_name="",
        provider="",
        model="",
        request_model="",
        usage={},
        cost={},
        input_tokens=0,
        output_tokens=0,
        total_tokens=0,
        total_cost=0.0,
        cost_source="",
        user_id="",
        session_id="",
        tags=[],
        prompt_name="",
        prompt_version=0,
        input="",
        output="",
        input_size=0,
        output_size=0,
        input_truncated=False,
        output_truncated=False,
        error_type="",
        error_message="",
        attributes={},
        resource_attributes={},
        events=[],
    )
    values.update(kw)
    return SpanNode(**values)


def shape(nodes: list[SpanNode]) -> list[Any]:
    return [(n.span_id, shape(n.children)) if n.children else n.span_id for n in nodes]


def test_tree_orders_children_by_start() -> None:
    roots = build_tree([node("c2", "r", 20), node("r", "", 0), node("c1", "r", 10), node("g", "c1", 15)])
    assert shape(roots) == [("r", [("c1", ["g"]), "c2"])]


def test_orphans_attach_at_root_level() -> None:
    roots = build_tree([node("r", "", 5), node("o", "missing", 1), node("c", "o", 2)])
    assert shape(roots) == [("o", ["c"]), "r"]


def test_cycles_and_self_parents_are_broken() -> None:
    roots = build_tree([node("a", "b", 1), node("b", "a", 2), node("s", "s", 3), node("r", "", 4)])
    assert shape(roots) == [("a", ["b"]), "s", "r"]
    assert sorted(_all_ids(roots)) == ["a", "b", "r", "s"]


def test_equal_nodes_are_not_confused() -> None:
    # Two spans that compare equal field-wise except id must each end up exactly once.
    roots = build_tree([node("x", "y", 1), node("y", "x", 1), node("z", "", 0)])
    assert sorted(_all_ids(roots)) == ["x", "y", "z"]


def test_deep_chain_is_capped_and_serializable() -> None:
    chain = [node(f"{i:05d}", f"{i - 1:05d}" if i else "", i) for i in range(2000)]
    roots = build_tree(reversed(chain))
    assert sorted(_all_ids(roots)) == [n.span_id for n in chain]
    assert len(roots) == 20  # every 100 levels, the rest of the chain is lifted to the root level
    assert [r.span_id for r in roots] == [f"{i:05d}" for i in range(0, 2000, 100)]
    detail = TraceDetail(
        trace_id="t",
        name="n",
        start_time=0,
        end_time=1,
        latency_ms=0.0,
        user_id="",
        session_id="",
        models=[],
        input_tokens=0,
        output_tokens=0,
        total_tokens=0,
        total_cost=0.0,
        span_count=2000,
        error_count=0,
        tags=[],
        span_counts_by_kind={},
        spans=roots,
    )
    assert len(detail.model_dump_json()) > 0
    assert shape(build_tree([node("a"), node("b", "a", 1), node("c", "b", 2)], max_depth=2)) == [
        ("a", ["b"]),
        "c",
    ]


def _all_ids(nodes: list[SpanNode]) -> list[str]:
    out: list[str] = []
    stack = list(nodes)
    while stack:
        n = stack.pop()
        out.append(n.span_id)
        stack.extend(n.children)
    return out


def test_trace_filter_validation() -> None:
    assert TraceFilter().model_dump() == {
        "start_ns": None,
        "end_ns": None,
        "user_id": None,
        "session_id": None,
        "model": None,
    }
    TraceFilter(start_ns=5, end_ns=5)
    for bad in ({"start_ns": 6, "end_ns": 5}, {"start_ns": -1}, {"unknown": 1}, {"user_id": "x" * 513}):
        with pytest.raises(ValidationError):
            TraceFilter.model_validate(bad)
