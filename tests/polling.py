"""Waiting for something a running platform, worker or cluster does in the background (one helper for
every test that polls)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["eventually"]

T = TypeVar("T")


def eventually(
    check: Callable[[], T], timeout_s: float = 30.0, *, what: str = "the condition", interval_s: float = 0.25
) -> T:
    """Call ``check`` until it returns something truthy, and return that; AssertionError naming ``what``
    (and the last value seen) once ``timeout_s`` has passed."""
    deadline = time.monotonic() + timeout_s
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what} (last: {last!r:.200})")
        time.sleep(interval_s)
