"""Evaluations end to end on a real ``otelguard up --manifests DIR``: an Evaluator applied from a
manifest, spans sent through the OpenTelemetry SDK, a real Celery eval worker on the embedded Redis,
scores read back through the API and the workers' counters on the Evaluator's status."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

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


def eventually(check: Callable[[], Any], timeout_s: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.3)


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
