"""`otelguard up --manifests DIR` end to end: a real `otelguard up` process watching a directory, and
`otelguard get` / `otelguard apply` as separate processes, as a person would use them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import polling
from otelguard.local.stores import open_postgres
from otelguard.settings import Settings
from otelguard.storage import postgres
from platform_process import Platform

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
metadata: {name: ingest-blocks, namespace: otelguard}
spec:
  stages: [ingest]
  rules: [{name: pii, validator: pii, onFail: [{type: block}]}]
"""

pytestmark = pytest.mark.slow


def otelguard(platform: Platform, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "otelguard.cli", *args, "--data-dir", str(platform.data_dir)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def get(platform: Platform, *args: str) -> dict[str, Any]:
    done = otelguard(platform, "get", *args, "-o", "json")
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def ready(obj: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in obj["status"]["conditions"] if c["type"] == "Ready")


def wait_for(what: str, check: Callable[[], bool], timeout_s: float = 30.0) -> None:
    polling.eventually(check, timeout_s, what=what)


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    root = tmp_path_factory.mktemp("gitops-up")
    manifests = root / "manifests"
    shutil.copytree(EXAMPLES, manifests)
    running = Platform(root / "data", manifests=manifests)
    running.start()
    yield running
    if running.proc is not None:  # a test failed before the graceful stop: stop its Postgres too
        try:
            running.stop(30)
        except subprocess.TimeoutExpired:
            running.kill()


def test_every_example_is_ready_when_up_is_ready(up: Platform) -> None:
    items = get(up, "all")["items"]
    assert sorted(i["kind"] for i in items) == [
        "AlertRule", "Dashboard", "Evaluator", "GuardrailPolicy", "OTelGuard", "Prompt"
    ]  # fmt: skip
    for item in items:
        cond = ready(item)
        assert cond["status"] == "True", (item["kind"], cond)
        assert cond["observedGeneration"] == item["metadata"]["generation"] == 1
    assert "manifests: " in up.logs() and "Prompt otelguard/support-triage: Ready=True Stored" in up.logs()

    table = otelguard(up, "get", "gpol").stdout.splitlines()
    assert table[0].split() == ["NAMESPACE", "NAME", "MODE", "PRIORITY", "READY", "REASON", "AGE"]
    assert table[1].split()[:6] == [NS, "support-bot-safety", "enforce", "100", "True", "Stored"]


def test_steady_state_writes_nothing(up: Platform) -> None:
    with open_postgres(Settings(data_dir=up.data_dir)) as db:

        def fingerprint() -> tuple[list[tuple[str, int]], int]:
            objs = [(o.name, o.resource_version) for o in postgres.list_local_objects(db)]
            with db.connection() as conn:
                row = conn.execute("SELECT count(*) FROM audit_log").fetchone()
            assert row is not None
            return objs, int(row[0])

        before = fingerprint()
        time.sleep(2.5)  # a couple of polls of the watched directory
        assert fingerprint() == before


def test_editing_a_prompt_creates_a_version_and_moves_the_label(up: Platform) -> None:
    assert up.manifests is not None
    path = up.manifests / "21-prompt.yaml"
    path.write_text(
        path.read_text().replace("Answer in {{ language }}.", "Answer briefly in {{ language }}.")
    )
    wait_for(
        "generation 2 reconciled",
        lambda: get(up, "prompt", "support-triage")["status"].get("observedGeneration") == 2,
    )
    prompt = get(up, "pmpt", "support-triage", "-n", NS)
    assert prompt["metadata"]["generation"] == 2
    assert prompt["status"]["currentVersion"] == 2
    assert prompt["status"]["labels"] == {"production": 1, "staging": 2}
    assert ready(prompt)["message"].startswith("version 2 stored; labels: production=1, staging=2")
    assert "Prompt otelguard/support-triage configured (generation 2): Ready=True" in up.logs()


def test_invalid_policies_are_rejected_like_the_api_server_and_serving_goes_on(up: Platform) -> None:
    assert up.manifests is not None
    (up.manifests / "30-invalid.yaml").write_text(INVALID)

    def both_rejected() -> bool:
        names = {i["metadata"]["name"] for i in get(up, "gpol")["items"]}
        return {"too-high", "ingest-blocks"} <= names

    wait_for("the invalid policies", both_rejected)
    too_high = ready(get(up, "gpol", "too-high"))
    assert (too_high["status"], too_high["reason"]) == ("False", "InvalidSpec")
    assert too_high["message"] == (
        'GuardrailPolicy.otelguard.io "too-high" is invalid: spec.rules[0].threshold: Invalid value: 1.5: '
        "spec.rules[0].threshold in body should be less than or equal to 1"
    )
    ingest = ready(get(up, "gpol", "ingest-blocks"))
    assert ingest["message"] == (
        'GuardrailPolicy.otelguard.io "ingest-blocks" is invalid: spec.rules: Invalid value: '
        "the ingest stage can only sanitize or alert: remove other actions or the ingest stage"
    )
    assert "WARNING otelguard.local.gitops: GuardrailPolicy otelguard/too-high created" in up.logs()
    assert httpx.get(f"{up.api_url}/readyz", timeout=5).status_code == 200
    assert up.get("/api/v1/traces").status_code == 200
    assert ready(get(up, "gpol", "support-bot-safety"))["status"] == "True"


def test_removing_a_file_prunes_the_object_and_its_rows(up: Platform) -> None:
    assert up.manifests is not None
    (up.manifests / "24-alertrule.yaml").unlink()
    wait_for(
        "the AlertRule to be pruned",
        lambda: otelguard(up, "get", "alertrules", "gpt4o-latency").returncode == 1,
    )
    with open_postgres(Settings(data_dir=up.data_dir)) as db:
        assert postgres.get_resource(db, "AlertRule", NS, "gpt4o-latency") is None
        assert postgres.get_resource(db, "Dashboard", NS, "llm-overview") is not None
    assert "AlertRule otelguard/gpt4o-latency pruned" in up.logs()


def test_otelguard_apply_in_another_process_gets_the_storage_step_from_up(
    up: Platform, tmp_path: Path
) -> None:
    other = tmp_path / "team-b.yaml"
    other.write_text(
        (EXAMPLES / "10-otelguard.yaml").read_text().replace("namespace: otelguard", "namespace: team-b")
    )
    applied = otelguard(up, "apply", "-f", str(other))
    assert applied.returncode == 0, applied.stderr
    assert "otelguard.otelguard.io/otelguard created" in applied.stdout
    assert (
        "Ready=Unknown Pending: the ClickHouse schema and retention are applied by `otelguard up`"
        in applied.stdout
    )
    wait_for(
        "up to run the storage step",
        lambda: ready(get(up, "otg", "otelguard", "-n", "team-b"))["status"] == "True",
    )
    deleted = otelguard(up, "delete", "otg", "otelguard", "-n", "team-b")
    assert deleted.returncode == 0 and 'otelguard.otelguard.io "otelguard" deleted' in deleted.stdout


def test_up_stops_cleanly(up: Platform) -> None:
    assert up.stop() == 0
    assert "stopped" in up.logs()
