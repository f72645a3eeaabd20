"""Operator benchmark (control-plane issue): apply 500 Prompts and 100 GuardrailPolicies to the real test
cluster; time until all are Ready, API writes per resource to converge, and writes on a resync (operator
restart) with nothing changed. One JSON line per figure with its target and ratio.

Run: ``make bench`` (or ``.venv/bin/python bench/control_plane.py``); needs ``make cluster``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "e2e"))

from kube_cluster import TestCluster, build, free_port  # noqa: E402
from operator_process import Operator, apiserver_writes, service_account_kubeconfig, wait_for  # noqa: E402

from otelguard.local.embedded import EmbeddedPostgres  # noqa: E402

NS, SYSTEM_NS = "bench", "otelguard-system"


def emit(metric: str, value: float, target: float, unit: str, better: str, **extra: object) -> None:
    if better == "higher":
        ratio = value / target
    elif target == 0:
        ratio = 1.0 if value == 0 else 0.0
    else:
        ratio = target / value if value else float("inf")
    line = {"bench": "operator", "metric": metric, "value": round(value, 3), "unit": unit, "target": target}
    print(json.dumps({**line, "better": better, "ratio": round(ratio, 3), **extra}), flush=True)


def resources(prompts: int, policies: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(prompts):
        out.append({"apiVersion": "otelguard.io/v1alpha1", "kind": "Prompt",
                    "metadata": {"name": f"prompt-{i:04d}", "namespace": NS},
                    "spec": {"template": f"Answer question {i} about {{{{ topic }}}} briefly.",
                             "variables": [{"name": "topic", "required": True}],
                             "labels": {"production": "latest"}}})  # fmt: skip
    for i in range(policies):
        out.append({"apiVersion": "otelguard.io/v1alpha1", "kind": "GuardrailPolicy",
                    "metadata": {"name": f"policy-{i:03d}", "namespace": NS},
                    "spec": {"stages": ["input"], "priority": i,
                             "rules": [{"name": "pii", "validator": "pii", "threshold": 0.5,
                                        "onFail": [{"type": "sanitize"}]}]}})  # fmt: skip
    return out


def ready_count(k: TestCluster) -> int:
    out = k.kubectl("get", "prompts,guardrailpolicies", "-n", NS, "-o", "json", check=True, timeout=120)
    count = 0
    for obj in json.loads(out.stdout)["items"]:
        status, gen = obj.get("status") or {}, obj["metadata"]["generation"]
        conds = [c for c in status.get("conditions", []) if c["type"] == "Ready"]
        count += bool(status.get("observedGeneration") == gen and conds and conds[0]["status"] == "True")
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompts", type=int, default=500)
    parser.add_argument("--policies", type=int, default=100)
    args = parser.parse_args()
    build()
    total = args.prompts + args.policies
    with tempfile.TemporaryDirectory(prefix="otelguard-opbench-", dir=REPO / ".cache") as tmp_name:
        tmp = Path(tmp_name)
        k = TestCluster()
        k.start(tmp / "cluster")
        pg = EmbeddedPostgres()
        dsn = pg.start(tmp / "pg")
        operator = None
        try:
            k.kubectl("create", "namespace", NS, check=True)
            k.helm("install", "otelguard", str(REPO / "charts" / "otelguard"), f"--namespace={SYSTEM_NS}",
                   "--create-namespace", f"--set=rbac.secretNamespaces={{{NS}}}", check=True)  # fmt: skip
            setup = [
                {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "pg", "namespace": NS},
                 "stringData": {"dsn": dsn}},
                {"apiVersion": "otelguard.io/v1alpha1", "kind": "OTelGuard",
                 "metadata": {"name": "otelguard", "namespace": NS},
                 "spec": {"storage": {"clickhouse": {"url": f"chdb://{tmp / 'ch'}"},
                                      "postgres": {"dsnSecretRef": {"name": "pg", "key": "dsn"}},
                                      "redis": {"url": "redis://redis:6379/0"}}}},
            ]  # fmt: skip
            k.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(setup), check=True)
            kubeconfig = service_account_kubeconfig(k, SYSTEM_NS, "otelguard", tmp / "operator.kubeconfig")
            operator = Operator(k, kubeconfig, tmp, NS, metrics_port=free_port())
            operator.start()
            wait_for(lambda: operator.metric("otelguard_operator_reconciles_total") >= 1, 60, "installation")
            time.sleep(2)
            writes_0 = apiserver_writes(k)
            started = time.monotonic()
            manifests = yaml.safe_dump_all(resources(args.prompts, args.policies))
            k.kubectl("apply", "--server-side", "-f", "-", input=manifests, check=True, timeout=300)
            wait_for(lambda: ready_count(k) >= total, 600, f"{total} resources Ready")
            elapsed = time.monotonic() - started
            time.sleep(3)  # let trailing writes land before counting
            operator_writes = apiserver_writes(k) - writes_0 - total  # minus the `kubectl apply` creates
            emit("time_to_ready_s", elapsed, 60, "s", "lower", resources=total)
            emit("writes_per_resource_to_converge", operator_writes / total, 3, "writes", "lower")
            # resync: restart, let kopf resume every resource, count writes
            writes_1 = apiserver_writes(k)
            operator.stop()
            operator.start()
            wait_for(
                lambda: operator.metric("otelguard_operator_reconciles_total") >= total + 1,
                300,
                "resume of all",
            )
            time.sleep(3)
            resync = apiserver_writes(k) - writes_1
            emit("writes_on_resync", resync, 0, "writes", "lower")
        finally:
            if operator is not None:
                operator.stop()
            k.stop()
            pg.stop()


if __name__ == "__main__":
    main()
