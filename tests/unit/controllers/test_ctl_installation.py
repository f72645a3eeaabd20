"""OTelGuard controller as a pure function: children, config hash, secrets, probes, suspend, status."""

from __future__ import annotations

from typing import Any

import pytest

from otelguard.controllers import (
    CONFIG_HASH_ANNOTATION,
    Applied,
    StorageOutcome,
    child_key,
    child_selector,
    stale_children,
)
from otelguard.controllers.installation import CONFIG_KEYS, DEFAULT_IMAGE
from unit.controllers.ctl_support import (
    T0,
    T1,
    UID,
    condition,
    edited,
    make_input,
    manifest,
    ready,
    reconcile,
)

STANDARD_LABELS = {
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "app.kubernetes.io/managed-by",
}
STORED = Applied(storage=StorageOutcome(ok=True, message="schema 0004", schema_version=4))


def children(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    desired, _ = reconcile(obj, STORED)
    return {f"{c['kind']}/{c['metadata']['name']}": c for c in desired.children}


def container(child: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = child["spec"]["template"]["spec"]["containers"][0]
    return spec


def env(child: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("valueFrom", e.get("value")) for e in container(child)["env"]}


def test_children_of_the_example() -> None:
    assert list(children(manifest("otelguard"))) == [
        "ServiceAccount/otelguard-runtime",
        "ConfigMap/otelguard-config",
        "Service/otelguard-collector",
        "Deployment/otelguard-collector",
        "Service/otelguard-api",
        "Deployment/otelguard-api",
        "Deployment/otelguard-worker",
    ]


def test_every_child_is_owned_and_labelled_without_the_parents_labels() -> None:
    obj = manifest("otelguard", **{"argocd.argoproj.io/instance": "platform", "team": "ml"})
    for child in children(obj).values():
        meta = child["metadata"]
        assert meta["namespace"] == "otelguard"
        assert meta["ownerReferences"] == [
            {
                "apiVersion": "otelguard.io/v1alpha1",
                "kind": "OTelGuard",
                "name": "otelguard",
                "uid": UID,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
        assert set(meta["labels"]) == STANDARD_LABELS
        assert meta["labels"]["app.kubernetes.io/managed-by"] == "otelguard-operator"
        assert meta["labels"]["app.kubernetes.io/instance"] == "otelguard"
        template_labels = child.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {})
        assert "team" not in template_labels and "argocd.argoproj.io/instance" not in template_labels


def test_no_owner_references_without_a_uid() -> None:
    obj = manifest("otelguard")
    del obj["metadata"]["uid"]
    assert all("ownerReferences" not in c["metadata"] for c in children(obj).values())


def test_deployment_selectors_match_pod_labels() -> None:
    for child in children(manifest("otelguard")).values():
        if child["kind"] == "Deployment":
            selector = child["spec"]["selector"]["matchLabels"]
            pod_labels = child["spec"]["template"]["metadata"]["labels"]
            assert selector.items() <= pod_labels.items()
            assert "app.kubernetes.io/managed-by" not in selector


def config_hash(obj: dict[str, Any]) -> str:
    kids = children(obj)
    hashes = {
        c["spec"]["template"]["metadata"]["annotations"][CONFIG_HASH_ANNOTATION]
        for c in kids.values()
        if c["kind"] == "Deployment"
    }
    assert len(hashes) == 1
    return hashes.pop()


def test_config_hash_is_stable_and_follows_the_configmap() -> None:
    obj = manifest("otelguard")
    first = config_hash(obj)
    assert config_hash(manifest("otelguard")) == first
    _, status = reconcile(obj, STORED)
    assert status["configHash"] == first
    # Config changes roll the pods ...
    assert config_hash(edited(obj, "spec.retention.spans", 7)) != first
    assert config_hash(edited(obj, "spec.collector.samplingRatio", 0.5)) != first
    assert config_hash(edited(obj, "spec.workers.concurrency", 2)) != first
    # ... scaling is not configuration.
    assert config_hash(edited(obj, "spec.collector.replicas", 5)) == first


def test_runtime_configuration_in_the_configmap() -> None:
    data = children(manifest("otelguard"))["ConfigMap/otelguard-config"]["data"]
    assert data["OTELGUARD_CLICKHOUSE_URL"] == "http://clickhouse.otelguard.svc:8123/otelguard"
    assert data["OTELGUARD_REDIS_URL"] == "redis://redis.otelguard.svc:6379/0"
    assert data["OTELGUARD_RETENTION_GUARDRAIL_EVENTS_DAYS"] == "180"
    assert data["OTELGUARD_MAX_BODY_BYTES"] == "8388608"
    assert data["OTELGUARD_WORKER_CONCURRENCY"] == "8"
    assert data["OTELGUARD_NAMESPACE"] == "otelguard"
    assert all(isinstance(v, str) for v in data.values())
    assert set(data) <= set(CONFIG_KEYS)
    assert not any("DSN" in k or "PASSWORD" in k for k in data)


def test_secrets_come_from_secret_refs() -> None:
    kids = children(manifest("otelguard"))
    dsn = {"secretKeyRef": {"name": "otelguard-postgres", "key": "dsn"}}
    ch_password = {"secretKeyRef": {"name": "otelguard-clickhouse", "key": "password"}}
    for name in ("collector", "api", "worker"):
        values = env(kids[f"Deployment/otelguard-{name}"])
        assert values["OTELGUARD_POSTGRES_DSN"] == dsn
        assert values["OTELGUARD_CLICKHOUSE_PASSWORD"] == ch_password
        assert container(kids[f"Deployment/otelguard-{name}"])["envFrom"] == [
            {"configMapRef": {"name": "otelguard-config"}}
        ]
    smtp = {"secretKeyRef": {"name": "otelguard-smtp", "key": "password"}}
    assert env(kids["Deployment/otelguard-worker"])["OTELGUARD_SMTP_PASSWORD"] == smtp
    assert "OTELGUARD_SMTP_PASSWORD" not in env(kids["Deployment/otelguard-collector"])


def test_listed_secrets_reach_every_component_as_optional_variables() -> None:
    refs = [{"name": "openai", "key": "api-key"}, {"name": "alert-hooks", "key": "slack.url"}]
    kids = children(edited(manifest("otelguard"), "spec.secrets", refs))
    for name in ("collector", "api", "worker"):
        values = env(kids[f"Deployment/otelguard-{name}"])
        # The names the eval worker's and guard service's env resolvers read (secret_env_name).
        assert values["OTELGUARD_SECRET_OTELGUARD_OPENAI_API_KEY"] == {
            "secretKeyRef": {"name": "openai", "key": "api-key", "optional": True}
        }
        assert values["OTELGUARD_SECRET_OTELGUARD_ALERT_HOOKS_SLACK_URL"] == {
            "secretKeyRef": {"name": "alert-hooks", "key": "slack.url", "optional": True}
        }
    from otelguard.evals.worker import env_secret_resolver

    resolve = env_secret_resolver({"OTELGUARD_SECRET_OTELGUARD_OPENAI_API_KEY": "sk-test"})
    assert resolve("otelguard", "openai", "api-key") == "sk-test"


def test_colliding_secret_variables_are_invalid() -> None:
    refs = [{"name": "a-b", "key": "c"}, {"name": "a", "key": "b-c"}]
    desired, status = reconcile(edited(manifest("otelguard"), "spec.secrets", refs), STORED)
    assert desired.invalid is not None and "spec.secrets[1]" in desired.invalid.message
    assert condition(status, "Ready")["status"] == "False"


def test_webhook_allow_networks_in_the_configmap() -> None:
    obj = edited(manifest("otelguard"), "spec.webhooks", {"allowNetworks": ["10.0.0.0/8", "fd00::/8"]})
    data = children(obj)["ConfigMap/otelguard-config"]["data"]
    assert data["OTELGUARD_WEBHOOK_ALLOW_NETWORKS"] == "10.0.0.0/8,fd00::/8"
    assert (
        "OTELGUARD_WEBHOOK_ALLOW_NETWORKS"
        not in children(manifest("otelguard"))["ConfigMap/otelguard-config"]["data"]
    )
    bad = edited(manifest("otelguard"), "spec.webhooks", {"allowNetworks": ["10.0.0.0/33"]})
    desired, _ = reconcile(bad, STORED)
    assert desired.invalid is not None and "spec.webhooks.allowNetworks[0]" in desired.invalid.message


def test_redis_url_from_a_secret() -> None:
    obj = edited(
        manifest("otelguard"), "spec.storage.redis", {"urlSecretRef": {"name": "redis", "key": "url"}}
    )
    kids = children(obj)
    assert "OTELGUARD_REDIS_URL" not in kids["ConfigMap/otelguard-config"]["data"]
    for name in ("collector", "api", "worker"):
        assert env(kids[f"Deployment/otelguard-{name}"])["OTELGUARD_REDIS_URL"] == {
            "secretKeyRef": {"name": "redis", "key": "url"}
        }


def test_collector_ports_probes_args_and_resources() -> None:
    kids = children(manifest("otelguard"))
    collector = kids["Deployment/otelguard-collector"]
    c = container(collector)
    assert collector["spec"]["replicas"] == 2
    assert c["image"] == DEFAULT_IMAGE
    assert c["command"] == ["otelguard"]
    assert c["args"][:1] == ["collector"]
    assert {p["name"]: p["containerPort"] for p in c["ports"]} == {"otlp-http": 4318, "otlp-grpc": 4317}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "otlp-http"}
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "otlp-http"}
    assert c["resources"] == {
        "requests": {"cpu": "250m", "memory": "256Mi"},
        "limits": {"cpu": "1", "memory": "1Gi"},
    }
    assert {"name": "data", "mountPath": "/var/lib/otelguard"} in c["volumeMounts"]
    service_ports = {p["name"]: p for p in kids["Service/otelguard-collector"]["spec"]["ports"]}
    assert set(service_ports) == {"otlp-http", "otlp-grpc", "metrics"}
    assert service_ports["otlp-grpc"]["appProtocol"] == "grpc"
    api = container(kids["Deployment/otelguard-api"])
    assert api["args"] == ["api", "--host", "0.0.0.0", "--port", "8080"]
    assert api["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container(kids["Deployment/otelguard-worker"])["args"] == ["worker"]


def test_images_and_pull_settings_from_the_spec() -> None:
    obj = edited(
        manifest("otelguard"),
        "spec.images",
        {"collector": "registry.local/og:dev", "pullPolicy": "Always", "pullSecrets": ["regcred"]},
    )
    kids = children(obj)
    collector = kids["Deployment/otelguard-collector"]
    assert container(collector)["image"] == "registry.local/og:dev"
    assert container(collector)["imagePullPolicy"] == "Always"
    assert collector["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    assert container(kids["Deployment/otelguard-api"])["image"] == DEFAULT_IMAGE


def test_in_cluster_clickhouse() -> None:
    obj = edited(manifest("otelguard"), "spec.storage.clickhouse", {"inCluster": {"storageSize": "50Gi"}})
    desired, _ = reconcile(obj, STORED)
    kids = {f"{c['kind']}/{c['metadata']['name']}": c for c in desired.children}
    sts = kids["StatefulSet/otelguard-clickhouse"]
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"] == "50Gi"
    assert "Service/otelguard-clickhouse" in kids
    url = kids["ConfigMap/otelguard-config"]["data"]["OTELGUARD_CLICKHOUSE_URL"]
    assert url == "http://otelguard-clickhouse.otelguard.svc:8123/otelguard"
    assert desired.storage is not None and desired.storage.clickhouse_url == url


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("spec.storage.clickhouse.url", "clickhouse://ch:9000", "scheme clickhouse:// is not supported"),
        ("spec.storage.clickhouse.url", "http://default:hunter2@ch:8123", "use passwordSecretRef"),
        ("spec.storage.clickhouse.url", "http://ch:8123/other", "names database 'other'"),
        ("spec.storage.redis.url", "redis://:pw@redis:6379/0", "use urlSecretRef"),
    ],
)
def test_unusable_storage_urls_are_invalid(path: str, value: str, message: str) -> None:
    desired, status = reconcile(edited(manifest("otelguard"), path, value))
    assert desired.children == () and desired.storage is None
    state, reason, text = ready(status)
    assert (state, reason) == ("False", "InvalidSpec")
    assert message in text


def test_storage_config_for_the_ddl_step() -> None:
    desired, _ = reconcile(manifest("otelguard"), STORED)
    assert desired.storage is not None
    s = desired.storage
    assert (s.spans_days, s.scores_days, s.guardrail_events_days) == (30, 90, 180)
    assert s.clickhouse_password_secret == ("otelguard-clickhouse", "password")
    assert s.postgres_dsn_secret == ("otelguard-postgres", "dsn")


def test_ready_needs_children_and_storage() -> None:
    obj = manifest("otelguard")
    _, pending = reconcile(obj, Applied())
    assert ready(pending)[:2] == ("Unknown", "Pending")
    _, status = reconcile(obj, STORED)
    assert ready(status)[:2] == ("True", "Reconciled")
    assert status["schemaVersion"] == 4
    assert condition(status, "StorageReady")["status"] == "True"  # type: ignore[index]
    failed = Applied(storage=StorageOutcome(ok=False, message="connection refused"))
    _, down = reconcile(obj, failed, status=status, now=T1)
    assert ready(down) == ("False", "StorageUnavailable", "connection refused")
    assert down["schemaVersion"] == 4  # the last good fact stays
    _, children_failed = reconcile(obj, Applied.failed("ApplyFailed", "forbidden"), status=status, now=T1)
    assert ready(children_failed)[:2] == ("False", "ApplyFailed")


def test_available_and_components_from_observed_deployments() -> None:
    obj = manifest("otelguard")
    observed = {
        child_key("Deployment", "otelguard-collector"): {"replicas": 2, "readyReplicas": 1},
        child_key("Deployment", "otelguard-api"): {"replicas": 1, "readyReplicas": 1},
        child_key("Deployment", "otelguard-worker"): {"replicas": 1},
    }
    _, status = reconcile(obj, STORED, observed=observed)
    assert status["components"] == {
        "collector": {"replicas": 2, "readyReplicas": 1},
        "api": {"replicas": 1, "readyReplicas": 1},
        "workers": {"replicas": 1, "readyReplicas": 0},
    }
    available = condition(status, "Available")
    assert available is not None and available["status"] == "False"
    assert available["message"] == "collector 1/2, api 1/1, workers 0/1"
    assert ready(status)[0] == "True"  # availability is reported, not part of Ready


def test_suspend_touches_nothing_and_reports_suspended() -> None:
    obj = manifest("otelguard")
    _, running = reconcile(obj, STORED)
    suspended_obj = edited(obj, "spec.suspend", True)
    desired, status = reconcile(suspended_obj, None, status=running, now=T1)
    assert desired.suspended and desired.children == () and desired.storage is None
    assert ready(status)[:2] == ("Unknown", "Suspended")
    assert condition(status, "Ready")["observedGeneration"] == 2  # type: ignore[index]
    assert condition(status, "Suspended")["status"] == "True"  # type: ignore[index]
    assert status["configHash"] == running["configHash"]
    resumed_obj = edited(suspended_obj, "spec.suspend", False)
    _, resumed = reconcile(resumed_obj, STORED, status=status, now=T1)
    assert condition(resumed, "Suspended") is None
    assert ready(resumed)[:2] == ("True", "Reconciled")


def test_last_transition_time_moves_only_on_a_flip() -> None:
    obj = manifest("otelguard")
    _, first = reconcile(obj, STORED, now=T0)
    obj2 = edited(obj, "spec.retention.spans", 7)
    _, again = reconcile(obj2, STORED, status=first, now=T1)
    assert condition(again, "Ready")["lastTransitionTime"] == "2025-01-01T12:00:00Z"  # type: ignore[index]
    assert condition(again, "Ready")["observedGeneration"] == 2  # type: ignore[index]
    down = Applied(storage=StorageOutcome(ok=False, message="down"))
    _, flipped = reconcile(obj2, down, status=again, now=T1)
    assert condition(flipped, "Ready")["lastTransitionTime"] == "2025-01-01T12:05:00Z"  # type: ignore[index]


def test_stale_children_after_clickhouse_moves_to_a_url() -> None:
    in_cluster = edited(manifest("otelguard"), "spec.storage.clickhouse", {"inCluster": {}})
    before, _ = reconcile(in_cluster, STORED)
    after_obj = manifest("otelguard")  # the example: ClickHouse by URL
    after, _ = reconcile(after_obj, STORED)
    inp = make_input(after_obj)
    assert child_selector(inp) == (
        "app.kubernetes.io/managed-by=otelguard-operator,app.kubernetes.io/instance=otelguard"
    )
    foreign = {
        "kind": "Deployment",
        "metadata": {"name": "made-by-hand", "ownerReferences": []},
    }
    namesake = {  # a former resource of the same name (another uid) made it: not ours to delete
        "kind": "Service",
        "metadata": {
            "name": "old-service",
            "ownerReferences": [{"uid": "another-uid", "controller": True}],
        },
    }
    not_controller = {
        "kind": "ConfigMap",
        "metadata": {"name": "shared", "ownerReferences": [{"uid": UID, "controller": False}]},
    }
    stale = stale_children(inp, after, [*before.children, foreign, namesake, not_controller])
    assert sorted(f"{c['kind']}/{c['metadata']['name']}" for c in stale) == [
        "Service/otelguard-clickhouse",
        "StatefulSet/otelguard-clickhouse",
    ]
    assert stale_children(inp, before, before.children) == []  # nothing stale while all are wanted


def test_no_pruning_without_a_uid() -> None:
    obj = manifest("otelguard")
    obj["metadata"].pop("uid")
    desired, _ = reconcile(obj, STORED)
    live = [
        {
            "kind": "Deployment",
            "metadata": {"name": "x", "ownerReferences": [{"uid": None, "controller": True}]},
        }
    ]
    assert stale_children(make_input(obj), desired, live) == []
