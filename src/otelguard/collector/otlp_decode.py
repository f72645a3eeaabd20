"""OTLP trace request bodies → ``ExportTraceServiceRequest`` (protobuf or OTLP JSON, optionally gzip)."""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otelguard.collector.errors import RequestError

PROTOBUF = "application/x-protobuf"
JSON = "application/json"

# OTLP JSON carries ids as hex; protobuf's JSON mapping expects base64 for bytes fields.
_ID_FIELDS = {
    "traceId": 16,
    "trace_id": 16,
    "spanId": 8,
    "span_id": 8,
    "parentSpanId": 8,
    "parent_span_id": 8,
}


def media_type(content_type: str | None) -> str:
    """The bare media type of a Content-Type header, or a 415 error for anything OTLP does not define."""
    bare = (content_type or "").split(";", 1)[0].strip().lower()
    if bare in (PROTOBUF, JSON):
        return bare
    raise RequestError(
        415,
        f"unsupported content type {content_type!r}: send {PROTOBUF} or {JSON}",
    )


def decompress(body: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("identity", ""):
        if len(body) > max_bytes:
            raise RequestError(413, f"request body is larger than the {max_bytes}-byte limit")
        return body
    if encoding not in ("gzip", "deflate"):
        raise RequestError(415, f"unsupported content encoding {content_encoding!r}: use gzip or none")
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        # Bounded inflate: a small gzip bomb must not allocate more than the limit.
        out = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise RequestError(400, f"request body is not valid {encoding} data: {exc}") from None
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise RequestError(413, f"decompressed request body is larger than the {max_bytes}-byte limit")
    if not inflater.eof:
        raise RequestError(400, f"request body is truncated {encoding} data")
    return out


def parse_protobuf(body: bytes) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise RequestError(400, f"request body is not a valid ExportTraceServiceRequest: {exc}") from None
    return request


def parse_json(body: bytes) -> ExportTraceServiceRequest:
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(400, f"request body is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise RequestError(400, "request body must be a JSON object with a resourceSpans array")
    _hex_ids_to_base64(doc)
    request = ExportTraceServiceRequest()
    try:
        json_format.ParseDict(doc, request, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise RequestError(400, f"request body is not a valid OTLP JSON trace request: {exc}") from None
    return request


def parse(body: bytes, content_type: str) -> ExportTraceServiceRequest:
    return parse_json(body) if content_type == JSON else parse_protobuf(body)


def _hex_ids_to_base64(node: Any, path: str = "") -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            size = _ID_FIELDS.get(key)
            if size is not None and isinstance(value, str):
                node[key] = _hex_to_b64(value, size, f"{path}.{key}" if path else key)
            elif isinstance(value, dict | list):
                _hex_ids_to_base64(value, f"{path}.{key}" if path else key)
    elif isinstance(node, list):
        for index, item in enumerate(node):
            _hex_ids_to_base64(item, f"{path}[{index}]")


def _hex_to_b64(value: str, size: int, where: str) -> str:
    if value == "":
        return ""
    if len(value) != size * 2:
        raise RequestError(
            400, f"{where}: expected {size * 2} hex characters for a {size}-byte id, got {len(value)}"
        )
    try:
        raw = binascii.unhexlify(value)
    except binascii.Error:
        raise RequestError(400, f"{where}: {value!r} is not hexadecimal") from None
    return base64.b64encode(raw).decode("ascii")
