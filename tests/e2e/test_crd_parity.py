"""The real kube-apiserver accepts the CRDs and agrees with validation.py, error for error.

Runs on the real test cluster (tests/e2e/cluster, built by ``make cluster``). Each manifest
is created with ``dryRun=All&fieldValidation=Strict`` (kubectl apply's default), so nothing is stored.
"""

from __future__ import annotations

import json
import ssl
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit" / "api"))
from api_cases import CASES, FIXTURES, Case, fixture

from otelguard.api.v1alpha1 import (
    InvalidManifest,
    check_manifest,
    default_manifest,
    kind_of,
    validate_manifest,
)

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / ".cache" / "cluster" / "bin"

pytestmark = [pytest.mark.e2e]


class ApiServer:
    def __init__(self, url: str, pki: Path) -> None:
        self.url = url
        self.ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        self.ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))

    def dry_run_create(self, manifest: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        info = kind_of(manifest)
        namespace = manifest["metadata"].get("namespace", "default")
        request = urllib.request.Request(
            f"{self.url}/apis/otelguard.io/v1alpha1/namespaces/{namespace}/{info.plural}"
            "?dryRun=All&fieldValidation=Strict",
            data=json.dumps(manifest).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, context=self.ctx, timeout=30) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())


@pytest.fixture(scope="module")
def apiserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    from kube_cluster import TestCluster

    cluster = TestCluster()
    cluster.start(tmp_path_factory.mktemp("crd-parity"), controller_manager=False)
    try:
        cluster.kubectl("apply", "-f", str(REPO / "crds"), check=True)
        cluster.kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s", check=True)
        cluster.kubectl("create", "namespace", "otelguard", check=True)
        yield ApiServer(cluster.server_url, cluster.workdir / "data" / "pki")
    finally:
        cluster.stop()


def causes(status: dict[str, Any]) -> list[str]:
    return sorted(f"{c['field']}: {c['message']}" for c in status.get("details", {}).get("causes", []))


@pytest.mark.parametrize("name", sorted(p.stem for p in FIXTURES.glob("*.yaml")))
def test_fixtures_are_accepted_and_defaulted_identically(apiserver: ApiServer, name: str) -> None:
    manifest = fixture(name)
    code, stored = apiserver.dry_run_create(manifest)
    assert code == 201, stored
    assert stored["spec"] == default_manifest(manifest)["spec"]


def test_minimal_installation_defaults(apiserver: ApiServer) -> None:
    manifest = {
        "apiVersion": "otelguard.io/v1alpha1",
        "kind": "OTelGuard",
        "metadata": {"name": "minimal", "namespace": "otelguard"},
        "spec": {
            "storage": {
                "clickhouse": {"inCluster": {}},
                "postgres": {"dsnSecretRef": {"name": "pg", "key": "dsn"}},
                "redis": {"url": "redis://redis:6379"},
            }
        },
    }
    code, stored = apiserver.dry_run_create(manifest)
    assert code == 201, stored
    assert stored["spec"] == check_manifest(manifest)["spec"]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_errors_match_the_api_server(apiserver: ApiServer, case: Case) -> None:
    manifest = case.manifest()
    code, status = apiserver.dry_run_create(manifest)
    assert code == 422, status
    ours = sorted(str(e) for e in validate_manifest(manifest))
    if case.server_adds:
        assert set(ours) <= set(causes(status))
    else:
        assert ours == causes(status)


def test_whole_messages_match(apiserver: ApiServer) -> None:
    invalid = fixture("evaluator")
    del invalid["spec"]["judge"]
    unknown = fixture("dashboard")
    unknown["spec"]["widgets"][0]["colour"] = "red"
    for manifest in (invalid, unknown):
        _, status = apiserver.dry_run_create(manifest)
        with pytest.raises(InvalidManifest) as caught:
            check_manifest(manifest)
        assert str(caught.value) == status["message"]
