"""Attribute value coercion and string encoding shared by the convention mappers.

Everything here runs per attribute on the collector hot path, so the helpers test exact types first
(``type(v) is str``) and JSON goes through one C encoder built at import time.
"""

from __future__ import annotations

import base64
import json
import json.encoder
import math
from collections.abc import Callable

from otelguard.model import AttrValue


def _json_default(value: object) -> object:
    # OTLP bytes values have no JSON form; base64 matches how OTLP/JSON encodes them.
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    return str(value)


def _make_json_compact() -> Callable[[object], str]:
    # JSONEncoder.encode builds a C encoder on every call; build it once instead (~0.7 µs per call).
    # No circular-reference check (markers=None): decoded OTLP values and our messages are trees.
    c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
    c_encode_str = getattr(json.encoder, "c_encode_basestring", None)
    if c_make_encoder is None or c_encode_str is None:  # pragma: no cover - non-CPython
        return json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_json_default).encode
    encode_chunks = c_make_encoder(None, _json_default, c_encode_str, None, ":", ",", False, False, True)

    def json_compact(value: object) -> str:
        return "".join(encode_chunks(value, 0))

    return json_compact


json_compact = _make_json_compact()
"""Compact JSON (no spaces, UTF-8 kept as-is, bytes as base64)."""


def stringify(value: AttrValue) -> str:
    """One attribute value as stored in the ``attributes`` map: strings as-is, bytes as base64,
    everything else compact JSON (``true``, ``42``, ``1.5``, ``["a","b"]``, ``null``)."""
    if type(value) is str:
        return value
    if type(value) is int:
        return str(value)
    if type(value) is float and math.isfinite(value):
        return repr(value)  # what json emits for a finite float, without the encoder's overhead
    if type(value) is bool:
        return "true" if value else "false"
    if type(value) is bytes:
        return base64.b64encode(value).decode("ascii")
    return json_compact(value)


def as_str(value: AttrValue) -> str:
    """A scalar attribute as text; "" for missing values. Containers become compact JSON."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    return stringify(value)


def as_int(value: AttrValue) -> int | None:
    """A token count or version number: ints, integral floats and digit strings; None otherwise.

    Negative values are rejected: no count in the conventions can be negative, and a bogus negative
    would poison sums downstream.
    """
    if type(value) is int:
        return value if value >= 0 else None
    if type(value) is float:
        return int(value) if math.isfinite(value) and value >= 0 and value == int(value) else None
    if type(value) is str:
        s = value.strip()
        return int(s) if s.isdigit() and s.isascii() else None
    return None


def as_version(value: AttrValue) -> int | None:
    """A prompt version: like :func:`as_int`, also accepting ``"v3"`` / ``"V3"``."""
    if type(value) is str:
        s = value.strip()
        return as_int(s[1:] if s[:1] in ("v", "V") else s)
    return as_int(value)


def as_float(value: AttrValue) -> float | None:
    """A USD amount: finite, non-negative int/float or numeric string; None otherwise."""
    f: float
    if type(value) is float or type(value) is int:
        f = float(value)
    elif type(value) is str:
        try:
            f = float(value)
        except ValueError:
            return None
    else:
        return None
    return f if math.isfinite(f) and f >= 0 else None


def as_str_list(value: AttrValue) -> list[str]:
    """Tags: an array attribute, a JSON array string, or a comma-separated string."""
    if value is None:
        return []
    if type(value) is list:
        return [s for s in (as_str(v) for v in value) if s]
    if type(value) is str:
        s = value.strip()
        if s.startswith("["):
            try:
                parsed = json.loads(s)
            except ValueError:
                parsed = None
            if type(parsed) is list:
                return [t for t in (as_str(v) for v in parsed) if t]
        return [t for t in (part.strip() for part in s.split(",")) if t]
    return [as_str(value)]
