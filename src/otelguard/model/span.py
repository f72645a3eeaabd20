"""The two shapes a span takes inside OTelGuard.

``RawSpan`` is what the collector decodes from OTLP (protobuf or JSON): ids as lowercase hex, times as
integer nanoseconds since the epoch, attributes as plain Python values. ``SpanRecord`` is the normalized
row stored in ClickHouse's ``spans`` table; ``otelguard.semconv`` turns the first into the second.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

# An OTLP AnyValue decoded to Python: scalars, arrays and key/value lists (bytes stay bytes).
AttrValue = str | bool | int | float | bytes | list["AttrValue"] | dict[str, "AttrValue"] | None


class SpanKind(StrEnum):
    """What an LLM-application span does (OTelGuard's classification, not OTel's SpanKind)."""

    LLM = "llm"
    TOOL = "tool"
    AGENT = "agent"
    CHAIN = "chain"
    RETRIEVER = "retriever"
    EMBEDDING = "embedding"
    GUARDRAIL = "guardrail"
    EVALUATOR = "evaluator"
    OTHER = "other"


class StatusCode(StrEnum):
    UNSET = "unset"
    OK = "ok"
    ERROR = "error"


@dataclass(slots=True)
class RawEvent:
    name: str
    time_unix_nano: int
    attributes: dict[str, AttrValue] = field(default_factory=dict)


@dataclass(slots=True)
class RawSpan:
    """One OTLP span as decoded, before any convention mapping."""

    trace_id: str  # 32 lowercase hex chars
    span_id: str  # 16 lowercase hex chars
    parent_span_id: str  # "" for a root span
    name: str
    otel_kind: str  # "internal" | "server" | "client" | "producer" | "consumer" | "unspecified"
    start_time_unix_nano: int
    end_time_unix_nano: int
    status_code: StatusCode
    status_message: str
    attributes: dict[str, AttrValue]
    resource_attributes: dict[str, AttrValue]
    scope_name: str = ""
    scope_version: str = ""
    events: list[RawEvent] = field(default_factory=list)


@dataclass(slots=True)
class SpanRecord:
    """One row of the ClickHouse ``spans`` table. Field order is the column order."""

    project_id: str
    trace_id: str
    span_id: str
    parent_span_id: str
    start_time: int  # ns since epoch
    end_time: int  # ns since epoch
    name: str
    kind: str  # a SpanKind value
    otel_kind: str
    status_code: str  # a StatusCode value
    status_message: str
    service_name: str
    scope_name: str
    provider: str
    model: str  # response model if known, else request model
    request_model: str
    # token counts by usage type: "input", "output", "total", "cache_read", "cache_write", "reasoning", ...
    usage: dict[str, int]
    # cost in USD by the same usage types plus "total"
    cost: dict[str, float]
    input_tokens: int
    output_tokens: int
    total_tokens: int
    total_cost: float
    cost_source: str  # "client" (sent by the app), "price_table", or "" (unknown model)
    user_id: str
    session_id: str
    tags: list[str]
    prompt_name: str
    prompt_version: int  # 0 when unknown
    input: str  # text or JSON (e.g. a list of chat messages), possibly truncated
    output: str
    input_size: int  # original size in bytes, before truncation
    output_size: int
    input_truncated: bool
    output_truncated: bool
    error_type: str
    error_message: str
    attributes: dict[str, str]  # every span attribute; non-strings JSON-encoded
    resource_attributes: dict[str, str]
    events: str  # JSON array of {name, time_unix_nano, attributes}
