"""The local GitOps mode on a real Postgres and chDB: examples Ready, steady state quiet, edits bump the
generation, rejections shaped like the API server's, prune, the storage step only where ClickHouse is."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from otelguard.controllers import ready_condition
from otelguard.local.gitops import APPLY_SOURCE, STORAGE_BY_UP, GitOpsLoop, Reconciler, source_of
from otelguard.local.manifests import load_manifests
from otelguard.storage import postgres
from otelguard.storage.clickhouse.chdb_transport import ChdbTransport
from otelguard.storage.postgres import Database

EXAMPLES = Path(__file__).parents[3] / "examples" / "manifests"
NS = "otelguard"
INVALID = """\
apiVersion: otelguard.io/v1alpha1
kind: GuardrailPolicy
metadata: {name: too-high, namespace: otelguard}
spec:
  stages: [input]
  rules: [{name: pii, validator: pii, threshold: 1.5}]
---
apiVersion: otelguard.io/v1alpha1
kind: GuardrailPolicy
metadata: {name: block-first, namespace: otelguard}
spec:
  stages: [input]
  rules: [{name: pii, validator: pii, onFail: [{type: block}, {type: alert}]}]
"""


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, 12, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    out = tmp_path / "manifests"
    shutil.copytree(EXAMPLES, out)
    return out


@pytest.fixture
def reconciler(db: Database, chdb: ChdbTransport) -> Iterator[Reconciler]:
    yield Reconciler(db, storage=chdb, clock=Clock())


def ready(db: Database, kind: str, name: str, namespace: str = NS) -> tuple[str, str, str]:
    obj = postgres.get_local_object(db, kind, namespace, name)
    assert obj is not None, f"{kind} {name} not stored"
    cond = ready_condition(obj.status)
    assert cond is not None
    return cond.status, cond.reason, cond.message


def audit_rows(db: Database) -> int:
    with db.connection() as conn:
        row = conn.execute("SELECT count(*) FROM audit_log").fetchone()
    assert row is not None
    return int(row[0])


def versions(db: Database) -> list[tuple[str, str, int]]:
    return [(o.kind, o.name, o.resource_version) for o in postgres.list_local_objects(db)]


def test_examples_become_ready_and_a_resync_writes_nothing(reconciler: Reconciler, manifests: Path) -> None:
    db = reconciler.db
    first = reconciler.sync(load_manifests([manifests]), source=source_of(manifests))
    assert first.errors == [] and first.pruned == []
    assert {r.kind: r.action for r in first.results} == {
        "OTelGuard": "created", "GuardrailPolicy": "created", "Prompt": "created",
        "Evaluator": "created", "Dashboard": "created", "AlertRule": "created",
    }  # fmt: skip
    for result in first.results:
        assert result.ready is not None and result.ready.status == "True", result.ready_text
        assert result.ready.observed_generation == result.generation == 1
    assert ready(db, "OTelGuard", "otelguard")[1] == "Reconciled"
    assert ready(db, "Prompt", "support-triage")[2].startswith(
        "version 1 stored; labels: production=1, staging=1"
    )
    assert first.writes > 6
    assert {r.kind for r in postgres.list_resources(db)} == {
        "GuardrailPolicy", "Prompt", "Evaluator", "Dashboard", "AlertRule"
    }  # fmt: skip

    before, audits = versions(db), audit_rows(db)
    again = reconciler.sync(load_manifests([manifests]), source=source_of(manifests))
    assert [(r.action, r.writes, r.flipped) for r in again.results] == [("unchanged", 0, False)] * 6
    assert again.writes == 0
    assert versions(db) == before and audit_rows(db) == audits


def test_editing_a_prompt_bumps_generation_and_version_and_moves_latest(
    reconciler: Reconciler, manifests: Path
) -> None:
    db, source = reconciler.db, source_of(manifests)
    reconciler.sync(load_manifests([manifests]), source=source)
    path = manifests / "21-prompt.yaml"
    path.write_text(
        path.read_text().replace("Answer in {{ language }}.", "Answer briefly in {{ language }}.")
    )
    result = reconciler.sync(load_manifests([manifests]), source=source)
    (prompt,) = [r for r in result.results if r.kind == "Prompt"]
    assert (prompt.action, prompt.generation) == ("configured", 2)
    assert [r.action for r in result.results if r.kind != "Prompt"] == ["unchanged"] * 5
    assert postgres.get_prompt_labels(db, NS, "support-triage") == {"production": 1, "staging": 2}
    assert [v.version for v in postgres.list_prompt_versions(db, NS, "support-triage")] == [1, 2]
    obj = postgres.get_local_object(db, "Prompt", NS, "support-triage")
    assert obj is not None
    assert (obj.generation, obj.status["observedGeneration"], obj.status["currentVersion"]) == (2, 2, 2)
    assert obj.status["labels"] == {"production": 1, "staging": 2}

    # metadata only (labels): reconciled, stored, but the generation stays
    text = path.read_text().replace(
        "  namespace: otelguard\n", "  namespace: otelguard\n  labels: {team: support}\n"
    )
    path.write_text(text)
    (relabeled,) = [
        r for r in reconciler.sync(load_manifests([manifests]), source=source).results if r.kind == "Prompt"
    ]
    assert (relabeled.action, relabeled.generation) == ("configured", 2)
    row = postgres.get_resource(db, "Prompt", NS, "support-triage")
    assert row is not None and row.labels == {"team": "support"}


def test_rejected_manifests_are_stored_with_the_api_servers_message(
    reconciler: Reconciler, manifests: Path
) -> None:
    db, source = reconciler.db, source_of(manifests)
    (manifests / "30-invalid.yaml").write_text(INVALID)
    result = reconciler.sync(load_manifests([manifests]), source=source)
    assert result.errors == []
    assert ready(db, "GuardrailPolicy", "too-high") == (
        "False",
        "InvalidSpec",
        'GuardrailPolicy.otelguard.io "too-high" is invalid: spec.rules[0].threshold: Invalid value: 1.5: '
        "spec.rules[0].threshold in body should be less than or equal to 1",
    )
    assert ready(db, "GuardrailPolicy", "block-first") == (
        "False",
        "InvalidSpec",
        'GuardrailPolicy.otelguard.io "block-first" is invalid: spec.rules[0].onFail: Invalid value: '
        "block ends the chain: it may appear once, as the last action",
    )
    assert postgres.get_resource(db, "GuardrailPolicy", NS, "too-high") is None  # never stored as config
    rejected = {r.name: r.rejected for r in result.results if r.rejected}
    assert set(rejected) == {"too-high", "block-first"}

    # a valid policy turned invalid keeps its configuration row (the API server keeps the old object)
    path = manifests / "20-guardrailpolicy.yaml"
    good = postgres.get_resource(db, "GuardrailPolicy", NS, "support-bot-safety")
    path.write_text(path.read_text().replace("threshold: 0.6", "threshold: 6"))
    reconciler.sync(load_manifests([manifests]), source=source)
    assert ready(db, "GuardrailPolicy", "support-bot-safety")[:2] == ("False", "InvalidSpec")
    assert postgres.get_resource(db, "GuardrailPolicy", NS, "support-bot-safety") == good
    obj = postgres.get_local_object(db, "GuardrailPolicy", NS, "support-bot-safety")
    assert obj is not None and obj.generation == 2 and obj.status["compiledVersion"] == 1

    # fixed again: Ready flips back, and the same compiled content keeps version 1
    path.write_text(path.read_text().replace("threshold: 6", "threshold: 0.6"))
    fixed = reconciler.sync(load_manifests([manifests]), source=source)
    (policy,) = [r for r in fixed.results if r.name == "support-bot-safety"]
    assert policy.flipped and policy.ready is not None and policy.ready.status == "True"
    assert policy.generation == 3


def test_removed_manifests_are_pruned_with_their_rows(reconciler: Reconciler, manifests: Path) -> None:
    db, source = reconciler.db, source_of(manifests)
    reconciler.sync(load_manifests([manifests]), source=source)
    (manifests / "21-prompt.yaml").unlink()
    (manifests / "24-alertrule.yaml").unlink()
    result = reconciler.sync(load_manifests([manifests]), source=source)
    assert sorted((r.kind, r.action) for r in result.pruned) == [
        ("AlertRule", "deleted"),
        ("Prompt", "deleted"),
    ]
    assert postgres.get_local_object(db, "Prompt", NS, "support-triage") is None
    assert postgres.get_resource(db, "Prompt", NS, "support-triage") is None
    assert postgres.list_prompt_versions(db, NS, "support-triage") == []
    assert postgres.get_resource(db, "AlertRule", NS, "gpt4o-latency") is None
    assert postgres.get_resource(db, "Dashboard", NS, "llm-overview") is not None


def test_no_prune_while_anything_failed_to_load_nor_to_empty(reconciler: Reconciler, manifests: Path) -> None:
    db, source = reconciler.db, source_of(manifests)
    reconciler.sync(load_manifests([manifests]), source=source)
    (manifests / "24-alertrule.yaml").unlink()
    (manifests / "21-prompt.yaml").write_text("spec: [unclosed\n")  # an editor mid-write, say
    result = reconciler.sync(load_manifests([manifests]), source=source)
    assert result.pruned == [] and len(result.errors) == 1
    assert "not pruning 2 object(s)" in result.notes[-1]
    assert postgres.get_resource(db, "AlertRule", NS, "gpt4o-latency") is not None

    for path in manifests.iterdir():
        path.unlink()
    empty = reconciler.sync(load_manifests([manifests]), source=source)
    assert empty.pruned == [] and "not pruning all 6" in empty.notes[-1]
    assert len(postgres.list_local_objects(db)) == 6


def test_objects_of_other_sources_are_not_pruned(
    reconciler: Reconciler, manifests: Path, tmp_path: Path
) -> None:
    db = reconciler.db
    other = tmp_path / "other.yaml"
    other.write_text((EXAMPLES / "23-dashboard.yaml").read_text().replace("llm-overview", "mine"))
    (applied,) = load_manifests([other]).manifests
    assert reconciler.apply(applied, source=APPLY_SOURCE).action == "created"
    (manifests / "23-dashboard.yaml").unlink()
    reconciler.sync(load_manifests([manifests]), source=source_of(manifests))
    assert {o.name for o in postgres.list_local_objects(db, "Dashboard")} == {"mine"}


def test_without_clickhouse_the_storage_step_waits_for_otelguard_up(
    db: Database, chdb: ChdbTransport, manifests: Path
) -> None:
    apply_side = Reconciler(db, clock=Clock())  # `otelguard apply`: no ClickHouse in this process
    (otelguard,) = [m for m in load_manifests([manifests]).manifests if m.kind == "OTelGuard"]
    result = apply_side.apply(otelguard, source=APPLY_SOURCE)
    assert result.ready is not None
    assert (result.ready.status, result.ready.reason, result.ready.message) == (
        "Unknown",
        "Pending",
        STORAGE_BY_UP,
    )
    assert apply_side.apply(otelguard, source=APPLY_SOURCE).writes == 0
    stored = postgres.get_local_object(db, "OTelGuard", NS, "otelguard")
    assert stored is not None and not apply_side.needs_storage(stored)

    up_side = Reconciler(db, storage=chdb, clock=Clock())  # `otelguard up`
    assert up_side.needs_storage(stored)
    done = up_side.reconcile_stored(stored)
    assert done.ready is not None and done.ready.status == "True" and done.flipped
    assert ready(db, "OTelGuard", "otelguard")[:2] == ("True", "Reconciled")
    stored = postgres.get_local_object(db, "OTelGuard", NS, "otelguard")
    assert stored is not None and not up_side.needs_storage(stored)
    rows = chdb.query(
        "SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = 'spans'",
        {"db": chdb.database},
    )
    assert "toIntervalDay(30)" in str(rows[0]["engine_full"])
    # `otelguard apply` of the unchanged manifest keeps what `up` decided
    assert apply_side.apply(otelguard, source=APPLY_SOURCE).ready == done.ready


def test_delete_removes_rows_and_object(reconciler: Reconciler, manifests: Path) -> None:
    db = reconciler.db
    reconciler.sync(load_manifests([manifests]), source=source_of(manifests))
    deleted = reconciler.delete("Prompt", NS, "support-triage")
    assert deleted is not None and deleted.action == "deleted" and deleted.writes == 2
    assert deleted.source == source_of(manifests)
    assert reconciler.delete("Prompt", NS, "support-triage") is None
    assert postgres.get_resource(db, "Prompt", NS, "support-triage") is None


def test_the_loop_follows_file_changes(reconciler: Reconciler, manifests: Path) -> None:
    loop = GitOpsLoop(reconciler, manifests, settle=0.01, resync=3600)
    first = loop.sync(quiet=True)
    assert first is not None and len(first.results) == 6
    assert loop.tick() is None  # nothing changed, no resync due
    (manifests / "23-dashboard.yaml").unlink()
    changed = loop.tick()
    assert changed is not None and [r.name for r in changed.pruned] == ["llm-overview"]
    assert changed.writes == 2 + 0  # the pruned rows; everything else unchanged
    assert loop.tick() is None


def test_a_concurrent_write_between_read_and_write_is_retried(db: Database, manifests: Path) -> None:
    (dashboard,) = [m for m in load_manifests([manifests]).manifests if m.kind == "Dashboard"]
    Reconciler(db).apply(dashboard, source=APPLY_SOURCE)
    calls: list[int] = []

    def clock() -> datetime:  # runs after the object was read: another process writes just then
        calls.append(1)
        if len(calls) == 1:
            obj = postgres.get_local_object(db, "Dashboard", NS, "llm-overview")
            assert obj is not None
            postgres.put_local_object(
                db, kind=obj.kind, namespace=obj.namespace, name=obj.name, generation=obj.generation,
                manifest=obj.manifest, status=obj.status, source="elsewhere",
                expected_version=obj.resource_version,
            )  # fmt: skip
        return datetime.now(UTC)

    result = Reconciler(db, clock=clock).apply(dashboard, source=APPLY_SOURCE)
    assert len(calls) == 2 and result.writes == 1
    stored = postgres.get_local_object(db, "Dashboard", NS, "llm-overview")
    assert stored is not None and stored.source == APPLY_SOURCE


def test_the_loop_without_a_path_finishes_what_apply_started_and_stops_on_request(
    db: Database, chdb: ChdbTransport, manifests: Path
) -> None:
    apply_side = Reconciler(db)
    for manifest in load_manifests([manifests]).manifests:
        apply_side.apply(manifest, source=APPLY_SOURCE)
    assert ready(db, "OTelGuard", "otelguard")[:2] == ("Unknown", "Pending")
    before = versions(db)
    loop = GitOpsLoop(Reconciler(db, storage=chdb), None, interval=0.05, resync=3600)
    assert loop.tick() is None  # the first tick resyncs every stored object
    assert ready(db, "OTelGuard", "otelguard")[:2] == ("True", "Reconciled")
    changed = [name for (_, name, v), (_, _, w) in zip(before, versions(db), strict=True) if v != w]
    assert changed == ["otelguard"]  # the others were already up to date: nothing written

    async def run_briefly() -> float:
        stop = asyncio.Event()
        task = asyncio.create_task(loop.run(stop))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        stop.set()
        await asyncio.wait_for(task, timeout=5)
        return time.monotonic() - started

    assert asyncio.run(run_briefly()) < 1.0
