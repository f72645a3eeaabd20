"""Evaluator status from the eval workers' counters, on the real test cluster.

The operator (under the chart's ServiceAccount) runs its ``worker-stats`` timer every second here
(``OTELGUARD_EVALUATOR_STATS_INTERVAL``). The test writes counters into a real Redis exactly as a worker does
(``record_batch``) and watches them arrive in the Evaluator's status — without the timer's status patches
re-running the reconcile handler, while a suspended Evaluator is left alone, and through the installation's
``urlSecretRef`` (a missing Secret and an unreachable Redis are skipped, then recovered from).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from kube_cluster import TestCluster, free_port
from operator_process import Operator, service_account_kubeconfig, wait_for

from otelguard.api.v1alpha1 import KINDS
from otelguard.evals.stats import record_batch
from otelguard.local.embedded import EmbeddedPostgres, EmbeddedRedis

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
RELEASE, SYSTEM_NS, NS = "otelguard-stats", "otelguard-stats-system", "otelguard-stats"
EVALUATOR = "answer-length"
INTERVAL_S = 1.0
HANDLED = "otelguard.io/last-handled-configuration"
T_OLD = 1735732800.0  # 2025-01-01T12:00:00Z: a past minute, so spansPerMinute stays 0 for it


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"{result.args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def apply(k: TestCluster, *docs: dict[str, Any]) -> None:
    ok(k.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(docs)))


def get(k: TestCluster, plural: str, name: str) -> dict[str, Any]:
    return dict(json.loads(ok(k.kubectl("get", plural, name, "-n", NS, "-o", "json"))))


def evaluator(k: TestCluster) -> dict[str, Any]:
    return get(k, "evaluators", EVALUATOR)


def first_matching(k: TestCluster, predicate: Any) -> dict[str, Any] | None:
    obj = evaluator(k)
    return obj if predicate(obj) else None


def ready_reason(obj: dict[str, Any]) -> str | None:
    """The Ready reason once Ready=True is computed for the current generation."""
    status, generation = obj.get("status") or {}, obj["metadata"]["generation"]
    if status.get("observedGeneration") != generation:
        return None
    for cond in status.get("conditions", []):
        if cond["type"] == "Ready" and cond["observedGeneration"] == generation and cond["status"] == "True":
            return str(cond["reason"])
    return None


def rfc3339(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def counters(obj: dict[str, Any]) -> dict[str, Any]:
    keys = ("scoredSpans", "errors", "judgeCostUsd", "spansPerMinute", "lastRun")
    status = obj.get("status") or {}
    return {key: status[key] for key in keys if key in status}


def scores(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [{"span_id": f"{i:016x}", "name": "answer-length", "value": 1.0} for i in range(start, start + n)]


def installation(dsn_secret: str, redis_spec: dict[str, Any], tmp: Path) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((REPO / "examples" / "manifests" / "10-otelguard.yaml").read_text())
    doc["metadata"]["namespace"] = NS
    doc["spec"].pop("smtp", None)
    doc["spec"]["storage"] = {
        "clickhouse": {"url": f"chdb://{tmp / 'clickhouse'}", "database": "otelguard"},
        "postgres": {"dsnSecretRef": {"name": dsn_secret, "key": "dsn"}},
        "redis": redis_spec,
    }
    return doc


def secret(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS},
            "type": "Opaque", "stringData": data}  # fmt: skip


@pytest.fixture(scope="module")
def env(kube_cluster: TestCluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    k = kube_cluster
    tmp = tmp_path_factory.mktemp("evaluator-stats-e2e")
    pg, rds = EmbeddedPostgres(), EmbeddedRedis()
    dsn = pg.start(tmp / "pg")
    redis_url = rds.start(tmp / "redis")
    client = redis.Redis.from_url(redis_url)
    operator: Operator | None = None
    try:
        ok(k.kubectl("create", "namespace", NS))
        chart = str(REPO / "charts" / "otelguard")
        ok(k.helm("install", RELEASE, chart, f"--namespace={SYSTEM_NS}", "--create-namespace",
                  f"--set=rbac.secretNamespaces={{{NS}}}", "--timeout=120s"))  # fmt: skip
        kubeconfig = service_account_kubeconfig(k, SYSTEM_NS, RELEASE, tmp / "operator.kubeconfig")
        operator = Operator(k, kubeconfig, tmp, NS, metrics_port=free_port())
        with pytest.MonkeyPatch.context() as mp:  # the subprocess copies the environment at start
            mp.setenv("OTELGUARD_EVALUATOR_STATS_INTERVAL", str(INTERVAL_S))
            operator.start()
        apply(
            k,
            secret("otelguard-postgres", dsn=dsn),
            installation("otelguard-postgres", {"url": redis_url}, tmp),
            {
                "apiVersion": "otelguard.io/v1alpha1",
                "kind": "Evaluator",
                "metadata": {"name": EVALUATOR, "namespace": NS},
                "spec": {
                    "kind": "heuristic",
                    "heuristic": {"type": "length", "params": {"min": 1, "max": 2000}},
                    "score": {"name": "answer-length", "dataType": "boolean"},
                },
            },
        )
        yield {"k": k, "operator": operator, "redis": client, "redis_url": redis_url, "tmp": tmp}
    finally:
        for info in KINDS:  # while the operator runs, so the finalizers are released
            k.kubectl("delete", info.plural, "--all", "-n", NS, "--timeout=60s")
        if operator is not None:
            operator.stop()
        k.helm("uninstall", RELEASE, f"--namespace={SYSTEM_NS}", "--timeout=120s")
        k.kubectl("delete", "crd", *[info.crd_name for info in KINDS], "--ignore-not-found", "--timeout=120s")
        k.kubectl("delete", "namespace", NS, SYSTEM_NS, "--ignore-not-found", "--timeout=120s")
        client.close()
        rds.stop()
        pg.stop()


def wait_counters(
    env: dict[str, Any], expect: dict[str, Any], what: str, *, per_minute: bool = True, timeout: float = 30
) -> Any:
    """Wait for the counters in ``expect`` (all of them; spansPerMinute too unless ``per_minute`` is off:
    it rolls over with the clock)."""
    k = env["k"]
    expect = {key: v for key, v in expect.items() if per_minute or key != "spansPerMinute"}

    def matches(obj: dict[str, Any]) -> bool:
        got = counters(obj)
        got = {key: v for key, v in got.items() if per_minute or key != "spansPerMinute"}
        last[0] = got
        return got == expect

    last: list[Any] = [None]
    try:
        return wait_for(lambda: first_matching(k, matches), timeout, what)
    except AssertionError:
        print(f"last counters: {last[0]}\n" + env["operator"].log.read_text()[-5000:])
        raise


def stays(env: dict[str, Any], expect: dict[str, Any], seconds: float) -> dict[str, Any]:
    """The Evaluator after ``seconds`` (several timer ticks) in which its status and object did not change."""
    k = env["k"]
    before = evaluator(k)
    assert counters(before) == expect
    time.sleep(seconds)
    after = evaluator(k)
    assert counters(after) == expect
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"], "a write"
    return after


def test_worker_counters_reach_the_status_without_a_reconcile(env: dict[str, Any]) -> None:
    k, operator, client = env["k"], env["operator"], env["redis"]
    wait_for(lambda: ready_reason(get(k, "otelguards", "otelguard")), 120, "the OTelGuard Ready=True")
    wait_for(lambda: ready_reason(evaluator(k)) == "Stored", 60, "the Evaluator Ready=True")
    # Before any worker ran, the timer writes the zero counters (no lastRun) once.
    wait_counters(env, {"scoredSpans": 0, "errors": 0, "judgeCostUsd": 0, "spansPerMinute": 0}, "zeros")
    first = evaluator(k)
    reconciles = operator.metric("otelguard_operator_reconciles_total")
    assert reconciles >= 2  # the OTelGuard and the Evaluator were reconciled

    record_batch(client, f"{NS}/{EVALUATOR}", 1, scores(3), errors=1, judge_cost_usd=0.0125, now=T_OLD)
    expect = {"scoredSpans": 3, "errors": 1, "judgeCostUsd": 0.0125, "spansPerMinute": 0,
              "lastRun": "2025-01-01T12:00:00Z"}  # fmt: skip
    wait_counters(env, expect, "the first batch's counters")
    stays(env, expect, 5 * INTERVAL_S)  # unchanged counters: no status patch at all

    # A batch in the previous and one in the current minute: whichever minute the timer reads, it is 2.
    now = time.time()
    record_batch(client, f"{NS}/{EVALUATOR}", 1, scores(2, 10), now=now - 60)
    record_batch(client, f"{NS}/{EVALUATOR}", 1, scores(2, 20), judge_cost_usd=0.0005, now=now)
    expect = {
        "scoredSpans": 7,
        "errors": 1,
        "judgeCostUsd": 0.013,
        "spansPerMinute": 2,
        "lastRun": rfc3339(now),
    }
    last = wait_counters(env, expect, "the later batches' counters")

    # Status-only patches: kopf's diff base ignores status, so the reconcile handler never re-ran.
    meta, first_meta = last["metadata"], first["metadata"]
    assert meta["generation"] == first_meta["generation"]
    assert meta["annotations"][HANDLED] == first_meta["annotations"][HANDLED]
    assert last["status"]["observedGeneration"] == first["status"]["observedGeneration"]
    assert last["status"]["conditions"] == first["status"]["conditions"]
    assert operator.metric("otelguard_operator_reconciles_total") == reconciles
    log = operator.log.read_text()
    assert "worker stats" not in log, log[-3000:]  # nothing went wrong on the way
    assert "Timer 'worker-stats'" not in log, log[-3000:]  # no INFO line per tick


def test_a_suspended_evaluator_is_skipped(env: dict[str, Any]) -> None:
    k, client = env["k"], env["redis"]
    key = f"{NS}/{EVALUATOR}"
    ok(
        k.kubectl(
            "patch", "evaluator", EVALUATOR, "-n", NS, "--type=merge", "-p", '{"spec":{"suspend":true}}'
        )
    )
    wait_for(lambda: ready_reason(evaluator(k)) == "Suspended", 60, "Ready=True reason Suspended")
    held = counters(evaluator(k))
    written = time.time()  # e.g. tasks that were queued before the suspend
    record_batch(client, key, 1, scores(5, 100), now=written)
    stays(env, held, 5 * INTERVAL_S)

    ok(
        k.kubectl(
            "patch", "evaluator", EVALUATOR, "-n", NS, "--type=merge", "-p", '{"spec":{"suspend":false}}'
        )
    )
    resumed = wait_for(lambda: first_matching(k, lambda o: ready_reason(o) == "Stored"), 60, "resumed")
    expect = {**held, "scoredSpans": held["scoredSpans"] + 5, "lastRun": rfc3339(written)}
    wait_counters(env, expect, "the counters after the resume", per_minute=False)
    assert resumed["metadata"]["annotations"][HANDLED]


def test_the_url_secret_ref_is_followed_and_failures_are_skipped(env: dict[str, Any]) -> None:
    k, operator, client = env["k"], env["operator"], env["redis"]
    key = f"{NS}/{EVALUATOR}"
    to_secret = {
        "spec": {"storage": {"redis": {"url": None, "urlSecretRef": {"name": "redis", "key": "url"}}}}
    }
    held = counters(evaluator(k))
    held.pop("spansPerMinute")

    def settled() -> dict[str, Any]:
        out = counters(evaluator(k))
        out.pop("spansPerMinute")
        return out

    # 1. the Secret does not exist: StoreUnavailable, skipped quietly (debug only)
    ok(k.kubectl("patch", "otelguards", "otelguard", "-n", NS, "--type=merge", "-p", json.dumps(to_secret)))
    record_batch(client, key, 1, scores(1, 200), now=T_OLD + 120)
    time.sleep(5 * INTERVAL_S)
    assert settled() == held
    # 2. the Secret names a Redis nobody listens on: a warning (once), skipped, the operator stays up
    apply(k, secret("redis", url=f"redis://127.0.0.1:{free_port()}/0"))
    wait_for(lambda: "reading worker stats from Redis" in operator.log.read_text(), 30, "the Redis warning")
    time.sleep(3 * INTERVAL_S)
    assert settled() == held
    log = operator.log.read_text()
    assert log.count("reading worker stats from Redis") == 1, log[-3000:]
    assert operator.proc is not None and operator.proc.poll() is None
    # 3. the Secret names the workers' Redis: the counters (with the batch written meanwhile) arrive
    apply(k, secret("redis", url=env["redis_url"]))
    expect = {**held, "scoredSpans": held["scoredSpans"] + 1, "lastRun": rfc3339(T_OLD + 120)}
    wait_counters(env, expect, "the counters through urlSecretRef", per_minute=False)
    wait_for(lambda: "readable again" in operator.log.read_text(), 10, "the recovery log line")
