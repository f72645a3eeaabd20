"""conditions.py: lastTransitionTime moves only on a flip; Ready summarizes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from otelguard.api.v1alpha1 import Condition, find_condition, is_ready, ready_summary, set_condition

T0 = datetime(2025, 1, 1, 12, 0, 0, 123456, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)


def test_new_condition_is_appended_with_whole_second_time() -> None:
    conds = set_condition([], "Stored", "True", "Stored", "version 1", 1, T0)
    assert conds == [
        Condition(
            type="Stored",
            status="True",
            reason="Stored",
            message="version 1",
            observed_generation=1,
            last_transition_time=T0.replace(microsecond=0),
        )
    ]
    assert conds[0].model_dump(mode="json")["lastTransitionTime"] == "2025-01-01T12:00:00Z"


def test_time_is_kept_when_only_reason_message_or_generation_change() -> None:
    first = set_condition([], "Ready", "False", "InvalidSpec", "bad", 1, T0)
    second = set_condition(first, "Ready", "False", "StorageUnavailable", "postgres down", 2, T1)
    (cond,) = second
    assert cond.last_transition_time == T0.replace(microsecond=0)
    assert (cond.reason, cond.message, cond.observed_generation) == ("StorageUnavailable", "postgres down", 2)


def test_time_changes_on_a_flip() -> None:
    first = set_condition([], "Ready", "False", "InvalidSpec", "bad", 1, T0)
    (cond,) = set_condition(first, "Ready", "True", "Reconciled", "", 2, T1)
    assert cond.last_transition_time == T1.replace(microsecond=0)


def test_unchanged_condition_yields_an_equal_list_and_keeps_others() -> None:
    conds = set_condition([], "A", "True", "Ok", "", 1, T0)
    conds = set_condition(conds, "B", "False", "Broken", "x", 1, T0)
    again = set_condition(conds, "A", "True", "Ok", "", 1, T1)
    assert again == conds and again is not conds
    assert [c.type for c in set_condition(conds, "A", "False", "Down", "", 1, T1)] == ["A", "B"]


def test_ready_summary_true_when_all_dependencies_true() -> None:
    conds = set_condition([], "Stored", "True", "Stored", "", 3, T0)
    conds = ready_summary(conds, ["Stored"], 3, T0, message="stored as version 2")
    ready = find_condition(conds, "Ready")
    assert ready is not None and (ready.status, ready.reason, ready.message) == (
        "True",
        "Reconciled",
        "stored as version 2",
    )
    assert is_ready(conds, 3)
    assert not is_ready(conds, 4)  # a newer generation has not been reconciled yet


def test_ready_summary_false_wins_and_carries_its_reason() -> None:
    conds = set_condition([], "Valid", "Unknown", "Checking", "", 1, T0)
    conds = set_condition(conds, "Stored", "False", "DatabaseUnavailable", "connection refused", 1, T0)
    ready = find_condition(ready_summary(conds, ["Valid", "Stored"], 1, T0), "Ready")
    assert ready is not None
    assert (ready.status, ready.reason, ready.message) == (
        "False",
        "DatabaseUnavailable",
        "connection refused",
    )


def test_ready_summary_unknown_when_missing_or_stale() -> None:
    conds = set_condition([], "Stored", "True", "Stored", "", 1, T0)
    ready = find_condition(ready_summary(conds, ["Stored", "Compiled"], 1, T0), "Ready")
    assert ready is not None and (ready.status, ready.reason, ready.message) == (
        "Unknown",
        "Reconciling",
        "waiting for Compiled",
    )
    stale = find_condition(ready_summary(conds, ["Stored"], 2, T0), "Ready")
    assert stale is not None and (stale.status, stale.message) == ("Unknown", "waiting for Stored")


def test_ready_summary_is_stable_across_resyncs() -> None:
    conds = set_condition([], "Stored", "True", "Stored", "", 1, T0)
    once = ready_summary(conds, ["Stored"], 1, T0)
    assert ready_summary(once, ["Stored"], 1, T1) == once
