"""Plain data types shared by every layer (no I/O, no third-party imports)."""

from otelguard.model.span import (
    AttrValue,
    RawEvent,
    RawSpan,
    SpanKind,
    SpanRecord,
    StatusCode,
)

__all__ = ["AttrValue", "RawEvent", "RawSpan", "SpanKind", "SpanRecord", "StatusCode"]
