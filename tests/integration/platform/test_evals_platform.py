"""Evaluations end to end on a real ``otelguard up --manifests DIR``: an Evaluator applied from a
manifest, spans sent through the OpenTelemetry SDK, a real Celery eval worker on the embedded Redis,
scores read back through the API and the workers' counters on the Evaluator's status."""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

import polling
from platform_process import Platform

pytestmark = [pytest.mark.slow]

EVALUATORS = """\
apiVersion: otelguard.io/v1alpha1
kind: Evaluator
metadata: {name: mentions-refund, namespace: default}
spec:
  kind: heuristic
  target: {spanKinds: [llm]}
  heuristic: {type: contains, params: {substring: refund, caseInsensitive: true}}
  score: {name: mentions_refund, dataType: boolean}
---
apiVersion: otelguard.io/v1alpha1
kind: Evaluator
metadata: {name: beta-only, namespace: default}
spec:
  kind: heuristic
  target: {tags: [beta]}
  heuristic: {type: json-valid}
  score: {name: beta_json}
"""


eventually = functools.partial(polling.eventually, timeout_s=60.0)


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    root = tmp_path_factory.mktemp("evals-up")
    manifests = root / "manifests"
    manifests.mkdir()
    (manifests / "evaluators.yaml").write_text(EVALUATORS)
    platform = Platform(root / "data", manifests=manifests)
    platform.start()
    yield platform
    platform.close()


def send(platform: Platform, answers: list[str]) -> list[str]:
    exporter = OTLPSpanExporter(endpoint=f"{platform.otlp_http_url}/v1/traces", headers=platform.auth)
    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("otelguard.eval-tests")
    span_ids = []
    for answer in answers:
        with tracer.start_as_current_span("agent"), tracer.start_as_current_span("chat gpt-4o-mini") as llm:
            llm.set_attribute("gen_ai.operation.name", "chat")
            llm.set_attribute("gen_ai.request.model", "gpt-4o-mini")
            llm.set_attribute("gen_ai.input.messages", json.dumps([{"role": "user", "content": "help"}]))
            llm.set_attribute(
                "gen_ai.output.messages", json.dumps([{"role": "assistant", "content": answer}])
            )
            span_ids.append(format(llm.get_span_context().span_id, "016x"))
    provider.shutdown()
    return span_ids


def status(platform: Platform, name: str) -> dict[str, Any]:
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "otelguard.cli", "get", "evaluator", name, "-o", "json",
         "--data-dir", str(platform.data_dir)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return dict(json.loads(out.stdout).get("status", {}))


def test_spans_are_scored_by_matching_evaluators(up: Platform) -> None:
    answers = ["You will get a full Refund.", "Your order ships today.", "refund approved", "ok"]
    span_ids = send(up, answers)

    def scores() -> list[dict[str, Any]]:
        got = up.get("/api/v1/scores", name="mentions_refund", limit=100)
        assert got.status_code == 200, got.text
        items = list(got.json()["items"])
        return items if len(items) >= len(answers) else []

    items = eventually(scores)
    by_span = {i["span_id"]: i for i in items}
    assert set(by_span) == set(span_ids)  # llm spans only: the agent spans are not scored
    assert [by_span[s]["value"] for s in span_ids] == [1.0, 0.0, 1.0, 0.0]
    first = by_span[span_ids[0]]
    assert first["source"] == "evaluator" and first["evaluator_name"] == "default/mentions-refund"
    assert up.get("/api/v1/scores", name="beta_json").json()["items"] == []  # no span has tag beta

    st = eventually(lambda: (s := status(up, "mentions-refund")).get("scoredSpans") == 4 and s)
    assert st["errors"] == 0 and st["lastRun"].endswith("Z")
    ready = next(c for c in st["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "True"


def test_evaluator_spec_change_is_picked_up_without_restart(up: Platform) -> None:
    path = Path(str(up.manifests)) / "evaluators.yaml"
    path.write_text(EVALUATORS.replace("substring: refund", "substring: shipped"))
    time.sleep(3)  # the GitOps loop applies it; the enqueuer re-reads evaluators every 2 s
    span_ids = send(up, ["It shipped yesterday."])

    def scored() -> list[dict[str, Any]]:
        items = up.get("/api/v1/scores", name="mentions_refund", span_id=span_ids[0]).json()["items"]
        return list(items)

    items = eventually(scored)
    assert items[0]["value"] == 1.0 and items[0]["evaluator_version"] == "2"


LATE = """\
apiVersion: otelguard.io/v1alpha1
kind: Evaluator
metadata: {name: late, namespace: default}
spec:
  kind: heuristic
  suspend: true   # nothing is scored at ingest: only the backfill below scores
  target: {spanKinds: [llm]}
  heuristic: {type: contains, params: {substring: refund, caseInsensitive: true}}
  score: {name: late_refund, dataType: boolean}
"""


def test_backfill_scores_stored_spans_once(up: Platform) -> None:
    import httpx

    mine = send(up, ["a refund, late", "no"])
    (Path(str(up.manifests)) / "late.yaml").write_text(LATE)
    eventually(lambda: any(e["name"] == "late" for e in up.get("/api/v1/evaluators").json()["items"]))
    now = time.time()
    body = {
        "from": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - 3600)),
        "to": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 60)),
    }

    def post(path: str, payload: dict[str, Any]) -> httpx.Response:
        return httpx.post(f"{up.api_url}{path}", json=payload, headers=up.auth, timeout=30)

    def stored(span_id: str) -> bool:  # the ingest-time evaluator scored it: the span is in ClickHouse
        return bool(up.get("/api/v1/scores", name="mentions_refund", span_id=span_id).json()["items"])

    eventually(lambda: all(stored(s) for s in mine))
    r = post("/api/v1/evaluators/late/backfill", body)
    assert r.status_code == 202, r.text
    got = dict(r.json())
    # only LLM spans are read (the target's spanKinds), all of them sampled (rate 1)
    assert got["matched"] == got["spans_read"] and got["evaluator"] == "default/late"

    def scores() -> dict[str, float]:
        items = up.get("/api/v1/scores", name="late_refund", limit=1000).json()["items"]
        by_span = {i["span_id"]: i["value"] for i in items}
        return by_span if len(by_span) >= got["matched"] else {}

    by_span = eventually(scores)
    assert len(by_span) == got["matched"] and set(mine) <= by_span.keys()
    assert [by_span[s] for s in mine] == [1.0, 0.0]
    assert post("/api/v1/evaluators/late/backfill", body).status_code == 202  # again: nothing scored twice
    time.sleep(3)
    assert len(up.get("/api/v1/scores", name="late_refund", limit=1000).json()["items"]) == got["matched"]

    assert post("/api/v1/evaluators/nope/backfill", body).status_code == 404
    assert (
        post("/api/v1/evaluators/late/backfill", {"from": body["to"], "to": body["from"]}).status_code == 400
    )
    wide = {"from": "2020-01-01T00:00:00Z", "to": "2020-06-01T00:00:00Z"}
    assert post("/api/v1/evaluators/late/backfill", wide).status_code == 400
    assert post("/api/v1/evaluators/late/backfill", {**body, "extra": 1}).status_code == 422
    assert post("/api/v1/evaluators/late/backfill", {**body, "from": "yesterday"}).status_code == 422
