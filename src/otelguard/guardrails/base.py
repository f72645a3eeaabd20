"""Values shared by validators, policies and the engine: findings, request metadata, errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, NamedTuple

__all__ = [
    "STAGES",
    "CheckContext",
    "Finding",
    "GuardrailError",
    "InputTooLarge",
    "RequestMeta",
    "Stage",
    "UnknownStage",
    "redact_preview",
]

Stage = Literal["input", "output", "ingest"]
STAGES: tuple[Stage, ...] = ("input", "output", "ingest")
_EMPTY: Mapping[str, str] = MappingProxyType({})


class GuardrailError(Exception):
    """Base class of the errors the guardrails package raises on bad input."""


class UnknownStage(GuardrailError, ValueError):
    def __init__(self, stage: object) -> None:
        super().__init__(f"unknown stage {stage!r}: expected one of {', '.join(STAGES)}")


class InputTooLarge(GuardrailError, ValueError):
    """The text exceeds the configured maximum (the guard API answers 413)."""

    def __init__(self, size: int, limit: int, unit: str) -> None:
        self.size = size
        self.limit = limit
        super().__init__(f"text is {size} {unit}, over the limit of {limit} {unit}")


def redact_preview(value: str) -> str:
    """What logs and events may show of a match: never the value itself."""
    n = len(value)
    if n <= 6:
        return "*" * n
    keep = 2 if n < 16 else 4
    return f"{value[:keep]}…{value[-2:]} ({n} chars)"


class Finding(NamedTuple):
    """Something a validator found. ``start``/``end`` are ``str`` offsets into the checked text, or None
    for findings about the text as a whole (invalid JSON, too long, a missing section).

    A NamedTuple (immutable, and cheap to create on the hot path)."""

    validator: str
    entity: str
    start: int | None
    end: int | None
    score: float
    preview: str = ""  # the match, redacted: safe for logs and events
    detail: str | None = None
    # What sanitize should put in place of the span unless the action says otherwise ("" = remove).
    replacement: str | None = None

    @property
    def has_span(self) -> bool:
        return self.start is not None and self.end is not None and self.end > self.start

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "validator": self.validator,
            "entity": self.entity,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 4),
        }
        if self.preview:
            out["text"] = self.preview
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass(frozen=True, slots=True)
class RequestMeta:
    """Who is asking: what policy selectors match against, and what events are linked to."""

    project: str | None = None
    model: str | None = None
    labels: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    trace_id: str = ""
    span_id: str = ""


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What a validator may know besides the text."""

    stage: Stage = "input"
    request: RequestMeta = field(default_factory=RequestMeta)
    # On the output stage: the prompt that produced the output (relevance, grounding validators).
    input_text: str | None = None
    attempt: int = 1
    # On the output stage: documents the output should be grounded in (the grounding validator).
    context: str | None = None
