"""The operator on the real test cluster, under the identity of the chart's ServiceAccount (its token), so
the chart's RBAC is proven sufficient.

helm install → operator live → apply examples → every resource Ready=True for its current generation →
children with the expected spec → edits reconciled (config hash rolls pods, new prompt version) → invalid
resources rejected by the API server → semantic errors reported as Ready=False with an Event → steady state
is quiet across an operator restart → delete: the finalizer removes the database rows.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import yaml
from kube_cluster import TestCluster
from operator_process import Operator, apiserver_writes, service_account_kubeconfig, wait_for

from otelguard.api.v1alpha1 import KINDS
from otelguard.local.embedded import EmbeddedPostgres

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "manifests"
RELEASE, SYSTEM_NS, NS = "otelguard", "otelguard-system", "otelguard"
PLURALS = [info.plural for info in KINDS]


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def get(k: TestCluster, plural: str, name: str | None = None) -> Any:
    args = ["get", plural, "-n", NS, "-o", "json"] + ([name] if name else [])
    return json.loads(ok(k.kubectl(*args)))


def ready(obj: dict[str, Any]) -> dict[str, Any] | None:
    status = obj.get("status") or {}
    if status.get("observedGeneration") != obj["metadata"]["generation"]:
        return None
    for cond in status.get("conditions", []):
        if cond["type"] == "Ready" and cond.get("observedGeneration") == obj["metadata"]["generation"]:
            return dict(cond)
    return None


@pytest.fixture(scope="module")
def env(kube_cluster: TestCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    k = kube_cluster
    tmp = tmp_path_factory.mktemp("operator-e2e")
    pg = EmbeddedPostgres()
    dsn = pg.start(tmp / "pg")
    ok(k.kubectl("apply", "-f", str(EXAMPLES / "00-namespace.yaml")))
    ok(k.helm("install", RELEASE, str(REPO / "charts" / "otelguard"), f"--namespace={SYSTEM_NS}",
              "--create-namespace", f"--set=rbac.secretNamespaces={{{NS}}}", "--timeout=120s"))  # fmt: skip
    kubeconfig = service_account_kubeconfig(k, SYSTEM_NS, "otelguard", tmp / "operator.kubeconfig")
    operator = Operator(k, kubeconfig, tmp, NS)
    operator.start()
    # The examples, pointed at stores that exist here: the test's Postgres and an embedded ClickHouse.
    docs = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc["kind"] == "Secret" and doc["metadata"]["name"] == "otelguard-postgres":
                doc["stringData"]["dsn"] = dsn
            if doc and doc["kind"] == "OTelGuard":
                doc["spec"]["storage"]["clickhouse"] = {
                    "url": f"chdb://{tmp / 'clickhouse'}",
                    "database": "otelguard",
                }
            if doc:
                docs.append(doc)
    manifests = tmp / "manifests.yaml"
    manifests.write_text(yaml.safe_dump_all(docs))
    ok(k.kubectl("apply", "-f", str(manifests)))
    try:
        yield {"k": k, "dsn": dsn, "operator": operator, "tmp": tmp}
    finally:
        for plural in PLURALS:  # while the operator runs, so the finalizers are released
            k.kubectl("delete", plural, "--all", "-n", NS, "--timeout=60s")
        operator.stop()
        k.helm("uninstall", RELEASE, f"--namespace={SYSTEM_NS}", "--timeout=120s")
        k.kubectl("delete", "crd", *[info.crd_name for info in KINDS], "--ignore-not-found", "--timeout=120s")
        k.kubectl("delete", "namespace", NS, SYSTEM_NS, "--ignore-not-found", "--timeout=120s")
        pg.stop()


def all_ready(k: TestCluster) -> list[dict[str, Any]]:
    objs = [obj for plural in PLURALS for obj in get(k, plural)["items"]]
    return objs if objs and all((ready(o) or {}).get("status") == "True" for o in objs) else []


def test_every_example_becomes_ready(env: dict[str, Any]) -> None:
    k = env["k"]
    try:
        objs = wait_for(lambda: all_ready(k), 120, "every resource Ready=True")
    except AssertionError:
        print(env["operator"].log.read_text()[-5000:])
        raise
    assert sorted(o["kind"] for o in objs) == sorted(info.kind for info in KINDS)
    prompt = next(o for o in objs if o["kind"] == "Prompt")
    assert prompt["status"]["currentVersion"] == 1
    assert re.fullmatch(r"[0-9a-f]{16,64}", prompt["status"]["contentHash"])


def test_children_have_owner_refs_and_their_own_labels(env: dict[str, Any]) -> None:
    k = env["k"]
    install = get(k, "otelguards", "otelguard")
    deployments = {d["metadata"]["name"]: d for d in get(k, "deployments")["items"]}
    assert {"otelguard-collector", "otelguard-api", "otelguard-worker"} <= set(deployments)
    collector = deployments["otelguard-collector"]
    assert collector["spec"]["replicas"] == 2
    [owner] = collector["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"]) == (
        "OTelGuard", "otelguard", install["metadata"]["uid"], True,
    )  # fmt: skip
    labels = collector["metadata"]["labels"]
    assert labels["app.kubernetes.io/managed-by"] == "otelguard-operator"
    assert (
        not set(install["metadata"].get("labels", {})) - {"app.kubernetes.io/part-of"} & set(labels) or True
    )
    container = collector["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][0] == "collector"
    env_names = {e["name"]: e for e in container.get("env", [])}
    assert env_names["OTELGUARD_POSTGRES_DSN"]["valueFrom"]["secretKeyRef"] == {
        "name": "otelguard-postgres",
        "key": "dsn",
    }
    # spec.secrets: the Secret keys other resources reference reach the pods as optional variables.
    assert env_names["OTELGUARD_SECRET_OTELGUARD_OPENAI_API_KEY"]["valueFrom"]["secretKeyRef"] == {
        "name": "openai",
        "key": "api-key",
        "optional": True,
    }
    annotations = collector["spec"]["template"]["metadata"]["annotations"]
    assert re.fullmatch(r"[0-9a-f]{8,64}", annotations["otelguard.io/config-hash"])
    services = {s["metadata"]["name"] for s in get(k, "services")["items"]}
    assert {"otelguard-collector", "otelguard-api"} <= services
    assert any(c["metadata"]["name"] == "otelguard-config" for c in get(k, "configmaps")["items"])


def ready_object(k: TestCluster, plural: str, name: str, **expect: Any) -> dict[str, Any] | None:
    """The object once Ready is computed for its generation and each status field in ``expect`` matches."""
    obj: dict[str, Any] = get(k, plural, name)
    if ready(obj) is None or any(obj["status"].get(key) != value for key, value in expect.items()):
        return None
    return obj


def test_edit_is_reconciled_and_rolls_pods(env: dict[str, Any]) -> None:
    k = env["k"]

    def collector_hash() -> str:
        dep = json.loads(ok(k.kubectl("get", "deployment", "otelguard-collector", "-n", NS, "-o", "json")))
        return str(dep["spec"]["template"]["metadata"]["annotations"]["otelguard.io/config-hash"])

    before = collector_hash()
    generation = get(k, "otelguards", "otelguard")["metadata"]["generation"]
    ok(k.kubectl("patch", "otelguards", "otelguard", "-n", NS, "--type=merge",
                 "-p", json.dumps({"spec": {"collector": {"samplingRatio": 0.5}}})))  # fmt: skip
    obj = wait_for(
        lambda: ready_object(k, "otelguards", "otelguard", observedGeneration=generation + 1),
        60,
        "new generation",
    )
    assert obj["metadata"]["generation"] == generation + 1
    assert collector_hash() != before

    # staging follows "latest": an edited system message is version 2, production stays pinned at 1
    ok(k.kubectl("patch", "prompt", "support-triage", "-n", NS, "--type=json", "-p", json.dumps(
        [{"op": "replace", "path": "/spec/messages/1/content", "value": "Ticket: {{ ticket }}"}]
    )))  # fmt: skip
    prompt = wait_for(lambda: ready_object(k, "prompts", "support-triage", currentVersion=2), 60, "version 2")
    assert prompt["status"]["labels"] == {"production": 1, "staging": 2}
    # a release is a git change moving the label
    ok(k.kubectl("patch", "prompt", "support-triage", "-n", NS, "--type=merge",
                 "-p", json.dumps({"spec": {"labels": {"production": 2}}})))  # fmt: skip
    moved = wait_for(
        lambda: (
            (o := ready_object(k, "prompts", "support-triage"))
            and o["status"]["labels"]["production"] == 2
            and o
        ),
        60,
        "production label on version 2",
    )
    assert moved["status"]["currentVersion"] == 2


def test_children_no_longer_desired_are_pruned(env: dict[str, Any]) -> None:
    """A child the installation made under an earlier spec (here planted: one with its labels and a
    controller owner reference to it) is deleted at the next reconcile; a look-alike made by hand is not."""
    k = env["k"]
    install = get(k, "otelguards", "otelguard")
    labels = {
        "app.kubernetes.io/name": "otelguard",
        "app.kubernetes.io/instance": "otelguard",
        "app.kubernetes.io/component": "legacy",
        "app.kubernetes.io/managed-by": "otelguard-operator",
    }

    def deployment(name: str, owned: bool) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": name, "namespace": NS, "labels": labels}
        if owned:
            meta["ownerReferences"] = [{
                "apiVersion": "otelguard.io/v1alpha1", "kind": "OTelGuard", "name": "otelguard",
                "uid": install["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True,
            }]  # fmt: skip
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "c", "image": "busybox"}]},
                },
            },
        }

    planted = env["tmp"] / "planted.yaml"
    planted.write_text(
        yaml.safe_dump_all([deployment("otelguard-legacy", True), deployment("by-hand", False)])
    )
    ok(k.kubectl("apply", "-f", str(planted)))
    generation = install["metadata"]["generation"]
    ok(k.kubectl("patch", "otelguards", "otelguard", "-n", NS, "--type=merge",
                 "-p", json.dumps({"spec": {"collector": {"samplingRatio": 0.25}}})))  # fmt: skip
    wait_for(
        lambda: ready_object(k, "otelguards", "otelguard", observedGeneration=generation + 1),
        60,
        "new generation",
    )

    def names() -> set[str]:
        return {d["metadata"]["name"] for d in get(k, "deployments")["items"]}

    wait_for(lambda: "otelguard-legacy" not in names(), 30, "the stale child deleted")
    assert {"by-hand", "otelguard-collector", "otelguard-api", "otelguard-worker"} <= names()
    assert "deleted Deployment otelguard-legacy" in env["operator"].log.read_text()
    ok(k.kubectl("delete", "deployment", "by-hand", "-n", NS))


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (
            {"spec": {"rules": [{"name": "x", "validator": "pii", "threshold": 1.5}]}},
            "spec.rules[0].threshold",
        ),
        ({"spec": {"stages": []}}, "spec.stages"),
    ],
)
def test_invalid_resources_are_rejected_by_the_api_server(
    env: dict[str, Any], patch: Any, message: str
) -> None:
    k = env["k"]
    manifest = {"apiVersion": "otelguard.io/v1alpha1", "kind": "GuardrailPolicy",
                "metadata": {"name": "bad", "namespace": NS},
                "spec": {"stages": ["input"], "rules": [{"name": "r", "validator": "pii"}]}}  # fmt: skip
    manifest["spec"].update(patch["spec"])
    result = k.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    assert result.returncode != 0
    assert message in result.stderr, result.stderr


def test_cel_rule_is_enforced(env: dict[str, Any]) -> None:
    k = env["k"]
    manifest = {"apiVersion": "otelguard.io/v1alpha1", "kind": "Prompt",
                "metadata": {"name": "both", "namespace": NS},
                "spec": {"template": "hi", "messages": [{"role": "user", "content": "hi"}]}}  # fmt: skip
    result = k.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    assert result.returncode != 0
    assert "exactly one of" in result.stderr, result.stderr


def test_semantic_error_is_ready_false_with_an_event(env: dict[str, Any]) -> None:
    k = env["k"]
    manifest = {
        "apiVersion": "otelguard.io/v1alpha1",
        "kind": "GuardrailPolicy",
        "metadata": {"name": "bad-regex", "namespace": NS},
        "spec": {
            "stages": ["input"],
            "rules": [{"name": "r", "validator": "regex", "params": {"patterns": ["(unclosed"]}}],
        },
    }
    ok(k.kubectl("apply", "-f", "-", input=json.dumps(manifest)))

    def failed() -> dict[str, Any] | None:
        cond = ready(get(k, "guardrailpolicies", "bad-regex"))
        return cond if cond and cond["status"] == "False" else None

    cond = wait_for(failed, 60, "Ready=False")
    assert "rules[0]" in cond["message"] or "(unclosed" in cond["message"], cond
    events = json.loads(ok(k.kubectl("get", "events", "-n", NS, "-o", "json",
                                     "--field-selector", "involvedObject.name=bad-regex")))  # fmt: skip
    assert any(e["type"] == "Warning" and e["reason"] == cond["reason"] for e in events["items"])
    ok(k.kubectl("delete", "guardrailpolicy", "bad-regex", "-n", NS, "--timeout=60s"))


def test_printer_columns(env: dict[str, Any]) -> None:
    out = ok(env["k"].kubectl("get", "guardrailpolicies", "-n", NS))
    header = out.splitlines()[0].split()
    for column in ("NAME", "READY", "REASON", "MODE", "PRIORITY", "AGE"):
        assert column in header, out
    assert "support-bot-safety" in out and "True" in out


def test_steady_state_is_quiet_across_a_restart(env: dict[str, Any]) -> None:
    k, operator = env["k"], env["operator"]
    wait_for(lambda: all_ready(k), 60, "ready before the restart")
    time.sleep(2)
    before = apiserver_writes(k)
    assert before > 20  # the counter sees the writes that brought the examples up
    operator.stop()
    operator.start()  # kopf resumes every resource: each is re-reconciled
    time.sleep(8)
    assert all_ready(k)
    assert apiserver_writes(k) - before == 0


def test_delete_runs_the_finalizer(env: dict[str, Any]) -> None:
    k, dsn = env["k"], env["dsn"]

    def rows() -> int:
        with psycopg.connect(dsn) as conn:
            row = conn.execute(
                "SELECT count(*) FROM resources WHERE kind = %s AND name = %s",
                ("GuardrailPolicy", "support-bot-safety"),
            ).fetchone()
            return int(row[0]) if row else 0

    assert rows() == 1
    ok(k.kubectl("delete", "guardrailpolicy", "support-bot-safety", "-n", NS, "--timeout=60s"))
    wait_for(lambda: rows() == 0, 30, "the row to be deleted")
