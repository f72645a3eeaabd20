"""Smoke tests for the real test cluster: CRDs with CEL validation and a status subresource, RBAC
seen through impersonation, service-account tokens, the controller manager, and helm."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from kube_cluster import TestCluster

import polling

pytestmark = pytest.mark.e2e

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.smoke.otelguard.io
spec:
  group: smoke.otelguard.io
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, listKind: WidgetList}
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [minReplicas, maxReplicas]
            properties:
              minReplicas: {type: integer, minimum: 0}
              maxReplicas: {type: integer}
            x-kubernetes-validations:
            - rule: self.minReplicas <= self.maxReplicas
              message: minReplicas must not exceed maxReplicas
          status:
            type: object
            properties:
              phase: {type: string}
"""


def widget(name: str, min_replicas: int, max_replicas: int) -> str:
    return f"""
apiVersion: smoke.otelguard.io/v1alpha1
kind: Widget
metadata: {{name: {name}, namespace: default}}
spec: {{minReplicas: {min_replicas}, maxReplicas: {max_replicas}}}
"""


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def eventually(check: Callable[[], bool], timeout: float = 60.0, what: str = "condition") -> None:
    polling.eventually(check, timeout, what=what, interval_s=0.5)


def test_crd_status_subresource_and_cel_validation(kube_cluster: TestCluster) -> None:
    k = kube_cluster
    ok(k.kubectl("apply", "-f", "-", input=CRD))
    ok(k.kubectl("wait", "--for=condition=Established", "crd/widgets.smoke.otelguard.io", "--timeout=60s"))

    ok(k.kubectl("apply", "-f", "-", input=widget("good", 1, 3)))
    obj = json.loads(ok(k.kubectl("get", "widget", "good", "-n", "default", "-o", "json")))
    assert obj["spec"] == {"minReplicas": 1, "maxReplicas": 3}
    assert obj["metadata"]["generation"] == 1

    # status is a subresource: written through /status, it does not bump generation ...
    ok(
        k.kubectl(
            "patch",
            "widget",
            "good",
            "--subresource=status",
            "--type=merge",
            "-p",
            '{"status":{"phase":"Ready"}}',
        )
    )
    obj = json.loads(ok(k.kubectl("get", "widget", "good", "-o", "json")))
    assert obj["status"] == {"phase": "Ready"}
    assert obj["metadata"]["generation"] == 1
    # ... and writes of status through the main resource are ignored.
    ok(k.kubectl("patch", "widget", "good", "--type=merge", "-p", '{"status":{"phase":"Hacked"}}'))
    assert json.loads(ok(k.kubectl("get", "widget", "good", "-o", "json")))["status"] == {"phase": "Ready"}

    # The CEL rule rejects an invalid object with its message; the OpenAPI schema still applies too.
    bad = k.kubectl("apply", "-f", "-", input=widget("bad", 5, 2))
    assert bad.returncode != 0
    assert "minReplicas must not exceed maxReplicas" in bad.stderr, bad.stderr
    negative = k.kubectl("apply", "-f", "-", input=widget("negative", -1, 2))
    assert negative.returncode != 0
    assert "should be greater than or equal to 0" in negative.stderr, negative.stderr
    assert k.kubectl("get", "widget", "bad").returncode != 0


def test_rbac_via_impersonation_and_service_account_tokens(kube_cluster: TestCluster, tmp_path: Path) -> None:
    k = kube_cluster
    ns, sa = "rbac-smoke", "reader"
    ok(k.kubectl("create", "namespace", ns))
    ok(k.kubectl("create", "serviceaccount", sa, "-n", ns))
    ok(k.kubectl("create", "role", "cm-reader", "-n", ns, "--verb=get,list,watch", "--resource=configmaps"))
    ok(
        k.kubectl(
            "create", "rolebinding", "cm-reader", "-n", ns, "--role=cm-reader", f"--serviceaccount={ns}:{sa}"
        )
    )
    ok(k.kubectl("create", "configmap", "hello", "-n", ns, "--from-literal=a=b"))
    who = f"system:serviceaccount:{ns}:{sa}"

    def can_i(*args: str) -> str:
        # `auth can-i` exits 1 for "no"; the answer is on stdout either way.
        return k.kubectl("auth", "can-i", *args, "-n", ns, f"--as={who}").stdout.strip()

    assert can_i("list", "configmaps") == "yes"
    assert can_i("get", "configmaps/hello") == "yes"
    assert can_i("delete", "configmaps") == "no"
    assert can_i("list", "secrets") == "no"
    assert (
        k.kubectl("auth", "can-i", "list", "configmaps", "-n", "default", f"--as={who}").stdout.strip()
        == "no"
    )

    # Impersonated requests are really authorized by RBAC, not just predicted by can-i.
    assert "hello" in ok(k.kubectl("get", "configmaps", "-n", ns, f"--as={who}", "-o", "name"))
    denied = k.kubectl("get", "secrets", "-n", ns, f"--as={who}")
    assert denied.returncode != 0 and "forbidden" in denied.stderr.lower(), denied.stderr

    # Service-account tokens are issued and signed, and authenticate as the ServiceAccount.
    token = ok(k.kubectl("create", "token", sa, "-n", ns, "--duration=10m")).strip()
    assert token.count(".") == 2
    as_sa = [
        "--kubeconfig=/dev/null",
        f"--server={k.server_url}",
        f"--certificate-authority={k.ca_file}",
        f"--token={token}",
    ]
    runner = k.bin_dir / "kubectl"
    res = subprocess.run(
        [str(runner), *as_sa, "get", "configmap", "hello", "-n", ns, "-o", "name"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert res.returncode == 0 and res.stdout.strip() == "configmap/hello", res.stderr
    res = subprocess.run(
        [str(runner), *as_sa, "auth", "whoami", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert json.loads(res.stdout)["status"]["userInfo"]["username"] == who, res.stderr


def test_controller_manager_gc_namespaces_and_default_service_account(kube_cluster: TestCluster) -> None:
    k = kube_cluster
    ns = "gc-smoke"
    ok(k.kubectl("create", "namespace", ns))
    # The service-account controller gives each namespace its "default" ServiceAccount.
    eventually(
        lambda: k.kubectl("get", "serviceaccount", "default", "-n", ns).returncode == 0,
        what="default ServiceAccount",
    )

    ok(k.kubectl("create", "configmap", "owner", "-n", ns))
    uid = ok(k.kubectl("get", "configmap", "owner", "-n", ns, "-o", "jsonpath={.metadata.uid}")).strip()
    child = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "child",
            "namespace": ns,
            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid}],
        },
    }
    ok(k.kubectl("apply", "-f", "-", input=json.dumps(child)))
    ok(k.kubectl("delete", "configmap", "owner", "-n", ns))
    eventually(
        lambda: k.kubectl("get", "configmap", "child", "-n", ns).returncode != 0,
        what="garbage collection of the owned ConfigMap",
    )

    ok(k.kubectl("delete", "namespace", ns, "--wait=false"))
    eventually(lambda: k.kubectl("get", "namespace", ns).returncode != 0, what="namespace deletion")


def test_helm_installs_a_chart(kube_cluster: TestCluster, tmp_path: Path) -> None:
    k = kube_cluster
    version = ok(k.helm("version", "--short"))
    assert version.startswith("v4.3.1"), version

    chart = tmp_path / "smoke"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(
        "apiVersion: v2\nname: smoke\nversion: 0.1.0\nkubeVersion: '>=1.30.0-0'\n"
    )
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-cm\n"
        "data:\n  k: {{ .Values.k | quote }}\n"
    )
    (chart / "values.yaml").write_text("k: v\n")
    ok(k.helm("install", "smoke", str(chart), "-n", "default", "--set", "k=hello", "--wait", "--timeout=60s"))
    data = json.loads(ok(k.kubectl("get", "configmap", "smoke-cm", "-n", "default", "-o", "json")))["data"]
    assert data == {"k": "hello"}
    ok(k.helm("uninstall", "smoke", "-n", "default"))
    assert k.kubectl("get", "configmap", "smoke-cm", "-n", "default").returncode != 0
