"""Includes checked at reconcile, against a real Postgres: the Prompt controller's plan, ``apply_db`` (which
resolves includes in the prompt store) and the status. Missing prompts, labels and versions and include
cycles make Ready False with a clear message; the version is stored anyway and becomes Ready once what
it includes exists."""

from __future__ import annotations

from typing import Any

from otelguard.controllers import CONTROLLERS, Applied, apply_db
from otelguard.storage.postgres import Database, get_prompt_version
from unit.controllers.ctl_support import T0, make_input, ready


def prompt(name: str, template: str, generation: int = 1, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "otelguard.io/v1alpha1",
        "kind": "Prompt",
        "metadata": {"name": name, "namespace": "team-a", "generation": generation, "uid": f"uid-{name}"},
        "spec": {
            "template": template,
            "variables": [{"name": "team", "default": "docs"}],
            "labels": labels or {"production": "latest"},
        },
    }


def reconcile(db: Database, obj: dict[str, Any]) -> tuple[Applied, tuple[str, str, str]]:
    inp = make_input(obj, now=T0)
    controller = CONTROLLERS["Prompt"]
    desired = controller.plan(inp)
    applied = apply_db(db, desired)
    return applied, ready(controller.status(inp, desired, applied))


def test_a_missing_include_is_not_ready_until_it_exists(db: Database) -> None:
    summary = prompt("summary", 'Summary\n{% include "prompt:footer@production" %}')
    applied, state = reconcile(db, summary)
    assert state == (
        "False",
        "IncludeNotFound",
        "spec.template: prompt:footer@production: no prompt 'footer' with label 'production'",
    )
    assert applied.version == 1  # stored anyway: includes resolve at render time
    assert get_prompt_version(db, "team-a", "summary", label="production") is not None

    # The footer exists, but without that label; then with it.
    _, state = reconcile(db, prompt("footer", "-- {{ team }}", staging="latest"))
    assert state[0] == "True"
    assert reconcile(db, summary)[1][1] == "IncludeNotFound"
    reconcile(db, prompt("footer", "-- {{ team }}", generation=2, production="latest"))
    applied, state = reconcile(db, summary)
    assert state[:2] == ("True", "Stored") and applied.writes == 0

    # A version that does not exist; a prompt in another namespace does not count.
    pinned = prompt("summary", '{% include "prompt:footer@7" %}', generation=2)
    assert reconcile(db, pinned)[1][1:] == (
        "IncludeNotFound",
        "spec.template: prompt:footer@7: no prompt 'footer' with version 7",
    )
    elsewhere = prompt("lonely", '{% include "prompt:footer@production" %}')
    elsewhere["metadata"]["namespace"] = "team-b"
    assert reconcile(db, elsewhere)[1][1] == "IncludeNotFound"


def test_include_cycles_are_not_ready(db: Database) -> None:
    a = prompt("alpha", 'A {% include "prompt:beta@production" %}')
    assert reconcile(db, a)[1][1] == "IncludeNotFound"  # beta is not there yet
    beta = prompt("beta", 'B {% include "prompt:alpha@production" %}')
    _, state = reconcile(db, beta)
    assert state == (
        "False",
        "IncludeCycle",
        "spec.template: include cycle: prompt:beta@1 -> prompt:alpha@production (version 1) -> "
        "prompt:beta@production (version 1)",
    )
    assert reconcile(db, a)[1][1] == "IncludeCycle"  # the next reconcile of alpha sees it too

    # Including itself, by a version number.
    selfish = prompt("gamma", 'G {% include "prompt:gamma@1" %}')
    assert reconcile(db, selfish)[1][:2] == ("False", "IncludeCycle")

    # Breaking the cycle makes both Ready again.
    reconcile(db, prompt("beta", "B, standalone", generation=2))
    assert reconcile(db, a)[1][0] == "True"


def test_unknown_label_version_and_missing_include_are_both_reported(db: Database) -> None:
    obj = prompt("delta", '{% include "prompt:nope@production" %}', production="4")
    applied, (state, reason, message) = reconcile(db, obj)
    assert (state, reason) == ("False", "UnknownVersion")
    assert "production -> 4" in message and "prompt:nope@production: no prompt 'nope'" in message
    assert applied.version == 1


def test_template_checks_come_from_the_engine_before_anything_is_stored(db: Database) -> None:
    bad = prompt("epsilon", "{{ team }} {{ ''.__class__ }} {{ missing }}")
    applied, (state, reason, message) = reconcile(db, bad)
    assert (state, reason) == ("False", "UndefinedVariable")
    assert message == (
        "spec.template: line 1, column 34: variable 'missing' is used but not declared in spec.variables; "
        "spec.template: line 1, column 18: access to '__class__' is not allowed (names starting with '_' "
        "are private)"
    )
    assert applied.version is None and get_prompt_version(db, "team-a", "epsilon", version=1) is None
