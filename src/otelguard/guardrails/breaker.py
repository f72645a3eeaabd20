"""Circuit breakers for validators: stop calling one that keeps failing or overrunning its time budget.

States (per policy version + rule): ``closed`` (calls go through), ``open`` (calls are refused until the
cool-down has passed), ``half_open`` (one trial call is let through; success closes the breaker, failure
opens it again for another cool-down). ``failure_threshold`` consecutive failures open a closed breaker; a
success resets the count.

A failure is a validator that raised, or that took longer than its budget. Validators are synchronous Python
(CPU-bound), so the engine cannot interrupt one mid-run: the budget is measured, not enforced. The breaker is
what turns repeated overruns into skips, so a slow validator costs at most ``failure_threshold`` slow requests
per cool-down instead of every request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Literal

__all__ = ["BreakerBoard", "BreakerSettings", "BreakerState", "CircuitBreaker"]

BreakerState = Literal["closed", "open", "half_open"]


@dataclass(frozen=True, slots=True)
class BreakerSettings:
    failure_threshold: int = 5
    cooldown_s: float = 30.0

    def __post_init__(self) -> None:
        if self.failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        if self.cooldown_s < 0:
            raise ValueError("cooldown_s must not be negative")


class CircuitBreaker:
    """One breaker (thread-safe): :meth:`allow` before a call, then :meth:`success` or :meth:`failure`."""

    __slots__ = ("_clock", "_failures", "_lock", "_opened_at", "_state", "_trial", "settings")

    def __init__(self, settings: BreakerSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._state: BreakerState = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._trial = False  # a half-open trial call is in flight

    @property
    def state(self) -> BreakerState:
        with self._lock:
            return self._current()

    @property
    def failures(self) -> int:
        return self._failures

    def _current(self) -> BreakerState:
        if self._state == "open" and self._clock() - self._opened_at >= self.settings.cooldown_s:
            self._state, self._trial = "half_open", False
        return self._state

    def allow(self) -> bool:
        """May the validator run now? In half-open, only the first caller gets the trial call."""
        with self._lock:
            state = self._current()
            if state == "closed":
                return True
            if state == "half_open" and not self._trial:
                self._trial = True
                return True
            return False

    def success(self) -> None:
        with self._lock:
            self._state, self._failures, self._trial = "closed", 0, False

    def failure(self) -> None:
        with self._lock:
            state = self._current()
            self._failures += 1
            if state == "half_open" or self._failures >= self.settings.failure_threshold:
                self._state, self._opened_at, self._trial = "open", self._clock(), False


class BreakerBoard:
    """Breakers by key, created on first use and shared across snapshots (a hot reload of an unchanged
    policy keeps its breakers; a new policy version gets fresh ones through its key)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_breakers: int = 10_000) -> None:
        self._clock = clock
        self._max = max_breakers
        self._lock = threading.Lock()
        self._breakers: dict[Hashable, CircuitBreaker] = {}

    def get(self, key: Hashable, settings: BreakerSettings) -> CircuitBreaker:
        breaker = self._breakers.get(key)
        if breaker is not None and breaker.settings == settings:
            return breaker
        with self._lock:
            breaker = self._breakers.get(key)
            if breaker is None or breaker.settings != settings:
                if len(self._breakers) >= self._max:  # bounded: forget closed, healthy breakers first
                    self._breakers = {
                        k: b for k, b in self._breakers.items() if b.state != "closed" or b.failures
                    }
                breaker = CircuitBreaker(settings, self._clock)
                self._breakers[key] = breaker
            return breaker

    def states(self) -> dict[Hashable, BreakerState]:
        with self._lock:
            items = list(self._breakers.items())
        return {k: b.state for k, b in items}
