"""Circuit breaker state machine, and the engine's per-validator budget / breaker / onTimeout behaviour."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Collection
from typing import Any

import pytest

from otelguard.guardrails import CheckContext, CompiledPolicy, Engine, Finding, compile_policy
from otelguard.guardrails.breaker import BreakerBoard, BreakerSettings, CircuitBreaker
from otelguard.guardrails.patterns import ScanText
from otelguard.guardrails.registry import NoParams, Validator


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# -- the state machine ---------------------------------------------------------------------------------
def test_opens_after_threshold_consecutive_failures() -> None:
    clock = Clock()
    b = CircuitBreaker(BreakerSettings(3, 10.0), clock)
    for _ in range(2):
        assert b.allow()
        b.failure()
    assert b.state == "closed"
    b.success()  # a success resets the count: two more failures do not open it
    b.failure()
    b.failure()
    assert b.state == "closed"
    b.failure()
    assert b.state == "open" and not b.allow()


def test_half_open_after_cooldown_single_trial_then_close() -> None:
    clock = Clock()
    b = CircuitBreaker(BreakerSettings(1, 10.0), clock)
    b.failure()
    assert b.state == "open"
    clock.now += 9.99
    assert not b.allow()
    clock.now += 0.02
    assert b.state == "half_open"
    assert b.allow()  # the trial call
    assert not b.allow()  # only one at a time
    b.success()
    assert b.state == "closed" and b.allow() and b.allow()


def test_half_open_failure_reopens_for_a_new_cooldown() -> None:
    clock = Clock()
    b = CircuitBreaker(BreakerSettings(5, 10.0), clock)
    for _ in range(5):
        b.failure()
    clock.now += 10
    assert b.allow()
    b.failure()  # one failure in half-open is enough, whatever the threshold
    assert b.state == "open" and not b.allow()
    clock.now += 9
    assert not b.allow()
    clock.now += 1
    assert b.allow()


def test_trial_is_exclusive_across_threads() -> None:
    clock = Clock()
    b = CircuitBreaker(BreakerSettings(1, 1.0), clock)
    b.failure()
    clock.now += 1
    allowed: list[bool] = []
    threads = [threading.Thread(target=lambda: allowed.append(b.allow())) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert allowed.count(True) == 1


def test_settings_validated_and_board_keys() -> None:
    with pytest.raises(ValueError):
        BreakerSettings(0, 1)
    board = BreakerBoard(Clock())
    a = board.get(("p", "1", "r"), BreakerSettings())
    assert board.get(("p", "1", "r"), BreakerSettings()) is a
    assert board.get(("p", "2", "r"), BreakerSettings()) is not a  # a new policy version starts fresh
    assert board.get(("p", "1", "r"), BreakerSettings(2, 1)) is not a  # changed settings: a new breaker


# -- in the engine ------------------------------------------------------------------------------------
class Sleepy(Validator):
    """A validator whose run time (and failure) the test controls."""

    name = "test_sleepy"

    def __init__(self, seconds: float = 0.0, raises: bool = False) -> None:
        super().__init__(NoParams())
        self.seconds, self.raises, self.calls = seconds, raises, 0

    def check(
        self, text: ScanText, context: CheckContext, hits: Collection[int] | None = None
    ) -> list[Finding]:
        self.calls += 1
        time.sleep(self.seconds)
        if self.raises:
            raise RuntimeError("model unavailable")
        return []


def build(validator: Validator, **spec: Any) -> CompiledPolicy:
    doc = {
        "stages": ["input"],
        "rules": [
            {"name": "slow", "validator": "length", "params": {"maxChars": 10**6}, "timeoutMs": 5},
            {"name": "pii", "validator": "pii", "onFail": [{"type": "sanitize"}]},
        ],
        **spec,
    }
    p = compile_policy(doc, name="p", version=1)
    rules = list(p.rules)
    rules[0] = dataclasses.replace(rules[0], validator=validator)
    return dataclasses.replace(p, rules=tuple(rules))


def test_rule_budget_and_breaker_compiled_from_spec() -> None:
    p = compile_policy(
        {
            "stages": ["input"],
            "rules": [{"name": "a", "validator": "pii", "timeoutMs": 7}],
            "circuitBreaker": {"failureThreshold": 2, "cooldownSeconds": 9},
        },
        name="p",
    )
    assert p.rules[0].timeout_ms == 7 and p.breaker == BreakerSettings(2, 9.0)
    with pytest.raises(ValueError, match="failureThreshold"):
        compile_policy(
            {
                "stages": ["input"],
                "rules": [{"name": "a", "validator": "pii"}],
                "circuitBreaker": {"failureThreshold": 0},
            },
            name="p",
        )


def test_over_budget_recorded_then_breaker_skips_it() -> None:
    slow = Sleepy(0.02)  # 20 ms against a 5 ms rule budget
    clock = Clock()
    engine = Engine(
        [build(slow, circuitBreaker={"failureThreshold": 2, "cooldownSeconds": 30})],
        breakers=BreakerBoard(clock),
    )
    text = "mail jane@example.com"
    for _ in range(2):
        r = engine.evaluate(text, "input")
        assert r.verdict == "flag" and r.text == "mail <EMAIL>"  # the other rule still runs
        assert [e.action for e in r.events] == ["validator_timeout", "sanitize"]
    assert slow.calls == 2
    # Open: skipped without running, verdict per onTimeout (pass), the request is fast.
    started = time.perf_counter()
    r = engine.evaluate(text, "input")
    assert time.perf_counter() - started < 0.015
    assert slow.calls == 2
    assert [(e.action, e.verdict, e.rule) for e in r.events] == [
        ("circuit_open_pass", "pass", "slow"),
        ("sanitize", "flag", "pii"),
    ]
    # After the cool-down a single trial runs; it is now fast, so the breaker closes.
    slow.seconds = 0.0
    clock.now += 30
    r = engine.evaluate(text, "input")
    assert slow.calls == 3 and [e.action for e in r.events] == ["sanitize"]
    assert engine.breakers.states()[("p", "1", "slow")] == "closed"


def test_open_breaker_blocks_when_on_timeout_block() -> None:
    failing = Sleepy(raises=True)
    engine = Engine([build(failing, onTimeout="block", circuitBreaker={"failureThreshold": 1})])
    first = engine.evaluate("hello", "input")
    assert first.verdict == "block" and "raised RuntimeError" in (first.block.reason if first.block else "")
    assert [e.action for e in first.events] == ["validator_error_block"]
    second = engine.evaluate("hello", "input")
    assert second.verdict == "block" and failing.calls == 1
    assert [e.action for e in second.events] == ["circuit_open_block"]
    assert "circuit breaker is open" in (second.block.reason if second.block else "")


def test_validator_error_passes_by_default_and_shadow_never_blocks() -> None:
    engine = Engine([build(Sleepy(raises=True))])
    r = engine.evaluate("a@b.io", "input")
    assert r.verdict == "flag" and [e.action for e in r.events] == ["validator_error_pass", "sanitize"]
    shadow = Engine([build(Sleepy(raises=True), onTimeout="block", mode="shadow")])
    r = shadow.evaluate("hello", "input")
    assert r.verdict == "pass" and [(e.action, e.shadow) for e in r.events] == [
        ("validator_error_block", True)
    ]


def test_request_budget_skips_the_rest() -> None:
    # Policy budget 10 ms; the first validator (budget 5 ms) takes 15: the next rule never runs.
    engine = Engine([build(Sleepy(0.015), timeoutMs=10, onTimeout="block")])
    r = engine.evaluate("mail a@b.io", "input")
    assert r.verdict == "block"
    assert [(e.action, e.rule) for e in r.events] == [("validator_timeout", "slow"), ("timeout_block", "pii")]


# -- preemptible validators: the engine stops waiting --------------------------------------------------
class Hanging(Validator):
    """A preemptible validator that blocks until released (a hung model call)."""

    name = "test_hanging"
    preemptible = True

    def __init__(self) -> None:
        super().__init__(NoParams())
        self.release = threading.Event()
        self.started = threading.Event()
        self.finished = threading.Event()
        self.calls = 0

    def check(
        self, text: ScanText, context: CheckContext, hits: Collection[int] | None = None
    ) -> list[Finding]:
        self.calls += 1
        self.started.set()
        self.release.wait(10)
        self.finished.set()
        return [Finding("hanging", "x", 0, 1, 1.0)]


def test_hung_preemptible_validator_is_abandoned_at_its_budget() -> None:
    hung = Hanging()
    engine = Engine([build(hung, onTimeout="block")])
    started = time.perf_counter()
    r = engine.evaluate("mail jane@example.com", "input")
    took = time.perf_counter() - started
    try:
        # Answered at the 5 ms rule budget (plus scheduling), not when the validator returns (10 s).
        assert took < 1.0 and hung.started.is_set() and not hung.finished.is_set()
        assert r.verdict == "block"
        assert [(e.action, e.verdict, e.rule) for e in r.events] == [
            ("validator_timeout_block", "block", "slow")
        ]
        assert r.block is not None and "abandoned" in r.block.reason
        assert [t.rule for t in r.timings] == ["slow"]
    finally:
        hung.release.set()
    assert hung.finished.wait(5)  # the abandoned run ends in the background; its finding was dropped


def test_abandoned_rule_passes_by_default_and_other_rules_still_run() -> None:
    hung = Hanging()
    engine = Engine([build(hung, timeoutMs=2000)])
    try:
        r = engine.evaluate("mail jane@example.com", "input")
        assert r.verdict == "flag" and r.text == "mail <EMAIL>"
        assert [(e.action, e.rule) for e in r.events] == [
            ("validator_timeout_pass", "slow"),
            ("sanitize", "pii"),
        ]
    finally:
        hung.release.set()


def test_repeated_abandons_open_the_breaker_so_no_more_runs_are_queued() -> None:
    hung = Hanging()
    engine = Engine(
        [build(hung, circuitBreaker={"failureThreshold": 2, "cooldownSeconds": 30})],
        breakers=BreakerBoard(Clock()),
    )
    try:
        for _ in range(2):
            assert [e.action for e in engine.evaluate("hello", "input").events] == ["validator_timeout_pass"]
        r = engine.evaluate("hello", "input")
        assert [e.action for e in r.events] == ["circuit_open_pass"]
        assert hung.calls <= 2  # the open breaker submitted nothing more
    finally:
        hung.release.set()


def test_fast_preemptible_validator_result_counts() -> None:
    class Quick(Hanging):
        name = "test_quick"

        def __init__(self) -> None:
            super().__init__()
            self.release.set()

    engine = Engine([build(Quick(), timeoutMs=2000)])
    r = engine.evaluate("hello", "input")
    # Its finding (score 1.0 >= threshold) fails the rule (no onFail actions: "none") like an inline one's.
    assert r.verdict == "flag"
    assert [(e.action, e.rule, e.verdict) for e in r.events] == [("none", "slow", "flag")]


def test_preemptible_validators_run_in_a_forked_child() -> None:
    import os

    class Quick(Hanging):
        name = "test_quick_fork"

        def __init__(self) -> None:
            super().__init__()
            self.release.set()

    engine = Engine([build(Quick(), timeoutMs=2000)])
    assert engine.evaluate("hello", "input").verdict == "flag"  # the parent's pool now exists
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status
        ok = engine.evaluate("hello", "input").events[0].action == "none"
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
