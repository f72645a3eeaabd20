"""Every malformed OTLP request gets a clear 4xx with a google.rpc.Status message; nothing of it is stored
and the collector keeps serving."""

from __future__ import annotations

import gzip
import json

import httpx
import pytest
from google.rpc import status_pb2

from platform_process import Platform

TRACE = "0af7651916cd43dd8448eb211c80319c"


def valid_json(trace_id: str = TRACE, span_id: str = "b7ad6b7169203331") -> dict[str, object]:
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "bad-input"}}]},
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": trace_id,
                                "spanId": span_id,
                                "name": "chat",
                                "startTimeUnixNano": "1764000000000000000",
                                "endTimeUnixNano": "1764000001000000000",
                                "attributes": [
                                    {"key": "user.id", "value": {"stringValue": "bad-input-user"}}
                                ],
                            }
                        ]
                    }
                ],
            }
        ]
    }


def post(platform: Platform, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(f"{platform.otlp_http_url}/v1/traces", content=body, headers=headers, timeout=30)


CASES = [
    ("malformed protobuf", b"\x0a\xff\xff\xff\xff\x0f", {"content-type": "application/x-protobuf"}, 400),
    ("invalid json", b"{oops", {"content-type": "application/json"}, 400),
    ("not utf-8 json", b"\xff\xfe\x00", {"content-type": "application/json"}, 400),
    ("wrong content type", b"hello", {"content-type": "text/plain"}, 415),
    ("no content type", b"hello", {}, 415),
    (
        "bad gzip",
        b"definitely not gzip",
        {"content-type": "application/json", "content-encoding": "gzip"},
        400,
    ),
    ("unknown encoding", b"x", {"content-type": "application/json", "content-encoding": "zstd"}, 415),
    (
        "short trace id",
        json.dumps(valid_json(trace_id="abcd")).encode(),
        {"content-type": "application/json"},
        400,
    ),
    (
        "non-hex span id",
        json.dumps(valid_json(span_id="zzzzzzzzzzzzzzzz")).encode(),
        {"content-type": "application/json"},
        400,
    ),
    ("body over the limit", b"x" * (1024 * 1024 + 1), {"content-type": "application/x-protobuf"}, 413),
    (
        "gzip bomb over the limit",
        gzip.compress(b"\0" * (3 * 1024 * 1024)),
        {"content-type": "application/x-protobuf", "content-encoding": "gzip"},
        413,
    ),
]


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    running = Platform(
        tmp_path_factory.mktemp("bad-input") / "data", env={"OTELGUARD_MAX_BODY_BYTES": str(1024 * 1024)}
    )
    running.start()
    yield running
    running.close()


@pytest.mark.parametrize(("case", "body", "headers", "status"), CASES, ids=[c[0] for c in CASES])
def test_bad_request_is_refused_clearly(
    platform: Platform, case: str, body: bytes, headers: dict[str, str], status: int
) -> None:
    response = post(platform, body, {**platform.auth, **headers})
    assert response.status_code == status, response.text
    if response.headers["content-type"].startswith("application/x-protobuf"):
        message = status_pb2.Status.FromString(response.content).message
    else:
        message = response.json()["message"]
    assert len(message) > 10  # a sentence, not a bare code


@pytest.mark.parametrize(
    ("headers", "needle"),
    [
        ({}, "missing API key"),
        ({"authorization": "Bearer not-a-real-key-000000"}, "unknown or revoked"),
        ({"authorization": "Basic Zm9v"}, "Basic"),
        ({"x-otelguard-api-key": "nope-nope-nope-nope"}, "unknown or revoked"),
    ],
)
def test_missing_or_unknown_key_is_401(platform: Platform, headers: dict[str, str], needle: str) -> None:
    response = post(
        platform, json.dumps(valid_json()).encode(), {"content-type": "application/json", **headers}
    )
    assert response.status_code == 401
    assert needle in response.json()["message"]


def test_other_routes_and_methods(platform: Platform) -> None:
    assert httpx.get(f"{platform.otlp_http_url}/v1/traces").status_code == 405
    assert httpx.post(f"{platform.otlp_http_url}/v1/logs").status_code == 404


def test_nothing_half_written_and_still_serving(platform: Platform) -> None:
    for _, body, headers, _ in CASES:
        post(platform, body, {**platform.auth, **headers})
    # a valid request after all the bad ones is accepted and is the only thing stored
    ok = post(
        platform, json.dumps(valid_json()).encode(), {**platform.auth, "content-type": "application/json"}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json() == {}  # full success: no partialSuccess
    [trace] = platform.wait_for_traces(1)
    assert trace["trace_id"] == TRACE
    assert platform.get("/api/v1/traces").json()["items"] == [trace]


def test_partial_success_for_all_zero_ids(platform: Platform) -> None:
    doc = valid_json(trace_id="1" * 32)
    spans = doc["resourceSpans"][0]["scopeSpans"][0]["spans"]  # type: ignore[index]
    spans.append({**spans[0], "spanId": "0" * 16})
    response = post(platform, json.dumps(doc).encode(), {**platform.auth, "content-type": "application/json"})
    assert response.status_code == 200
    partial = response.json()["partialSuccess"]
    assert partial["rejectedSpans"] == "1"  # int64 as a string in OTLP JSON
    assert "all-zero" in partial["errorMessage"]
