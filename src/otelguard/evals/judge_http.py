"""How long a rate-limited (or overloaded) provider asks us to wait, from its response headers.

Checked in order: ``retry-after-ms`` (OpenAI), ``Retry-After`` (seconds or an HTTP date, RFC 9110),
``x-ratelimit-reset-requests``/``-tokens`` (OpenAI durations such as ``1s``, ``6m0s``, ``20ms``: the
longer one), ``x-ratelimit-reset`` (seconds, or a Unix time when it is that large). Hints are capped at an
hour; None when no header gives one.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

__all__ = ["MAX_RETRY_AFTER", "parse_duration", "retry_after"]

MAX_RETRY_AFTER = 3600.0
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|h|m|s))+")
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_EPOCH_THRESHOLD = 1e9  # larger x-ratelimit-reset values are Unix times, not deltas


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def parse_duration(text: str) -> float | None:
    """Seconds of ``1m30.5s``/``20ms``/``6s``, or of a plain number of seconds; None when neither."""
    text = text.strip()
    if _DURATION.fullmatch(text):
        return sum(float(n) * _UNIT[unit] for n, unit in _PART.findall(text))
    return _number(text)


def _http_date(text: str, now: float) -> float | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now)


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    now = time.time() if now is None else now
    hint: float | None = None
    if (ms := headers.get("retry-after-ms")) is not None and (value := _number(ms)) is not None:
        hint = value / 1000
    elif (ra := headers.get("retry-after")) is not None:
        hint = _number(ra.strip())
        if hint is None:
            hint = _http_date(ra, now)
    if hint is None:
        resets = [
            d
            for key in ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens")
            if (raw := headers.get(key)) is not None and (d := parse_duration(raw)) is not None
        ]
        hint = max(resets) if resets else None
    if hint is None and (raw := headers.get("x-ratelimit-reset")) is not None:
        value = _number(raw.strip())
        if value is not None:
            hint = max(0.0, value - now) if value > _EPOCH_THRESHOLD else value
    return None if hint is None else min(hint, MAX_RETRY_AFTER)
