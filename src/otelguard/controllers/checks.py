"""Semantic checks the CRD schema cannot express: durations, regular expressions, JSON Schemas.

Each returns an error message (or None) that controllers prefix with the field path.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import jsonschema

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION_PART = re.compile(r"([0-9]+)(s|m|h|d|w)")
_DURATION = re.compile(r"(?:[0-9]+(?:s|m|h|d|w))+")


def duration_seconds(text: str) -> int:
    """Seconds of a Prometheus-style duration (``90s``, ``1h30m``); ValueError when malformed."""
    if not _DURATION.fullmatch(text):
        raise ValueError(f"{text!r} is not a duration like 30s, 5m, 1h30m, 7d")
    return sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(text))


def regex_error(pattern: Any) -> str | None:
    """Why ``pattern`` does not compile with Python's ``re`` (None when it does).

    The guardrails engine may use RE2/Hyperscan, which refuse a few constructs ``re`` accepts
    (backreferences, lookaround); it re-checks when it compiles the policy.
    """
    if not isinstance(pattern, str):
        return f"a pattern must be a string, got {type(pattern).__name__}"
    try:
        re.compile(pattern)
    except re.error as exc:
        where = f" at position {exc.pos}" if exc.pos is not None else ""
        return f"invalid regular expression {pattern!r}: {exc.msg}{where}"
    return None


def pattern_params(params: Mapping[str, Any] | None) -> Iterator[tuple[str, Any]]:
    """``(path, pattern)`` for every ``pattern``/``patterns`` parameter (one string or a list)."""
    for key in ("pattern", "patterns"):
        value = (params or {}).get(key)
        if value is None:
            continue
        if isinstance(value, list):
            for i, item in enumerate(value):
                yield f"params.{key}[{i}]", item
        else:
            yield f"params.{key}", value


def json_schema_error(schema: Any) -> str | None:
    """Why ``schema`` is not a valid JSON Schema (draft 2020-12), None when it is."""
    if not isinstance(schema, (dict, bool)):
        return "must be a JSON Schema object"
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        return f"invalid JSON Schema{f' at {where}' if where else ''}: {exc.message}"
    return None
