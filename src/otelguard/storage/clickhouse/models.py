"""Read-side models (pydantic v2), returned as-is by the API layer. Times are integer ns since the epoch."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["SpanNode", "TraceDetail", "TraceFilter", "TracePage", "TraceSummary"]

_ID = 512


class TraceFilter(BaseModel):
    """Which traces to list. Times select traces by their start (first span start): [start_ns, end_ns)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start_ns: int | None = Field(default=None, ge=0, lt=2**63)
    end_ns: int | None = Field(default=None, ge=0, lt=2**63)
    user_id: str | None = Field(default=None, max_length=_ID)
    session_id: str | None = Field(default=None, max_length=_ID)
    model: str | None = Field(default=None, max_length=_ID)

    @model_validator(mode="after")
    def _ordered(self) -> TraceFilter:
        if self.start_ns is not None and self.end_ns is not None and self.start_ns > self.end_ns:
            raise ValueError("start_ns must not be after end_ns")
        return self


class TraceSummary(BaseModel):
    trace_id: str
    name: str
    start_time: int
    end_time: int
    latency_ms: float
    user_id: str
    session_id: str
    models: list[str]
    input_tokens: int
    output_tokens: int
    total_tokens: int
    total_cost: float
    span_count: int
    error_count: int
    tags: list[str]


class TracePage(BaseModel):
    items: list[TraceSummary]
    next_cursor: str | None = None


class SpanNode(BaseModel):
    """One span of a trace tree, with its children ordered by start time."""

    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    kind: str
    otel_kind: str
    start_time: int
    end_time: int
    latency_ms: float
    status_code: str
    status_message: str
    service_name: str
    scope_name: str
    provider: str
    model: str
    request_model: str
    usage: dict[str, int]
    cost: dict[str, float]
    input_tokens: int
    output_tokens: int
    total_tokens: int
    total_cost: float
    cost_source: str
    user_id: str
    session_id: str
    tags: list[str]
    prompt_name: str
    prompt_version: int
    input: str
    output: str
    input_size: int
    output_size: int
    input_truncated: bool
    output_truncated: bool
    error_type: str
    error_message: str
    attributes: dict[str, str]
    resource_attributes: dict[str, str]
    events: list[Any]
    children: list[SpanNode] = Field(default_factory=list)


class TraceDetail(TraceSummary):
    """A trace with totals computed from its spans, and the spans as a tree (orphans at the root level)."""

    span_counts_by_kind: dict[str, int]
    spans_truncated: bool = False
    spans: list[SpanNode]
