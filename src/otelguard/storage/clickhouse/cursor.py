"""Opaque keyset cursors for trace listings: base64url of the last item's (start_time, trace_id)."""

from __future__ import annotations

import base64
import binascii
import json
import re

__all__ = ["MAX_CURSOR_LENGTH", "InvalidCursor", "decode_cursor", "encode_cursor"]

_VERSION = 1
MAX_CURSOR_LENGTH = 2048
_MAX_NS = 2**63 - 1
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+\Z")


class InvalidCursor(ValueError):
    """The cursor was not produced by ``encode_cursor`` (or was damaged)."""


def encode_cursor(start_time_ns: int, trace_id: str) -> str:
    payload = json.dumps([_VERSION, start_time_ns, trace_id], separators=(",", ":"), ensure_ascii=True)
    return base64.urlsafe_b64encode(payload.encode("ascii")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    """``(start_time_ns, trace_id)`` of the item the next page starts after; InvalidCursor if malformed."""
    if (
        not isinstance(cursor, str)
        or not cursor
        or len(cursor) > MAX_CURSOR_LENGTH
        or not _ALPHABET.match(cursor)
    ):
        raise InvalidCursor("malformed cursor")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw.decode("ascii"))
    except (binascii.Error, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise InvalidCursor("malformed cursor") from exc
    if not (isinstance(value, list) and len(value) == 3 and value[0] == _VERSION and type(value[0]) is int):
        raise InvalidCursor("malformed cursor")
    _, start_ns, trace_id = value
    if type(start_ns) is not int or not 0 <= start_ns <= _MAX_NS:
        raise InvalidCursor("malformed cursor")
    if not isinstance(trace_id, str) or not trace_id or len(trace_id) > 512:
        raise InvalidCursor("malformed cursor")
    return start_ns, trace_id
