"""Semantic checks the CRD schema cannot express: durations (Dashboard, AlertRule).

Evaluator params (regexes, JSON Schemas) are checked by ``otelguard.evalspec``, the eval workers' own
build steps; guardrail patterns by the guardrails compiler.
"""

from __future__ import annotations

import re

__all__ = ["duration_seconds"]

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION_PART = re.compile(r"([0-9]+)(s|m|h|d|w)")
_DURATION = re.compile(r"(?:[0-9]+(?:s|m|h|d|w))+")


def duration_seconds(text: str) -> int:
    """Seconds of a Prometheus-style duration (``90s``, ``1h30m``); ValueError when malformed."""
    if not _DURATION.fullmatch(text):
        raise ValueError(f"{text!r} is not a duration like 30s, 5m, 1h30m, 7d")
    return sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(text))
