"""apply_db / delete_db against a real Postgres: idempotence, versions, prompt labels, deletion."""

from __future__ import annotations

import copy
import json
from typing import Any

import psycopg
import pytest

from otelguard.controllers import CONTROLLERS, GIT_REVISION_ANNOTATION, Applied, apply_db, delete_db
from otelguard.storage.postgres import (
    CONFIG_CHANNEL,
    Database,
    get_prompt_labels,
    get_prompt_version,
    get_resource,
    list_prompt_versions,
)
from unit.controllers.ctl_support import (
    KIND_FIXTURES,
    T0,
    T1,
    edited,
    make_input,
    manifest,
    ready,
)

ROW_KINDS = [k for k in KIND_FIXTURES if k != "OTelGuard"]
NS, PROMPT = "otelguard", "support-triage"


def reconcile(
    db: Database, obj: dict[str, Any], status: dict[str, Any] | None = None, now: Any = T0
) -> tuple[Applied, dict[str, Any]]:
    inp = make_input(obj, status=status, now=now)
    controller = CONTROLLERS[inp.kind]
    desired = controller.plan(inp)
    applied = apply_db(db, desired)
    return applied, controller.status(inp, desired, applied)


def prompt(**labels: Any) -> dict[str, Any]:
    obj = manifest("prompt")
    obj["spec"]["labels"] = labels
    return obj


def with_content(obj: dict[str, Any], text: str) -> dict[str, Any]:
    return edited(obj, "spec.messages.1.content", text)


@pytest.mark.parametrize("kind", ROW_KINDS)
def test_apply_is_idempotent_and_quiet(db: Database, kind: str) -> None:
    obj = manifest(KIND_FIXTURES[kind])
    if kind == "Prompt":
        obj["spec"]["labels"] = {"production": 1, "staging": "latest"}
    applied, status = reconcile(db, obj)
    assert applied.writes >= 1 and applied.failure is None
    assert ready(status)[0] == "True"
    again, status_again = reconcile(db, obj, status=status, now=T1)
    assert again.writes == 0
    assert status_again == status
    row = get_resource(db, kind, NS, obj["metadata"]["name"])
    assert row is not None and row.version == 1 and row.generation == 1


def test_policy_version_follows_compiled_content(db: Database) -> None:
    obj = manifest("guardrailpolicy")
    first, _ = reconcile(db, obj)
    assert first.version == 1
    # Same content under a new generation: the row records it, the version stays.
    regen = copy.deepcopy(obj)
    regen["metadata"]["generation"] = 2
    same, _ = reconcile(db, regen)
    assert (same.writes, same.version) == (1, 1)
    described, _ = reconcile(db, edited(regen, "spec.description", "reworded"))
    assert (described.writes, described.version) == (1, 1)
    changed, status = reconcile(db, edited(regen, "spec.rules.0.threshold", 0.9))
    assert (changed.writes, changed.version) == (1, 2)
    assert status["compiledVersion"] == 2
    # Only metadata labels change: rewritten for filtering, no new version.
    relabelled = edited(regen, "spec.rules.0.threshold", 0.9)
    relabelled["metadata"]["labels"] = {"team": "ml"}
    moved, _ = reconcile(db, relabelled)
    assert (moved.writes, moved.version) == (1, 2)
    stored = get_resource(db, "GuardrailPolicy", NS, "support-bot-safety")
    assert stored is not None and stored.labels == {"team": "ml"}
    assert stored.spec["rules"][1]["validator"] == "prompt_injection"


def test_invalid_specs_write_nothing(db: Database) -> None:
    obj = manifest("guardrailpolicy")
    reconcile(db, obj)
    applied, status = reconcile(db, edited(obj, "spec.rules.0.validator", "nope"))
    assert applied == Applied()
    assert ready(status)[:2] == ("False", "UnknownValidator")
    stored = get_resource(db, "GuardrailPolicy", NS, "support-bot-safety")
    assert stored is not None and stored.generation == 1


def test_prompt_versions_are_content_addressed(db: Database) -> None:
    v1 = prompt(staging="latest")
    a, _ = reconcile(db, v1)
    assert (a.version, a.labels) == (1, {"staging": 1})
    v2 = with_content(v1, "Ticket: {{ ticket }}")
    b, status = reconcile(db, v2)
    assert (b.version, b.labels) == (2, {"staging": 2})
    assert status["currentVersion"] == 2
    # Reverting to the first content reuses version 1: no third version.
    reverted = copy.deepcopy(v1)
    reverted["metadata"]["generation"] = 3
    c, status = reconcile(db, reverted)
    assert (c.version, c.labels) == (1, {"staging": 1})
    versions = list_prompt_versions(db, NS, PROMPT)
    assert [(v.version, v.created_generation) for v in versions] == [(1, 1), (2, 2)]
    assert versions[1].content["messages"][1]["content"] == "Ticket: {{ ticket }}"
    assert status["contentHash"] == versions[0].content_hash


def test_prompt_labels_move_and_pin(db: Database) -> None:
    v1 = prompt(production=1, staging="latest")
    reconcile(db, v1)
    v2 = with_content(v1, "Ticket: {{ ticket }}")
    v2["metadata"]["annotations"] = {GIT_REVISION_ANNOTATION: "9c0ffee"}
    applied, _ = reconcile(db, v2)
    assert applied.labels == {"production": 1, "staging": 2}
    # Promote: production moves to 2 (a git change), one label row written.
    promoted = edited(v2, "spec.labels", {"production": 2, "staging": "latest"})
    moved, status = reconcile(db, promoted)
    assert moved.writes == 2  # the resource row (spec changed) and the label
    assert status["labels"] == {"production": 2, "staging": 2}
    by_label = get_prompt_version(db, NS, PROMPT, label="production")
    assert by_label is not None and by_label.version == 2 and by_label.git_revision == "9c0ffee"
    # Roll back and drop staging.
    rolled = edited(promoted, "spec.labels", {"production": 1})
    back, _ = reconcile(db, rolled)
    assert back.labels == {"production": 1}
    assert get_prompt_labels(db, NS, PROMPT) == {"production": 1}
    with db.connection() as conn:
        actions = [
            (r[0], r[1]["label"], r[1].get("from"))
            for r in conn.execute(
                "SELECT action, detail FROM audit_log WHERE action LIKE 'prompt.label.%%' ORDER BY id"
            ).fetchall()
        ]
    assert actions == [
        ("prompt.label.move", "production", None),
        ("prompt.label.move", "staging", None),
        ("prompt.label.move", "staging", 1),
        ("prompt.label.move", "production", 1),
        ("prompt.label.move", "production", 2),
        ("prompt.label.delete", "staging", 2),
    ]


def test_label_on_a_missing_version_is_not_ready_and_left_alone(db: Database) -> None:
    applied, status = reconcile(db, prompt(production=1))
    assert applied.labels == {"production": 1}
    bad = edited(prompt(production=1), "spec.labels", {"production": 3, "staging": "latest"})
    applied, status = reconcile(db, bad, status=status, now=T1)
    assert applied.labels == {"production": 1, "staging": 1}
    state, reason, message = ready(status)
    assert (state, reason) == ("False", "UnknownVersion")
    assert message == (
        "spec.labels: no such version (production -> 3); versions 1-1 exist. The label is left where it was"
    )
    assert status["labels"] == {"production": 1, "staging": 1}
    # A resync of the same spec writes nothing.
    assert reconcile(db, bad, status=status, now=T1)[0].writes == 0


def test_delete_removes_every_row(db: Database) -> None:
    for kind in ROW_KINDS:
        reconcile(db, manifest(KIND_FIXTURES[kind]))
    reconcile(db, with_content(manifest("prompt"), "Ticket: {{ ticket }}"))
    for kind in ROW_KINDS:
        name = manifest(KIND_FIXTURES[kind])["metadata"]["name"]
        assert delete_db(db, kind, NS, name) == 1
        assert get_resource(db, kind, NS, name) is None
        assert delete_db(db, kind, NS, name) == 0
    assert list_prompt_versions(db, NS, PROMPT) == []
    with db.connection() as conn:
        counts = conn.execute("SELECT (SELECT count(*) FROM prompt_labels), (SELECT count(*) FROM resources)")
        assert counts.fetchone() == (0, 0)


def test_changes_are_announced_for_hot_reload(db: Database, pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as listener:
        listener.execute(f"LISTEN {CONFIG_CHANNEL}")
        obj = manifest("guardrailpolicy")
        reconcile(db, obj)
        reconcile(db, obj)  # unchanged: no notification
        delete_db(db, "GuardrailPolicy", NS, "support-bot-safety")
        payloads = [json.loads(n.payload) for n in listener.notifies(timeout=1.0, stop_after=2)]
    assert payloads == [
        {"kind": "GuardrailPolicy", "namespace": NS, "name": "support-bot-safety", "version": 1},
        {
            "kind": "GuardrailPolicy",
            "namespace": NS,
            "name": "support-bot-safety",
            "version": 1,
            "deleted": True,
        },
    ]
