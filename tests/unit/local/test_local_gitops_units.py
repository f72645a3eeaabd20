"""The local GitOps mode without a database: dry runs, what bumps the generation, the StorageReady wait,
file snapshots."""

from __future__ import annotations

import copy
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from otelguard.api.v1alpha1 import Condition
from otelguard.controllers import ready_condition
from otelguard.local.gitops import STORAGE_BY_UP, _awaiting_up, _clean, _spec_part, dry_run, snapshot
from otelguard.local.manifests import Manifest, Origin

EXAMPLES = Path(__file__).parents[3] / "examples" / "manifests"
NOW = datetime(2025, 1, 1, 12, tzinfo=UTC)


def example(file: str) -> dict[str, Any]:
    return dict(yaml.safe_load((EXAMPLES / file).read_text()))


def manifest(body: dict[str, Any]) -> Manifest:
    meta = body["metadata"]
    return Manifest(
        body["kind"], meta.get("namespace", "default"), meta["name"], body, Origin(Path("x.yaml"), 1)
    )


def test_dry_run_accepts_every_example() -> None:
    for file in sorted(EXAMPLES.glob("[12]*.yaml")):
        assert dry_run(manifest(example(file.name)), now=NOW).ok, file


def test_dry_run_reports_schema_and_cel_rejections_as_the_api_server() -> None:
    body = example("20-guardrailpolicy.yaml")
    body["spec"]["rules"][0]["threshold"] = 1.5
    verdict = dry_run(manifest(body), now=NOW)
    assert verdict.rejected == (
        'GuardrailPolicy.otelguard.io "support-bot-safety" is invalid: spec.rules[0].threshold: '
        "Invalid value: 1.5: spec.rules[0].threshold in body should be less than or equal to 1"
    )
    body = example("20-guardrailpolicy.yaml")
    body["spec"]["rules"][1]["onFail"].reverse()  # block no longer last: a CEL rule
    assert dry_run(manifest(body), now=NOW).rejected == (
        'GuardrailPolicy.otelguard.io "support-bot-safety" is invalid: spec.rules[1].onFail: Invalid value: '
        "block ends the chain: it may appear once, as the last action"
    )
    body = example("20-guardrailpolicy.yaml")
    body["spec"]["color"] = "red"
    assert 'strict decoding error: unknown field "spec.color"' in str(dry_run(manifest(body)).rejected)


def test_dry_run_reports_what_the_controller_would_make_ready_false() -> None:
    body = example("20-guardrailpolicy.yaml")
    body["spec"]["rules"][0]["validator"] = "no-such-validator"
    verdict = dry_run(manifest(body), now=NOW)
    assert verdict.rejected is None
    assert str(verdict.failure).startswith("UnknownValidator: spec.rules[0] (pii): unknown validator")


def test_server_fields_are_dropped_and_only_non_metadata_changes_bump_the_generation() -> None:
    body = example("21-prompt.yaml")
    exported = copy.deepcopy(body)
    exported["metadata"].update(generation=7, uid="u", resourceVersion="9", creationTimestamp=None)
    exported["status"] = {"currentVersion": 4}
    assert _clean(exported) == body
    relabeled = copy.deepcopy(body)
    relabeled["metadata"]["labels"] = {"team": "support"}
    assert _spec_part(relabeled) == _spec_part(body)
    edited = copy.deepcopy(body)
    edited["spec"]["tags"] = ["x"]
    assert _spec_part(edited) != _spec_part(body)


def conditions(status: dict[str, Any]) -> dict[str, Condition]:
    return {c["type"]: Condition.model_validate(c) for c in status["conditions"]}


def test_storage_ready_waits_for_otelguard_up_unless_decided_for_this_generation() -> None:
    waiting = _awaiting_up({}, 1, NOW)
    cond = conditions(waiting)["StorageReady"]
    assert (cond.status, cond.reason, cond.message, cond.observed_generation) == (
        "Unknown",
        "Pending",
        STORAGE_BY_UP,
        1,
    )
    later = datetime(2025, 1, 2, tzinfo=UTC)
    assert _awaiting_up(waiting, 1, later) == waiting  # same transition time: nothing to write
    cond = {"type": "StorageReady", "status": "True", "reason": "SchemaApplied", "message": "ok"}
    applied = {
        "conditions": [{**cond, "observedGeneration": 1, "lastTransitionTime": "2025-01-01T12:00:00Z"}]
    }
    assert _awaiting_up(applied, 1, later) == applied
    stale = conditions(_awaiting_up(applied, 2, later))["StorageReady"]
    assert (stale.status, stale.observed_generation, stale.last_transition_time) == ("Unknown", 2, later)
    assert ready_condition(waiting) is None  # Ready is the controller's to write


def test_snapshot_sees_edits_additions_and_removals(tmp_path: Path) -> None:
    assert snapshot(tmp_path / "missing") == frozenset()
    a = tmp_path / "a.yaml"
    a.write_text("x: 1\n")
    first = snapshot(tmp_path)
    assert snapshot(tmp_path) == first
    os.utime(a, ns=(1, 1))
    touched = snapshot(tmp_path)
    assert touched != first
    (tmp_path / "b.yaml").write_text("")
    (tmp_path / "ignored.txt").write_text("")
    added = snapshot(tmp_path)
    assert len(added) == 2
    a.unlink()
    assert {Path(p).name for p, *_ in snapshot(tmp_path)} == {"b.yaml"}
