"""examples/manifests (one valid resource of every kind, its Namespace and Secrets) and examples/argocd."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_helm import REPO

from otelguard.api.v1alpha1 import KINDS, check_manifest, kind_of

MANIFESTS = REPO / "examples" / "manifests"
ARGOCD = REPO / "examples" / "argocd"
NAMESPACE = "otelguard"


def load(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


FILES = sorted(MANIFESTS.glob("*.yaml"))
DOCS = [(path.name, doc) for path in FILES for doc in load(path)]
RESOURCES = [doc for _, doc in DOCS if doc["apiVersion"].startswith("otelguard.io/")]
SECRETS = {doc["metadata"]["name"]: doc for _, doc in DOCS if doc["kind"] == "Secret"}


def secret_refs(value: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every ``...SecretRef: {name, key}`` in a spec."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("SecretRef"):
                yield f"{path}.{key}", item
            else:
                yield from secret_refs(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from secret_refs(item, f"{path}[{i}]")


def test_only_yaml_files() -> None:
    assert sorted(p.name for p in MANIFESTS.iterdir()) == [p.name for p in FILES]


def test_one_resource_of_every_kind() -> None:
    assert sorted(doc["kind"] for doc in RESOURCES) == sorted(info.kind for info in KINDS)


@pytest.mark.parametrize("doc", RESOURCES, ids=lambda d: d["kind"])
def test_resources_are_valid(doc: dict[str, Any]) -> None:
    kind_of(doc)
    stored = check_manifest(doc)  # raises InvalidManifest with the API server's message
    assert stored["metadata"]["namespace"] == NAMESPACE
    assert "status" not in doc


def test_namespace_and_secrets_come_first() -> None:
    """`kubectl apply -f examples/manifests` applies files in name order: Namespace, Secrets, resources."""
    order = [doc["kind"] for _, doc in DOCS]
    assert order[0] == "Namespace"
    assert DOCS[0][1]["metadata"]["name"] == NAMESPACE
    last_core = max(i for i, kind in enumerate(order) if kind in ("Namespace", "Secret"))
    first_resource = min(
        i for i, (_, doc) in enumerate(DOCS) if doc["apiVersion"].startswith("otelguard.io/")
    )
    assert last_core < first_resource
    for _, doc in DOCS:
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == NAMESPACE, doc["metadata"]["name"]


def test_every_secret_reference_resolves() -> None:
    refs = [(doc["kind"], path, ref) for doc in RESOURCES for path, ref in secret_refs(doc["spec"], "spec")]
    assert any(path == "spec.storage.postgres.dsnSecretRef" for _, path, _ in refs)
    for kind, path, ref in refs:
        secret = SECRETS.get(ref["name"])
        assert secret is not None, f"{kind} {path}: no Secret {ref['name']}"
        assert ref["key"] in {**secret.get("stringData", {}), **secret.get("data", {})}, (kind, path, ref)
    dsn = SECRETS["otelguard-postgres"]["stringData"]["dsn"]
    assert dsn.startswith("postgresql://")


def test_prompt_labels_point_at_versions_that_exist_after_the_first_apply() -> None:
    prompt = next(doc for doc in RESOURCES if doc["kind"] == "Prompt")
    assert all(target in (1, "latest") for target in prompt["spec"]["labels"].values())


def application(name: str) -> dict[str, Any]:
    docs = load(ARGOCD / name)
    assert len(docs) == 1
    app = docs[0]
    assert app["apiVersion"] == "argoproj.io/v1alpha1"
    assert app["kind"] == "Application"
    return app


def test_argocd_application_syncs_the_examples() -> None:
    app = application("application.yaml")
    source = app["spec"]["source"]
    assert source["path"] == "examples/manifests"
    assert (REPO / source["path"]).is_dir()
    assert app["spec"]["destination"]["namespace"] == NAMESPACE
    policy = app["spec"]["syncPolicy"]
    assert policy["automated"] == {"prune": True, "selfHeal": True}
    assert "ServerSideApply=true" in policy["syncOptions"]


def test_argocd_operator_application_installs_the_chart_first() -> None:
    app = application("operator.yaml")
    assert app["spec"]["source"]["path"] == "charts/otelguard"
    assert (REPO / "charts" / "otelguard" / "Chart.yaml").is_file()
    waves = {
        name: int(application(name)["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"])
        for name in ("operator.yaml", "application.yaml")
    }
    assert waves["operator.yaml"] < waves["application.yaml"]
