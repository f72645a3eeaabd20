"""Run the pinned ``helm`` (built by ``make cluster`` into .cache/cluster/bin) on charts/otelguard.

Tests that use it fail, never skip, when helm has not been built.
"""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "charts" / "otelguard"
HELM = REPO / ".cache" / "cluster" / "bin" / "helm"
HELM_HOME = REPO / ".cache" / "helm-unit"

RELEASE = "otelguard"
NAMESPACE = "otelguard-system"


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run helm with its cache/config/data kept under .cache/helm-unit (not the user's home)."""
    if not HELM.is_file():
        pytest.fail(f"{HELM} is missing: build it with `make cluster` (bash tests/e2e/cluster/build.sh)")
    env = dict(os.environ)
    for var, sub in (
        ("HELM_CACHE_HOME", "cache"),
        ("HELM_CONFIG_HOME", "config"),
        ("HELM_DATA_HOME", "data"),
    ):
        env[var] = str(HELM_HOME / sub)
    result = subprocess.run(
        [str(HELM), *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    if check and result.returncode != 0:
        pytest.fail(f"helm {' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


@functools.cache
def _render(sets: tuple[str, ...], release: str, namespace: str) -> tuple[dict[str, Any], ...]:
    args = ["template", release, str(CHART), "--namespace", namespace]
    for item in sets:
        args += ["--set", item]
    docs = yaml.safe_load_all(helm(*args).stdout)
    return tuple(d for d in docs if d)


def render(*sets: str, release: str = RELEASE, namespace: str = NAMESPACE) -> list[dict[str, Any]]:
    """The objects ``helm template`` renders with ``--set`` items ``sets`` (parsed, in order)."""
    return list(_render(tuple(sets), release, namespace))


def of_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = of_kind(objects, kind)
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


Rule = tuple[str, str, str]  # (apiGroup, resource, verb)


def rule_set(rules: list[dict[str, Any]]) -> set[Rule]:
    """RBAC rules flattened into (apiGroup, resource, verb) triples; resourceNames are not used here."""
    out: set[Rule] = set()
    for rule in rules:
        assert "resourceNames" not in rule and "nonResourceURLs" not in rule, rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    out.add((group, resource, verb))
    return out
