"""Opaque keyset cursors for listings sorted on any column.

A cursor is base64url of ``[2, scope, sort, order, value, *tie_breakers]``: the sort value of the last
item (as text, parsed back by ClickHouse into the column's type, so Decimal and 64-bit values stay
exact) and its unique tie-breakers (ids). ``scope`` names the listing ("traces", "sessions", ...). A
cursor is valid only for the listing, sort column and direction it came from; anything else raises
``InvalidCursor`` (the API answers 400).
"""

from __future__ import annotations

import base64
import binascii
import json
import re

from otelguard.storage.clickhouse.cursor import MAX_CURSOR_LENGTH, InvalidCursor

__all__ = ["Keyset", "check_value", "decode_keyset", "encode_keyset"]

_VERSION = 2
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+\Z")
_MAX_PART = 512


class Keyset(tuple[str, ...]):
    """``(value, *tie_breakers)`` decoded from a cursor, all as text."""

    __slots__ = ()


def encode_keyset(scope: str, sort: str, order: str, value: str, *ties: str) -> str:
    payload = json.dumps(
        [_VERSION, scope, sort, order, value, *ties], separators=(",", ":"), ensure_ascii=True
    )
    return base64.urlsafe_b64encode(payload.encode("ascii")).decode("ascii").rstrip("=")


def decode_keyset(cursor: str, *, scope: str, sort: str, order: str, ties: int) -> Keyset:
    """``(value, *tie_breakers)`` of ``cursor``; InvalidCursor if malformed or from another listing/sort."""
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
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor("malformed cursor") from exc
    if not (
        isinstance(value, list) and len(value) == 5 + ties and value[0] == _VERSION and type(value[0]) is int
    ):
        raise InvalidCursor("malformed cursor")
    if not all(isinstance(v, str) and len(v) <= _MAX_PART for v in value[1:]):
        raise InvalidCursor("malformed cursor")
    if value[1:4] != [scope, sort, order]:
        raise InvalidCursor(
            f"cursor belongs to another listing or sort (sort={sort}, order={order} expected)"
        )
    if not all(value[5:]):
        raise InvalidCursor("malformed cursor")
    return Keyset(value[4:])


_INT = re.compile(r"-?[0-9]{1,19}\Z")
_DECIMAL = re.compile(r"-?[0-9]{1,26}(\.[0-9]{1,12})?\Z")


def check_value(value: str, ch_type: str) -> str:
    """``value`` if ClickHouse can parse it as ``ch_type`` (Int64, UInt64, Decimal128(12), String)."""
    if ch_type in ("Int64", "UInt64"):
        ok = bool(_INT.match(value)) and -(2**63) <= int(value) < 2**64
        ok = ok and (int(value) < 2**63 if ch_type == "Int64" else int(value) >= 0)
    elif ch_type.startswith("Decimal"):
        ok = bool(_DECIMAL.match(value))
    else:
        ok = True
    if not ok:
        raise InvalidCursor("malformed cursor")
    return value
