"""OTLP/HTTP body decoding: every malformed input is a clear RequestError, never a crash."""

from __future__ import annotations

import gzip
import json

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from otelguard.collector import otlp_decode
from otelguard.collector.errors import RequestError
from otelguard.collector.otlp_convert import convert

TRACE = "5b8efff798038103d269b633813fc60c"
SPAN = "eee19b7ec3c1b174"


def otlp_json(**span_overrides: object) -> dict[str, object]:
    span: dict[str, object] = {
        "traceId": TRACE,
        "spanId": SPAN,
        "name": "chat gpt-4o",
        "kind": 3,
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000001500000000",
        "attributes": [
            {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "12"}},
            {"key": "ratio", "value": {"doubleValue": 0.5}},
            {"key": "flag", "value": {"boolValue": True}},
            {"key": "list", "value": {"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "2"}]}}},
            {
                "key": "map",
                "value": {"kvlistValue": {"values": [{"key": "k", "value": {"stringValue": "v"}}]}},
            },
        ],
        "status": {"code": 2, "message": "boom"},
    }
    span.update(span_overrides)
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "svc"}}]},
                "scopeSpans": [{"scope": {"name": "my.scope", "version": "1.0"}, "spans": [span]}],
            }
        ]
    }


def test_json_hex_ids_int64_strings_and_all_value_types() -> None:
    request = otlp_decode.parse_json(json.dumps(otlp_json(parentSpanId="0102030405060708")).encode())
    [raw] = convert(request).spans
    assert raw.trace_id == TRACE and raw.span_id == SPAN and raw.parent_span_id == "0102030405060708"
    assert raw.start_time_unix_nano == 1_700_000_000_000_000_000
    assert raw.end_time_unix_nano == 1_700_000_001_500_000_000
    assert raw.otel_kind == "client"
    assert raw.status_code.value == "error" and raw.status_message == "boom"
    assert raw.attributes == {
        "gen_ai.request.model": "gpt-4o",
        "gen_ai.usage.input_tokens": 12,
        "ratio": 0.5,
        "flag": True,
        "list": ["a", 2],
        "map": {"k": "v"},
    }
    assert raw.resource_attributes == {"service.name": "svc"}
    assert (raw.scope_name, raw.scope_version) == ("my.scope", "1.0")


def test_protobuf_roundtrip_matches_json() -> None:
    from_json = otlp_decode.parse_json(json.dumps(otlp_json()).encode())
    from_proto = otlp_decode.parse_protobuf(from_json.SerializeToString())
    assert convert(from_proto).spans == convert(from_json).spans


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("application/x-protobuf", "application/x-protobuf"),
        ("application/json; charset=utf-8", "application/json"),
        ("Application/JSON", "application/json"),
    ],
)
def test_media_type_accepts_otlp_types(content_type: str, expected: str) -> None:
    assert otlp_decode.media_type(content_type) == expected


@pytest.mark.parametrize(
    "content_type", [None, "", "text/plain", "application/protobuf", "multipart/form-data"]
)
def test_media_type_rejects_others_with_415(content_type: str | None) -> None:
    with pytest.raises(RequestError) as info:
        otlp_decode.media_type(content_type)
    assert info.value.http_status == 415
    assert "application/x-protobuf" in info.value.message


def test_gzip_is_inflated() -> None:
    body = json.dumps(otlp_json()).encode()
    assert otlp_decode.decompress(gzip.compress(body), "gzip", 1 << 20) == body


def test_gzip_bomb_is_bounded() -> None:
    bomb = gzip.compress(b"\0" * (5 << 20))
    with pytest.raises(RequestError) as info:
        otlp_decode.decompress(bomb, "gzip", 1 << 20)
    assert info.value.http_status == 413


@pytest.mark.parametrize(
    ("body", "encoding", "status"),
    [
        (b"not gzip at all", "gzip", 400),
        (gzip.compress(b"x" * 100)[:-12], "gzip", 400),  # truncated stream
        (b"abc", "br", 415),
        (b"x" * 2048, None, 413),
    ],
)
def test_decompress_errors(body: bytes, encoding: str | None, status: int) -> None:
    with pytest.raises(RequestError) as info:
        otlp_decode.decompress(body, encoding, 1024)
    assert info.value.http_status == status


@pytest.mark.parametrize(
    "body",
    [b"\xff\xff\xff\xff", b"\x0a\x05abc", b"\x0a\xff\xff\xff\xff\x0f"],
)
def test_malformed_protobuf_is_400(body: bytes) -> None:
    with pytest.raises(RequestError) as info:
        otlp_decode.parse_protobuf(body)
    assert info.value.http_status == 400


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (json.dumps({"resourceSpans": "nope"}).encode(), "OTLP JSON"),
        (json.dumps(otlp_json(traceId="abc")).encode(), "32 hex characters"),
        (json.dumps(otlp_json(spanId="zzzzzzzzzzzzzzzz")).encode(), "not hexadecimal"),
        (json.dumps(otlp_json(startTimeUnixNano="soon")).encode(), "OTLP JSON"),
    ],
)
def test_malformed_json_is_400_with_a_message(body: bytes, needle: str) -> None:
    with pytest.raises(RequestError) as info:
        otlp_decode.parse_json(body)
    assert info.value.http_status == 400
    assert needle in info.value.message


def test_wrong_id_length_in_protobuf_fails_the_whole_request() -> None:
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id = bytes(range(1, 17))
    span.span_id = bytes(range(1, 8))  # 7 bytes
    with pytest.raises(RequestError) as info:
        convert(request)
    assert info.value.http_status == 400
    assert "spans[0]" in info.value.message


def test_all_zero_ids_are_rejected_as_partial_success() -> None:
    request = otlp_decode.parse_json(json.dumps(otlp_json()).encode())
    bad = request.resource_spans[0].scope_spans[0].spans.add()
    bad.CopyFrom(request.resource_spans[0].scope_spans[0].spans[0])
    bad.trace_id = bytes(16)
    converted = convert(request)
    assert len(converted.spans) == 1
    assert converted.rejected == 1
    assert "all-zero" in converted.rejection_reason
