"""``ExportTraceServiceRequest`` → ``RawSpan`` values (the only place that walks OTLP protobuf objects)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otelguard.collector.errors import RequestError
from otelguard.model import AttrValue, RawEvent, RawSpan, StatusCode

_OTEL_KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")
_STATUS = (StatusCode.UNSET, StatusCode.OK, StatusCode.ERROR)
_ZERO_TRACE = bytes(16)
_ZERO_SPAN = bytes(8)


@dataclass(slots=True)
class Converted:
    spans: list[RawSpan] = field(default_factory=list)
    rejected: int = 0  # well-formed but invalid spans (OTLP partial success)
    rejection_reason: str = ""


def any_value(value: Any) -> AttrValue:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return str(value.string_value)
    if kind == "int_value":
        return int(value.int_value)
    if kind == "double_value":
        return float(value.double_value)
    if kind == "bool_value":
        return bool(value.bool_value)
    if kind == "array_value":
        return [any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        # JSON-friendly and lossless; attribute maps store strings anyway.
        return base64.b64encode(value.bytes_value).decode("ascii")
    return None


def attributes(kvs: Any) -> dict[str, AttrValue]:
    # The hottest loop of the collector: strings (most attributes) skip the function call.
    out: dict[str, AttrValue] = {}
    for kv in kvs:
        value = kv.value
        kind = value.WhichOneof("value")
        if kind == "string_value":
            out[kv.key] = value.string_value
        elif kind == "int_value":
            out[kv.key] = value.int_value
        else:
            out[kv.key] = any_value(value)
    return out


def convert(request: ExportTraceServiceRequest) -> Converted:
    """Decode every span; a span whose ids have the wrong length fails the whole request."""
    out = Converted()
    for r_index, resource_spans in enumerate(request.resource_spans):
        resource = attributes(resource_spans.resource.attributes)
        for s_index, scope_spans in enumerate(resource_spans.scope_spans):
            scope_name = scope_spans.scope.name
            scope_version = scope_spans.scope.version
            for index, span in enumerate(scope_spans.spans):
                trace_id, span_id, parent = span.trace_id, span.span_id, span.parent_span_id
                if len(trace_id) != 16 or len(span_id) != 8 or len(parent) not in (0, 8):
                    where = f"resourceSpans[{r_index}].scopeSpans[{s_index}].spans[{index}]"
                    raise RequestError(
                        400,
                        f"{where}: trace id must be 16 bytes, span id 8 bytes and parent span id 8 bytes "
                        f"or empty (got {len(trace_id)}, {len(span_id)}, {len(parent)})",
                    )
                if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
                    out.rejected += 1
                    out.rejection_reason = "spans with an all-zero trace id or span id are invalid"
                    continue
                kind = span.kind
                status = span.status.code
                out.spans.append(
                    RawSpan(
                        trace_id=trace_id.hex(),
                        span_id=span_id.hex(),
                        parent_span_id=parent.hex() if parent and parent != _ZERO_SPAN else "",
                        name=span.name,
                        otel_kind=_OTEL_KINDS[kind] if 0 <= kind < len(_OTEL_KINDS) else "unspecified",
                        start_time_unix_nano=span.start_time_unix_nano,
                        end_time_unix_nano=span.end_time_unix_nano,
                        status_code=_STATUS[status] if 0 <= status < len(_STATUS) else StatusCode.UNSET,
                        status_message=span.status.message,
                        attributes=attributes(span.attributes),
                        resource_attributes=resource,
                        scope_name=scope_name,
                        scope_version=scope_version,
                        events=[
                            RawEvent(e.name, e.time_unix_nano, attributes(e.attributes)) for e in span.events
                        ],
                    )
                )
    return out
