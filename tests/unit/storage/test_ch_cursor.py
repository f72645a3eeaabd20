"""Keyset cursors: opaque, round-trip, and every malformed input is InvalidCursor."""

from __future__ import annotations

import base64
import json

import pytest

from otelguard.storage.clickhouse import InvalidCursor, decode_cursor, encode_cursor


def _b64(obj: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    ("ns", "trace_id"),
    [
        (0, "0" * 32),
        (2**63 - 1, "f" * 32),
        (1_700_000_000_123_456_789, "4bf92f3577b34da6a3ce929d0e0e4736"),
        (5, 'not-hex ☃ "quoted" \' \\'),
    ],
)
def test_round_trip(ns: int, trace_id: str) -> None:
    cursor = encode_cursor(ns, trace_id)
    assert set(cursor) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_cursor(cursor) == (ns, trace_id)


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!!",
        "abc def",
        "a" * 5000,
        "=",
        "YQ",  # "a": not JSON
        _b64({"ns": 1}),
        _b64([1, 5]),
        _b64([2, 5, "t"]),  # unknown version
        _b64([True, 5, "t"]),
        _b64([1, -1, "t"]),
        _b64([1, 2**63, "t"]),
        _b64([1, 5.0, "t"]),
        _b64([1, True, "t"]),
        _b64([1, "5", "t"]),
        _b64([1, 5, ""]),
        _b64([1, 5, 7]),
        _b64([1, 5, "x" * 600]),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        encode_cursor(5, "t") + "$",
        encode_cursor(5, "t") + "==",
    ],
)
def test_malformed(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor)


def test_invalid_cursor_is_a_value_error() -> None:
    assert issubclass(InvalidCursor, ValueError)
