"""charts/otelguard on the real test cluster: helm install, CRDs, RBAC seen through impersonation, the
examples, helm uninstall keeping the CRDs.

No kubelet runs here, so the operator pod never starts; what is checked is what the API server stores and
authorizes. Fails (never skips) when the cluster or helm is not built: see conftest.py.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from kube_cluster import TestCluster

from otelguard.api.v1alpha1 import KINDS

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "charts" / "otelguard"
EXAMPLES = REPO / "examples" / "manifests"

RELEASE, SYSTEM_NS, APP_NS = "otelguard", "otelguard-system", "otelguard"
OPERATOR = f"system:serviceaccount:{SYSTEM_NS}:otelguard"
CRD_NAMES = [info.crd_name for info in KINDS]


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def can_i(
    k: TestCluster,
    who: str,
    verb: str,
    resource: str,
    namespace: str | None = None,
    subresource: str | None = None,
) -> bool:
    """``kubectl auth can-i`` (a SubjectAccessReview) for ``who``; namespace None means all namespaces."""
    args = ["auth", "can-i", verb, resource, f"--as={who}"]
    args += [f"--namespace={namespace}"] if namespace else ["--all-namespaces"]
    if subresource:
        args.append(f"--subresource={subresource}")
    answer = k.kubectl(*args).stdout.strip()
    assert answer in ("yes", "no"), (args, answer)
    return answer == "yes"


def delete_namespaces(k: TestCluster, *names: str) -> None:
    k.kubectl("delete", "namespace", *names, "--ignore-not-found", "--timeout=120s")


@pytest.fixture(scope="module")
def installed(kube_cluster: TestCluster) -> Iterator[TestCluster]:
    """The chart installed cluster-wide into otelguard-system, allowed to read Secrets in otelguard."""
    k = kube_cluster
    # The Secret Role's namespace must exist before the install.
    ok(k.kubectl("apply", "-f", str(EXAMPLES / "00-namespace.yaml")))
    try:
        ok(
            k.helm(
                "install",
                RELEASE,
                str(CHART),
                f"--namespace={SYSTEM_NS}",
                "--create-namespace",
                f"--set=rbac.secretNamespaces={{{APP_NS}}}",
                "--timeout=120s",
            )
        )
        yield k
    finally:
        k.helm("uninstall", RELEASE, f"--namespace={SYSTEM_NS}", "--timeout=120s")
        k.kubectl("delete", "crd", *CRD_NAMES, "--ignore-not-found", "--timeout=120s")
        delete_namespaces(k, APP_NS, SYSTEM_NS)


def test_release_deployed(installed: TestCluster) -> None:
    k = installed
    status = json.loads(ok(k.helm("status", RELEASE, f"--namespace={SYSTEM_NS}", "-o", "json")))
    assert status["info"]["status"] == "deployed"
    deployment = json.loads(ok(k.kubectl("get", "deployment", "otelguard", "-n", SYSTEM_NS, "-o", "json")))
    assert deployment["spec"]["strategy"]["type"] == "Recreate"
    assert deployment["spec"]["replicas"] == 1
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "otelguard"
    assert pod["containers"][0]["command"] == ["otelguard", "operator"]
    ok(k.kubectl("get", "serviceaccount", "otelguard", "-n", SYSTEM_NS))
    ok(k.kubectl("get", "service", "otelguard-metrics", "-n", SYSTEM_NS))


def test_crds_established_and_kept(installed: TestCluster) -> None:
    k = installed
    ok(k.kubectl("wait", "--for=condition=Established", *[f"crd/{n}" for n in CRD_NAMES], "--timeout=60s"))
    for name in CRD_NAMES:
        crd = json.loads(ok(k.kubectl("get", "crd", name, "-o", "json")))
        assert crd["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"
        assert crd["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "Helm"


def test_get_guardrailpolicies_before_any_exist(installed: TestCluster) -> None:
    result = installed.kubectl("get", "guardrailpolicies", "--all-namespaces")
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert "No resources found" in result.stderr


ALLOWED = [
    # (verb, resource, namespace or None for all, subresource)
    ("list", "guardrailpolicies.otelguard.io", None, None),
    ("watch", "otelguards.otelguard.io", None, None),
    ("get", "prompts.otelguard.io", APP_NS, None),
    ("patch", "evaluators.otelguard.io", APP_NS, None),
    ("update", "dashboards.otelguard.io", APP_NS, None),
    ("patch", "guardrailpolicies.otelguard.io", APP_NS, "status"),
    ("update", "alertrules.otelguard.io", APP_NS, "status"),
    ("update", "otelguards.otelguard.io", APP_NS, "finalizers"),
    ("create", "deployments.apps", APP_NS, None),
    ("delete", "deployments.apps", "team-x", None),
    ("patch", "statefulsets.apps", APP_NS, None),
    ("patch", "services", APP_NS, None),
    ("create", "configmaps", APP_NS, None),
    ("create", "serviceaccounts", APP_NS, None),
    ("create", "events", APP_NS, None),
    ("patch", "events.events.k8s.io", APP_NS, None),
    ("list", "customresourcedefinitions.apiextensions.k8s.io", None, None),
    ("watch", "customresourcedefinitions.apiextensions.k8s.io", None, None),
    ("get", "secrets", APP_NS, None),
]
DENIED = [
    ("create", "customresourcedefinitions.apiextensions.k8s.io", None, None),
    ("delete", "customresourcedefinitions.apiextensions.k8s.io", None, None),
    ("update", "customresourcedefinitions.apiextensions.k8s.io", None, None),
    ("create", "guardrailpolicies.otelguard.io", APP_NS, None),
    ("delete", "prompts.otelguard.io", APP_NS, None),
    ("get", "secrets", None, None),
    ("get", "secrets", "default", None),
    ("get", "secrets", SYSTEM_NS, None),
    ("list", "secrets", APP_NS, None),
    ("watch", "secrets", APP_NS, None),
    ("create", "secrets", APP_NS, None),
    ("create", "pods", APP_NS, None),
    ("create", "jobs.batch", APP_NS, None),
    ("get", "deployments.apps", APP_NS, "scale"),
    ("create", "leases.coordination.k8s.io", SYSTEM_NS, None),
    ("list", "namespaces", None, None),
    ("delete", "namespaces", None, None),
    ("create", "roles.rbac.authorization.k8s.io", APP_NS, None),
    ("create", "clusterrolebindings.rbac.authorization.k8s.io", None, None),
    ("get", "nodes", None, None),
    ("impersonate", "serviceaccounts", APP_NS, None),
]


@pytest.mark.parametrize(("verb", "resource", "namespace", "sub"), ALLOWED)
def test_operator_may(
    installed: TestCluster, verb: str, resource: str, namespace: str | None, sub: str | None
) -> None:
    assert can_i(installed, OPERATOR, verb, resource, namespace, sub)


@pytest.mark.parametrize(("verb", "resource", "namespace", "sub"), DENIED)
def test_operator_may_not(
    installed: TestCluster, verb: str, resource: str, namespace: str | None, sub: str | None
) -> None:
    assert not can_i(installed, OPERATOR, verb, resource, namespace, sub)


def test_examples_apply_against_the_installed_crds(installed: TestCluster) -> None:
    k = installed
    # As Argo CD does it (ServerSideApply=true), validated but not stored ...
    ok(k.kubectl("apply", "--server-side", "--dry-run=server", "-f", str(EXAMPLES)))
    # ... and as the operator e2e tests and `kubectl apply -f examples/manifests` do.
    ok(k.kubectl("apply", "-f", str(EXAMPLES)))
    for info in KINDS:
        names = ok(k.kubectl("get", f"{info.plural}.otelguard.io", "-n", APP_NS, "-o", "name")).split()
        assert len(names) == 1, (info.kind, names)
    table = ok(k.kubectl("get", "guardrailpolicies", "-n", APP_NS))
    for column in ("MODE", "PRIORITY", "READY", "REASON", "AGE"):
        assert column in table.splitlines()[0], table


def test_impersonated_operator_calls(installed: TestCluster) -> None:
    """Real requests as the chart's ServiceAccount, not just can-i predictions."""
    k = installed
    ok(k.kubectl("apply", "-f", str(EXAMPLES)))
    as_operator = f"--as={OPERATOR}"
    ok(k.kubectl("get", "guardrailpolicies,prompts,otelguards", "--all-namespaces", as_operator))
    generation = int(
        ok(
            k.kubectl(
                "get",
                "guardrailpolicy",
                "support-bot-safety",
                "-n",
                APP_NS,
                "-o",
                "jsonpath={.metadata.generation}",
            )
        )
    )
    status = {
        "status": {
            "observedGeneration": generation,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Stored",
                    "message": "3 rules compiled",
                    "observedGeneration": generation,
                    "lastTransitionTime": "2025-01-01T00:00:00Z",
                }
            ],
        }
    }
    ok(
        k.kubectl(
            "patch",
            "guardrailpolicy",
            "support-bot-safety",
            "-n",
            APP_NS,
            "--subresource=status",
            "--type=merge",
            "-p",
            json.dumps(status),
            as_operator,
        )
    )
    table = ok(k.kubectl("get", "guardrailpolicy", "support-bot-safety", "-n", APP_NS, "--no-headers"))
    assert "True" in table.split() and "Stored" in table.split(), table

    dsn = ok(k.kubectl("get", "secret", "otelguard-postgres", "-n", APP_NS, "-o", "name", as_operator))
    assert dsn.strip() == "secret/otelguard-postgres"
    for args in (
        ("get", "secrets", "-n", APP_NS),
        ("get", "secret", "otelguard-postgres", "-n", SYSTEM_NS),
        ("delete", "crd", CRD_NAMES[0], "--dry-run=server"),
        ("delete", "guardrailpolicy", "support-bot-safety", "-n", APP_NS, "--dry-run=server"),
    ):
        denied = k.kubectl(*args, as_operator)
        assert denied.returncode != 0 and "forbidden" in denied.stderr.lower(), (args, denied.stderr)

    child = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "otelguard-impersonation-check", "namespace": APP_NS},
        "data": {"k": "v"},
    }
    ok(
        k.kubectl(
            "apply",
            "--server-side",
            "--field-manager=otelguard",
            "-f",
            "-",
            as_operator,
            input=json.dumps(child),
        )
    )
    ok(k.kubectl("delete", "configmap", "otelguard-impersonation-check", "-n", APP_NS, as_operator))


def test_namespaced_install_uses_roles(installed: TestCluster) -> None:
    """A second release watching one namespace: Roles there, nothing elsewhere (CRDs from the first)."""
    k = installed
    release, system_ns, team = "otelguard-team", "otelguard-team-system", "team-a"
    who = f"system:serviceaccount:{system_ns}:{release}"
    ok(k.kubectl("create", "namespace", team))
    try:
        ok(
            k.helm(
                "install",
                release,
                str(CHART),
                f"--namespace={system_ns}",
                "--create-namespace",
                "--set=crds.install=false",
                f"--set=watch.namespaces={{{team}}}",
                "--timeout=120s",
            )
        )
        assert can_i(k, who, "patch", "prompts.otelguard.io", team, "status")
        assert can_i(k, who, "create", "deployments.apps", team)
        assert can_i(k, who, "get", "secrets", team)
        assert can_i(k, who, "list", "namespaces")
        assert can_i(k, who, "list", "customresourcedefinitions.apiextensions.k8s.io")
        assert not can_i(k, who, "patch", "prompts.otelguard.io", APP_NS, "status")
        assert not can_i(k, who, "list", "prompts.otelguard.io")  # not cluster-wide
        assert not can_i(k, who, "create", "deployments.apps", "default")
        assert not can_i(k, who, "get", "secrets", APP_NS)
        assert not can_i(k, who, "list", "secrets", team)
        args = json.loads(ok(k.kubectl("get", "deployment", release, "-n", system_ns, "-o", "json")))["spec"][
            "template"
        ]["spec"]["containers"][0]["args"]
        assert f"--namespace={team}" in args and "--all-namespaces" not in args
        ok(k.helm("uninstall", release, f"--namespace={system_ns}", "--timeout=120s"))
        assert not can_i(k, who, "patch", "prompts.otelguard.io", team, "status")
    finally:
        k.helm("uninstall", release, f"--namespace={system_ns}")
        delete_namespaces(k, team, system_ns)


def test_uninstall_keeps_the_crds_and_resources(installed: TestCluster) -> None:
    k = installed
    ok(k.kubectl("apply", "-f", str(EXAMPLES)))
    ok(k.helm("uninstall", RELEASE, f"--namespace={SYSTEM_NS}", "--timeout=120s"))
    assert k.helm("status", RELEASE, f"--namespace={SYSTEM_NS}").returncode != 0
    assert k.kubectl("get", "deployment", "otelguard", "-n", SYSTEM_NS).returncode != 0
    assert k.kubectl("get", "clusterrole", "otelguard").returncode != 0
    assert k.kubectl("get", "serviceaccount", "otelguard", "-n", SYSTEM_NS).returncode != 0
    # helm.sh/resource-policy: keep — the CRDs, and with them the resources, survive.
    ok(k.kubectl("wait", "--for=condition=Established", *[f"crd/{n}" for n in CRD_NAMES], "--timeout=30s"))
    names = ok(k.kubectl("get", "guardrailpolicies", "-n", APP_NS, "-o", "name")).split()
    assert names == ["guardrailpolicy.otelguard.io/support-bot-safety"]
    assert not can_i(k, OPERATOR, "list", "guardrailpolicies.otelguard.io")
