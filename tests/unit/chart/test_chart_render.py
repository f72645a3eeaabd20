"""``helm lint`` and ``helm template`` of charts/otelguard: objects, least-privilege RBAC, operator pod."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from chart_helm import CHART, NAMESPACE, RELEASE, helm, of_kind, one, render, rule_set

from otelguard.api.v1alpha1 import KINDS

CHART_META = yaml.safe_load((CHART / "Chart.yaml").read_text())
PLURALS = sorted(info.plural for info in KINDS)
CRUD = ("get", "list", "watch", "create", "patch", "update", "delete")

# Everything the operator does where otelguard.io resources live, and nothing else.
NAMESPACED_RULES = (
    {("otelguard.io", p, v) for p in PLURALS for v in ("get", "list", "watch", "patch", "update")}
    | {("otelguard.io", f"{p}/status", v) for p in PLURALS for v in ("get", "patch", "update")}
    | {("otelguard.io", f"{p}/finalizers", "update") for p in PLURALS}
    | {("apps", r, v) for r in ("deployments", "statefulsets") for v in CRUD}
    | {("", r, v) for r in ("configmaps", "serviceaccounts", "services") for v in CRUD}
    | {(g, "events", v) for g in ("", "events.k8s.io") for v in ("create", "patch")}
)
CRD_RULES = {("apiextensions.k8s.io", "customresourcedefinitions", v) for v in ("get", "list", "watch")}
NAMESPACE_RULES = {("", "namespaces", v) for v in ("list", "watch")}
SECRET_RULES = {("", "secrets", "get")}

STANDARD_LABELS = (
    "helm.sh/chart",
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
)
RBAC_KINDS = {"ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}


def container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["operator"]
    return dict(pod["containers"][0])


def roles_by_namespace(objects: list[dict[str, Any]]) -> dict[tuple[str, str], set[tuple[str, str, str]]]:
    return {
        (r["metadata"]["namespace"], r["metadata"]["name"]): rule_set(r["rules"])
        for r in of_kind(objects, "Role")
    }


# -- lint --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "sets",
    [
        (),
        ("crds.install=false",),
        ("crds.keep=false",),
        ("rbac.create=false",),
        ("serviceAccount.create=false", "serviceAccount.name=operator"),
        ("watch.namespaces={team-a,team-b}",),
        ("rbac.secretNamespaces={vault}", "metrics.service.enabled=false", "replicas=0"),
    ],
    ids=lambda s: ",".join(s) or "defaults",
)
def test_helm_lint_strict(sets: tuple[str, ...]) -> None:
    args = ["lint", "--strict", str(CHART)]
    for item in sets:
        args += ["--set", item]
    out = helm(*args).stdout
    assert "0 chart(s) failed" in out, out


def test_chart_metadata() -> None:
    assert CHART_META["apiVersion"] == "v2"
    assert CHART_META["name"] == "otelguard"
    assert CHART_META["appVersion"] == "0.1.0"
    assert CHART_META["type"] == "application"


# -- what gets rendered ------------------------------------------------------------------------------------
def test_default_objects() -> None:
    objects = render()
    kinds = sorted(o["kind"] for o in objects)
    assert kinds == sorted(
        ["CustomResourceDefinition"] * len(KINDS)
        + [
            "ClusterRole",
            "ClusterRoleBinding",
            "Deployment",
            "Role",
            "RoleBinding",
            "Service",
            "ServiceAccount",
        ]
    )
    for obj in objects:
        labels = obj["metadata"]["labels"]
        for key in STANDARD_LABELS:
            assert key in labels, (obj["kind"], obj["metadata"]["name"], key)
        assert labels["helm.sh/chart"] == f"otelguard-{CHART_META['version']}"
        assert labels["app.kubernetes.io/instance"] == RELEASE
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["app.kubernetes.io/version"] == CHART_META["appVersion"]
        if obj["kind"] not in ("CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding"):
            assert obj["metadata"]["namespace"] == NAMESPACE, obj["kind"]


def test_cluster_wide_rbac_is_exactly_least_privilege() -> None:
    objects = render()
    cluster_role = one(objects, "ClusterRole")
    assert rule_set(cluster_role["rules"]) == NAMESPACED_RULES | CRD_RULES
    # Secrets: get only, only in the release namespace by default (no list/watch, nothing cluster-wide).
    assert roles_by_namespace(objects) == {(NAMESPACE, "otelguard-secrets"): SECRET_RULES}
    for obj in objects:
        for rule in obj.get("rules", []):
            assert "*" not in rule["apiGroups"] + rule["resources"] + rule["verbs"], rule


def test_rbac_plural_names_match_the_crds() -> None:
    crds = {o["spec"]["names"]["plural"] for o in of_kind(render(), "CustomResourceDefinition")}
    granted = {
        resource for group, resource, _ in NAMESPACED_RULES if group == "otelguard.io" and "/" not in resource
    }
    assert granted == crds == set(PLURALS)


def test_bindings_bind_the_operator_service_account() -> None:
    objects = render()
    subject = {"kind": "ServiceAccount", "name": "otelguard", "namespace": NAMESPACE}
    sa = one(objects, "ServiceAccount")
    assert sa["metadata"]["name"] == "otelguard"
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "otelguard"
    role_names = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objects}
    for kind in ("ClusterRoleBinding", "RoleBinding"):
        for binding in of_kind(objects, kind):
            assert binding["subjects"] == [subject]
            ref = binding["roleRef"]
            namespace = binding["metadata"].get("namespace") if ref["kind"] == "Role" else None
            assert (ref["kind"], namespace, ref["name"]) in role_names, ref


def test_watched_namespaces_get_roles_not_a_cluster_role() -> None:
    objects = render("watch.namespaces={team-a,team-b}")
    # Cluster-scoped: only reads of CRDs and namespaces (kopf lists/watches namespaces in this mode).
    assert rule_set(one(objects, "ClusterRole")["rules"]) == CRD_RULES | NAMESPACE_RULES
    assert roles_by_namespace(objects) == {
        ("team-a", "otelguard"): NAMESPACED_RULES,
        ("team-b", "otelguard"): NAMESPACED_RULES,
        ("team-a", "otelguard-secrets"): SECRET_RULES,
        ("team-b", "otelguard-secrets"): SECRET_RULES,
    }
    assert len(of_kind(objects, "RoleBinding")) == 4
    args = container(objects)["args"]
    assert "--namespace=team-a" in args and "--namespace=team-b" in args
    assert "--all-namespaces" not in args


def test_secret_namespaces_can_be_set() -> None:
    objects = render("rbac.secretNamespaces={otelguard}")
    assert roles_by_namespace(objects) == {("otelguard", "otelguard-secrets"): SECRET_RULES}
    objects = render("watch.namespaces={team-a}", "rbac.secretNamespaces={vault}")
    assert roles_by_namespace(objects)[("vault", "otelguard-secrets")] == SECRET_RULES
    assert ("team-a", "otelguard-secrets") not in roles_by_namespace(objects)


def test_rbac_create_false_renders_no_rbac() -> None:
    objects = render("rbac.create=false")
    assert not [o for o in objects if o["kind"] in RBAC_KINDS]
    assert one(objects, "ServiceAccount")


def test_existing_service_account() -> None:
    objects = render("serviceAccount.create=false", "serviceAccount.name=operator")
    assert not of_kind(objects, "ServiceAccount")
    assert one(objects, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == "operator"
    for binding in of_kind(objects, "ClusterRoleBinding") + of_kind(objects, "RoleBinding"):
        assert binding["subjects"][0]["name"] == "operator"
    no_name = render("serviceAccount.create=false")
    assert one(no_name, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == "default"


def test_service_account_annotations() -> None:
    sa = one(
        render("serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::1:role/x"),
        "ServiceAccount",
    )
    assert sa["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/x"}


# -- the operator Deployment -------------------------------------------------------------------------------
def test_deployment_one_replica_recreate() -> None:
    deployment = one(render(), "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector == {
        "app.kubernetes.io/name": "otelguard",
        "app.kubernetes.io/instance": RELEASE,
        "app.kubernetes.io/component": "operator",
    }
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert one(render("replicas=0"), "Deployment")["spec"]["replicas"] == 0


def test_operator_command_args_env_and_image() -> None:
    c = container(render())
    assert c["command"] == ["otelguard", "operator"]
    assert c["args"] == [
        "--all-namespaces",
        "--liveness=http://0.0.0.0:8080/healthz",
        "--metrics-port=9090",
        "--log-level=info",
    ]
    assert c["image"] == f"ghcr.io/otelguard/otelguard:{CHART_META['appVersion']}"
    assert c["imagePullPolicy"] == "IfNotPresent"
    env = {e["name"]: e for e in c["env"]}
    assert env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.namespace"
    assert env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"

    custom = container(
        render(
            "image.tag=dev",
            "logLevel=debug",
            "extraArgs={--standalone}",
            "extraEnv[0].name=OTELGUARD_X",
            "extraEnv[0].value=on",
        )
    )
    assert custom["image"].endswith(":dev")
    assert "--log-level=debug" in custom["args"] and custom["args"][-1] == "--standalone"
    assert {"name": "OTELGUARD_X", "value": "on"} in custom["env"]


def test_probes_and_ports() -> None:
    objects = render()
    c = container(objects)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"health": 8080, "metrics": 9090}
    for probe in (c["livenessProbe"], c["readinessProbe"]):
        assert probe["httpGet"] == {"path": "/healthz", "port": "health"}
    service = one(objects, "Service")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 9090, "targetPort": "metrics", "protocol": "TCP"}
    ]
    pod_labels = one(objects, "Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()

    moved = render("health.port=9000", "metrics.port=9100")
    c = container(moved)
    assert {p["name"]: p["containerPort"] for p in c["ports"]} == {"health": 9000, "metrics": 9100}
    assert "--liveness=http://0.0.0.0:9000/healthz" in c["args"] and "--metrics-port=9100" in c["args"]
    assert one(moved, "Service")["spec"]["ports"][0]["port"] == 9100
    assert not of_kind(render("metrics.service.enabled=false"), "Service")


def test_security_context() -> None:
    objects = render()
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    sc = container(objects)["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["runAsNonRoot"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    # A writable /tmp on the read-only root filesystem.
    assert {"name": "tmp", "mountPath": "/tmp"} in container(objects)["volumeMounts"]
    assert {"name": "tmp", "emptyDir": {}} in pod["volumes"]
    assert pod["automountServiceAccountToken"] is True


def test_scheduling_values_pass_through() -> None:
    pod = one(
        render(
            "nodeSelector.role=ops",
            "tolerations[0].key=dedicated",
            "tolerations[0].operator=Exists",
            "podAnnotations.a=b",
            "podLabels.team=platform",
        ),
        "Deployment",
    )["spec"]["template"]
    assert pod["spec"]["nodeSelector"] == {"role": "ops"}
    assert pod["spec"]["tolerations"] == [{"key": "dedicated", "operator": "Exists"}]
    assert pod["metadata"]["annotations"] == {"a": "b"}
    assert pod["metadata"]["labels"]["team"] == "platform"
    assert "nodeSelector" not in one(render(), "Deployment")["spec"]["template"]["spec"]


def test_fullname_overrides() -> None:
    objects = render(release="prod")
    assert one(objects, "Deployment")["metadata"]["name"] == "prod-otelguard"
    assert one(objects, "ClusterRole")["metadata"]["name"] == "prod-otelguard"
    assert one(render("fullnameOverride=og"), "Deployment")["metadata"]["name"] == "og"


# -- CRDs --------------------------------------------------------------------------------------------------
def test_crds_are_installed_and_kept_by_default() -> None:
    crds = of_kind(render(), "CustomResourceDefinition")
    assert sorted(c["metadata"]["name"] for c in crds) == sorted(info.crd_name for info in KINDS)
    for crd in crds:
        assert crd["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
        assert "namespace" not in crd["metadata"]


def test_crds_keep_false_and_install_false() -> None:
    for crd in of_kind(render("crds.keep=false"), "CustomResourceDefinition"):
        assert "annotations" not in crd["metadata"]
    objects = render("crds.install=false")
    assert not of_kind(objects, "CustomResourceDefinition")
    assert one(objects, "Deployment")


# -- NOTES.txt ---------------------------------------------------------------------------------------------
def test_notes() -> None:
    out = helm("install", RELEASE, str(CHART), "--namespace", NAMESPACE, "--dry-run=client").stdout
    notes = out[out.index("NOTES:") :]
    assert "kubectl -n otelguard wait --for=condition=Ready otelguards/otelguard" in notes
    assert "kind: OTelGuard" in notes
    assert f"Secrets (get by name only) in: {NAMESPACE}." in notes
    assert "every namespace" in notes
    scoped = helm(
        "install", RELEASE, str(CHART), "-n", NAMESPACE, "--dry-run=client", "--set", "watch.namespaces={a,b}"
    ).stdout
    assert "otelguard.io resources in: a, b." in scoped
