"""Read-side models (pydantic v2), returned as-is by the API layer. Times are integer ns since the epoch."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "GenerationFilter",
    "GenerationPage",
    "GenerationSummary",
    "SessionDetail",
    "SessionFilter",
    "SessionPage",
    "SessionSummary",
    "SessionTrace",
    "SortOrder",
    "SpanNode",
    "TraceDetail",
    "TraceFilter",
    "TracePage",
    "TraceQuery",
    "TraceSort",
    "TraceSummary",
    "UserActivityPoint",
    "UserDetail",
    "UserFilter",
    "UserPage",
    "UserSummary",
]

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


SortOrder = Literal["asc", "desc"]
TraceSort = Literal[
    "start_time",
    "end_time",
    "latency",
    "cost",
    "total_tokens",
    "input_tokens",
    "output_tokens",
    "span_count",
    "error_count",
    "name",
    "user_id",
    "session_id",
    "trace_id",
]


def _check_range(lo: float | None, hi: float | None, what: str) -> None:
    if lo is not None and hi is not None and lo > hi:
        raise ValueError(f"min_{what} must not be above max_{what}")


class TraceQuery(TraceFilter):
    """``TraceFilter`` plus the trace list's other filters and its sort (``query_traces``).

    Span-level filters (``provider``, ``prompt_name``/``prompt_version``, ``search``) keep a trace when
    one of its spans matches; ``search`` matches the input or output text of a span: ``tokens`` (default)
    when every word of the search occurs as a whole word, case-insensitively (served by the text index);
    ``substring`` when the text contains the search as is, case-insensitively (a scan: bound it by time).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    tags: tuple[str, ...] = Field(default=(), max_length=50)
    tags_mode: Literal["any", "all"] = "any"
    provider: str | None = Field(default=None, max_length=_ID)
    has_error: bool | None = None
    min_latency_ms: float | None = Field(default=None, ge=0)
    max_latency_ms: float | None = Field(default=None, ge=0)
    min_cost: float | None = Field(default=None, ge=0)
    max_cost: float | None = Field(default=None, ge=0)
    has_guardrail_event: bool | None = None
    prompt_name: str | None = Field(default=None, max_length=_ID)
    prompt_version: int | None = Field(default=None, ge=0, lt=2**32)
    search: str | None = Field(default=None, min_length=1, max_length=1000)
    search_mode: Literal["tokens", "substring"] = "tokens"
    sort: TraceSort = "start_time"
    order: SortOrder = "desc"

    @model_validator(mode="after")
    def _ranges(self) -> TraceQuery:
        _check_range(self.min_latency_ms, self.max_latency_ms, "latency_ms")
        _check_range(self.min_cost, self.max_cost, "cost")
        if any(len(t) > _ID for t in self.tags):
            raise ValueError(f"tags are at most {_ID} characters")
        return self


class _TimeRange(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    start_ns: int | None = Field(default=None, ge=0, lt=2**63)
    end_ns: int | None = Field(default=None, ge=0, lt=2**63)

    @model_validator(mode="after")
    def _ordered(self) -> _TimeRange:
        if self.start_ns is not None and self.end_ns is not None and self.start_ns > self.end_ns:
            raise ValueError("start_ns must not be after end_ns")
        return self


class GenerationFilter(_TimeRange):
    """LLM spans (kind ``llm``) across traces, selected by their own start time: [start_ns, end_ns)."""

    model: str | None = Field(default=None, max_length=_ID)
    provider: str | None = Field(default=None, max_length=_ID)
    user_id: str | None = Field(default=None, max_length=_ID)
    session_id: str | None = Field(default=None, max_length=_ID)
    sort: Literal["start_time", "latency", "cost", "total_tokens", "model"] = "start_time"
    order: SortOrder = "desc"


class GenerationSummary(BaseModel):
    trace_id: str
    span_id: str
    parent_span_id: str
    name: str
    start_time: int
    end_time: int
    latency_ms: float
    status_code: str
    provider: str
    model: str
    request_model: str
    input_tokens: int
    output_tokens: int
    total_tokens: int
    total_cost: float
    user_id: str
    session_id: str
    prompt_name: str
    prompt_version: int
    input_size: int
    output_size: int


class GenerationPage(BaseModel):
    items: list[GenerationSummary]
    next_cursor: str | None = None


class SessionFilter(_TimeRange):
    """Sessions with a trace starting in [start_ns, end_ns); totals count those traces only."""

    user_id: str | None = Field(default=None, max_length=_ID)
    sort: Literal[
        "last_time", "first_time", "trace_count", "duration", "cost", "total_tokens", "session_id"
    ] = "last_time"
    order: SortOrder = "desc"


class SessionSummary(BaseModel):
    session_id: str
    trace_count: int
    first_time: int
    last_time: int
    duration_ms: float
    total_cost: float
    input_tokens: int
    output_tokens: int
    total_tokens: int
    error_count: int
    user_count: int
    user_ids: list[str] = Field(description="Up to 20 of the session's users")


class SessionPage(BaseModel):
    items: list[SessionSummary]
    next_cursor: str | None = None


class SessionTrace(TraceSummary):
    """A trace of a session read as a conversation turn (see ``session_traces``)."""

    input_preview: str = Field(description="The user's message (or the input text), capped")
    output_preview: str = Field(description="The answer (or the output text), capped")
    error_message: str = Field(description="The first error span's message, if any")
    guardrail_hits: int = Field(description="Guardrail events on this trace")


class SessionDetail(SessionSummary):
    """The session's totals and its traces, oldest first (paged by ``next_cursor``)."""

    traces: list[SessionTrace]
    next_cursor: str | None = None


class UserFilter(_TimeRange):
    """Users with a trace starting in [start_ns, end_ns); totals count those traces only."""

    sort: Literal[
        "last_seen", "first_seen", "trace_count", "cost", "total_tokens", "error_count", "user_id"
    ] = "last_seen"
    order: SortOrder = "desc"


class UserSummary(BaseModel):
    user_id: str
    trace_count: int
    session_count: int
    total_cost: float
    input_tokens: int
    output_tokens: int
    total_tokens: int
    error_count: int = Field(description="Traces with at least one error span")
    error_rate: float
    guardrail_hits: int = Field(description="Guardrail events on the user's traces")
    first_seen: int
    last_seen: int


class UserPage(BaseModel):
    items: list[UserSummary]
    next_cursor: str | None = None


class UserActivityPoint(BaseModel):
    time: int
    trace_count: int
    total_cost: float
    total_tokens: int
    error_count: int


class UserDetail(UserSummary):
    bucket: Literal["1h", "1d"]
    activity: list[UserActivityPoint]
