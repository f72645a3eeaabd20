"""Run ``otelguard operator`` against the test cluster as a subprocess, under a ServiceAccount's identity
(shared by the operator e2e tests and bench/operator.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import yaml
from kube_cluster import TestCluster, free_port

import polling


def service_account_kubeconfig(k: TestCluster, namespace: str, account: str, path: Path) -> Path:
    """A kubeconfig that authenticates with a token of ``namespace/account`` (what a pod would use)."""
    out = k.kubectl("create", "token", account, "-n", namespace, "--duration=2h", check=True)
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "operator",
        "clusters": [
            {"name": "test", "cluster": {"server": k.server_url, "certificate-authority": str(k.ca_file)}}
        ],
        "users": [{"name": "operator", "user": {"token": out.stdout.strip()}}],
        "contexts": [{"name": "operator", "context": {"cluster": "test", "user": "operator"}}],
    }))  # fmt: skip
    return path


def wait_for(predicate: Any, timeout: float = 90.0, what: str = "") -> Any:
    return polling.eventually(predicate, timeout, what=what or "the condition", interval_s=0.3)


def apiserver_writes(k: TestCluster) -> float:
    """Mutating requests the API server has served for otelguard.io objects and their children."""
    text = k.kubectl("get", "--raw", "/metrics", check=True).stdout
    total = 0.0
    for line in text.splitlines():
        if not line.startswith("apiserver_request_total{"):
            continue
        verb = re.search(r'verb="(\w+)"', line)
        group = re.search(r'group="([^"]*)"', line)
        resource = re.search(r'resource="([^"]*)"', line)
        if not (verb and group and resource) or verb.group(1) not in (
            "POST",
            "PATCH",
            "PUT",
            "DELETE",
            "APPLY",
        ):
            continue
        if group.group(1) == "otelguard.io" or resource.group(1) in (
            "deployments", "services", "configmaps", "serviceaccounts", "statefulsets", "events",
        ):  # fmt: skip
            total += float(line.rsplit(" ", 1)[1])
    return total


class Operator:
    def __init__(
        self, k: TestCluster, kubeconfig: Path, data_dir: Path, namespace: str, *, metrics_port: int = 0
    ) -> None:
        self.namespace = namespace
        self.metrics_port = metrics_port
        self.k, self.kubeconfig, self.data_dir = k, kubeconfig, data_dir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "operator.log"

    def start(self) -> None:
        env = {**os.environ, "KUBECONFIG": str(self.kubeconfig)}
        cmd = [sys.executable, "-m", "otelguard.cli", "operator", "--namespace", self.namespace,
               "--liveness", f"http://127.0.0.1:{self.port}/healthz",
               "--metrics-port", str(self.metrics_port),
               "--data-dir", str(self.data_dir)]  # fmt: skip
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)

        def live() -> bool:
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(live, 60, "operator liveness")

    def metric(self, name: str) -> float:
        """Sum of a counter over its labels, from the operator's /metrics."""
        text = httpx.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + "{"))

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            self.proc = None
