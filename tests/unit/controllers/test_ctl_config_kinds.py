"""Evaluator, Dashboard and AlertRule controllers: semantic checks, rows, status."""

from __future__ import annotations

import pytest

from otelguard.controllers import Applied
from unit.controllers.ctl_support import T1, condition, edited, manifest, ready, reconcile

# -- Evaluator ----------------------------------------------------------------------------------------------


def test_evaluator_example_is_stored_and_says_workers_score_it() -> None:
    desired, status = reconcile(manifest("evaluator"), Applied(version=1))
    assert desired.db is not None and desired.db.row.spec["kind"] == "llm-judge"
    assert ready(status) == (
        "True",
        "Stored",
        "stored as version 1; eval workers score sampled matching spans as they are ingested",
    )


def test_evaluator_keeps_the_workers_counters() -> None:
    previous = {"scoredSpans": 1200, "errors": 3, "judgeCostUsd": 0.42, "lastRun": "2025-01-01T11:00:00Z"}
    _, status = reconcile(manifest("evaluator"), Applied(version=1), status=previous, now=T1)
    assert {k: status[k] for k in previous} == previous


def test_judge_template_may_use_only_the_judge_context() -> None:
    obj = manifest("evaluator")
    del obj["spec"]["judge"]["builtinTemplate"]
    obj["spec"]["judge"]["template"] = "Rate {{ output }} for {{ input }} given {{ context }}: {{ rubric }}"
    _, status = reconcile(obj)
    state, reason, message = ready(status)
    assert (state, reason) == ("False", "UndefinedVariable")
    assert message == (
        "spec.judge.template: line 1, column 59: variable 'rubric' is used but not declared "
        "in the judge context"
    )


@pytest.mark.parametrize(
    ("heuristic", "reason", "message"),
    [
        (
            {"type": "regex", "params": {"pattern": "[a-"}},
            "InvalidPattern",
            "spec.heuristic.params.pattern: invalid regular expression '[a-': unterminated character set "
            "at position 0",
        ),
        ({"type": "regex", "params": {"flags": "i"}}, "InvalidParams", "needs params.pattern"),
        ({"type": "json-schema", "params": {"schema": {"type": 5}}}, "InvalidParams", "invalid JSON Schema"),
        (
            {"type": "length", "params": {"min": 10, "max": 2}},
            "InvalidParams",
            "min 10 is greater than max 2",
        ),
        ({"type": "length", "params": {"min": "3"}}, "InvalidParams", "params.min must be an integer"),
    ],
)
def test_heuristic_parameters(heuristic: dict[str, object], reason: str, message: str) -> None:
    obj = manifest("evaluator")
    obj["spec"].update(kind="heuristic", heuristic=heuristic)
    del obj["spec"]["judge"]
    _, status = reconcile(obj)
    state, got_reason, got = ready(status)
    assert (state, got_reason) == ("False", reason)
    assert message in got


def test_guardrail_validator_evaluators_use_the_validator_registry() -> None:
    obj = manifest("evaluator")
    obj["spec"].update(kind="guardrail-validator", validator={"name": "pii-detector"})
    del obj["spec"]["judge"]
    _, status = reconcile(obj)
    assert ready(status)[1] == "UnknownValidator"
    obj["spec"]["validator"] = {"name": "prompt-injection"}
    _, status = reconcile(obj, Applied(version=1))
    assert ready(status)[0] == "True"


def test_suspended_evaluator() -> None:
    _, status = reconcile(edited(manifest("evaluator"), "spec.suspend", True), Applied(version=1))
    assert ready(status)[:2] == ("True", "Suspended")


# -- Dashboard ----------------------------------------------------------------------------------------------


def test_dashboard_example_counts_widgets() -> None:
    _, status = reconcile(manifest("dashboard"), Applied(version=1))
    assert status["widgetCount"] == 5
    assert ready(status) == (
        "True",
        "Stored",
        "stored with 5 widgets; not shown yet: this OTelGuard release has no dashboards API or page",
    )


def test_dimension_that_the_metric_lacks() -> None:
    obj = edited(manifest("dashboard"), "spec.widgets.1.dimensions", ["model", "score_name"])
    obj = edited(
        obj, "spec.widgets.2.filters", [{"field": "policy", "operator": "eq", "values": ["pii"]}], bump=False
    )
    desired, status = reconcile(obj)
    assert desired.db is None
    assert ready(status) == (
        "False",
        "InvalidSpec",
        "spec.widgets[1].dimensions[1]: score_name exists only for metric score, not latency; "
        "spec.widgets[2].filters[0].field: policy exists only for metric guardrail_events, not cost",
    )


@pytest.mark.parametrize(
    ("bucket", "message"),
    [
        ("30d", "spec.widgets[1].timeBucket: 30d is wider than the time range 7d"),
        (
            "1m",
            "spec.widgets[1].timeBucket: 7d in 1m buckets is 10080 points per series; use a bucket of at "
            "least 605s (at most 1000 points)",
        ),
    ],
)
def test_time_bucket_against_the_time_range(bucket: str, message: str) -> None:
    _, status = reconcile(edited(manifest("dashboard"), "spec.widgets.1.timeBucket", bucket))
    assert ready(status) == ("False", "InvalidSpec", message)


def test_overlapping_widgets() -> None:
    obj = edited(
        manifest("dashboard"), "spec.widgets.2.position", {"column": 2, "row": 1, "width": 3, "height": 2}
    )
    _, status = reconcile(obj)
    assert ready(status) == (
        "False",
        "InvalidSpec",
        "spec.widgets[0] and spec.widgets[2] overlap on the grid; "
        "spec.widgets[1] and spec.widgets[2] overlap on the grid",
    )


# -- AlertRule ----------------------------------------------------------------------------------------------


def test_alert_rule_example_is_stored_without_claiming_a_state() -> None:
    _, status = reconcile(manifest("alertrule"), Applied(version=1))
    assert "state" not in status
    assert ready(status) == (
        "True",
        "Stored",
        "stored as version 1; not evaluated yet: this OTelGuard release has no alert evaluator",
    )


def test_alert_rule_keeps_the_evaluators_state() -> None:
    previous = {"state": "firing", "lastValue": 6123.0, "lastFired": "2025-01-01T11:50:00Z"}
    _, status = reconcile(manifest("alertrule"), Applied(version=1), status=previous, now=T1)
    assert {k: status[k] for k in previous} == previous


def test_alert_rule_durations_and_dimensions() -> None:
    obj = edited(manifest("alertrule"), "spec.for", "60w")
    obj = edited(obj, "spec.query.filters.0.field", "validator", bump=False)
    _, status = reconcile(obj)
    state, reason, message = ready(status)
    assert (state, reason) == ("False", "InvalidSpec")
    assert message == (
        "spec.query.filters[0].field: validator exists only for metric guardrail_events, not latency; "
        "spec.for: 60w is longer than 366 days"
    )


def test_suspended_alert_rule() -> None:
    _, status = reconcile(edited(manifest("alertrule"), "spec.suspend", True), Applied(version=1))
    assert ready(status)[:2] == ("True", "Suspended")
    assert condition(status, "Suspended") is not None
