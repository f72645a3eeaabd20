"""Ingest-stage policies on a real ``otelguard up --manifests DIR``: spans sent with the OpenTelemetry SDK,
read back through the API. PII is redacted before storage (and nowhere on disk), events link to the span,
shadow mode records only, other projects are untouched, and an edited manifest takes effect live."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from platform_process import Platform

pytestmark = pytest.mark.slow

POLICIES = """\
apiVersion: otelguard.io/v1alpha1
kind: GuardrailPolicy
metadata: {name: redact-pii, namespace: ingest-test}
spec:
  selector: {projects: [default], matchLabels: {service.name: shop-bot}}
  stages: [ingest]
  rules:
    - {name: pii, validator: pii, onFail: [{type: sanitize}]}
    - {name: secrets, validator: secrets, onFail: [{type: sanitize, params: {style: hash}}]}
    - {name: injection, validator: prompt-injection, onFail: [{type: alert}]}
---
apiVersion: otelguard.io/v1alpha1
kind: GuardrailPolicy
metadata: {name: watch-pii, namespace: ingest-test}
spec:
  selector: {matchLabels: {service.name: shadow-bot}}
  stages: [ingest]
  mode: shadow
  rules:
    - {name: pii, validator: pii, onFail: [{type: sanitize}]}
"""
EDITABLE = """\
apiVersion: otelguard.io/v1alpha1
kind: GuardrailPolicy
metadata: {name: editable, namespace: ingest-test}
spec:
  selector: {matchLabels: {service.name: edit-bot}}
  stages: [ingest]
  mode: MODE
  rules:
    - {name: pii, validator: pii, onFail: [{type: sanitize}]}
"""
SECRET = "sk-proj-" + "Xb7Kq9Lm2Np4Rs6Tv8Wx0Yz1Ab3Cd5Ef7Gh9Ij"


def eventually(what: str, check: Callable[[], Any], timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        got = check()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    root = tmp_path_factory.mktemp("ingest-guard-up")
    manifests = root / "manifests"
    manifests.mkdir()
    (manifests / "policies.yaml").write_text(POLICIES)
    (manifests / "editable.yaml").write_text(EDITABLE.replace("MODE", "shadow"))
    platform = Platform(root / "data", manifests=manifests)
    platform.start()
    yield platform
    platform.close()


def send(
    platform: Platform, service: str, prompt: str, answer: str, key: str | None = None
) -> tuple[str, str]:
    """One chat span through the OTel SDK; returns its (trace id, span id)."""
    headers = {"authorization": f"Bearer {key or platform.api_key}"}
    exporter = OTLPSpanExporter(endpoint=f"{platform.otlp_http_url}/v1/traces", headers=headers)
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("ingest-guard-tests").start_as_current_span("chat gpt-4o") as span:
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.request.model", "gpt-4o")
        span.set_attribute("gen_ai.input.messages", json.dumps([{"role": "user", "content": prompt}]))
        span.set_attribute("gen_ai.output.messages", json.dumps([{"role": "assistant", "content": answer}]))
        ctx = span.get_span_context()
    provider.shutdown()
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


def stored(platform: Platform, trace_id: str, key: str | None = None) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {key or platform.api_key}"}

    def fetch() -> dict[str, Any] | None:
        r = httpx.get(f"{platform.api_url}/api/v1/traces/{trace_id}", headers=headers, timeout=30)
        if r.status_code == 404:
            return None
        assert r.status_code == 200, r.text
        spans: list[dict[str, Any]] = r.json()["spans"]
        return spans[0]

    span: dict[str, Any] = eventually(f"trace {trace_id}", fetch)
    return span


def events(platform: Platform, trace_id: str, key: str | None = None) -> list[dict[str, Any]]:
    headers = {"authorization": f"Bearer {key or platform.api_key}"}
    r = httpx.get(
        f"{platform.api_url}/api/v1/guardrail-events",
        params={"trace_id": trace_id},
        headers=headers,
        timeout=30,
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


def on_disk(data_dir: Path, needle: str) -> list[str]:
    """Files under the data dir (spool, ClickHouse parts, Postgres) holding ``needle`` verbatim."""
    raw = needle.encode()
    return [str(p) for p in data_dir.rglob("*") if p.is_file() and raw in p.read_bytes()]


def test_pii_is_redacted_before_storage_and_events_link_to_the_span(up: Platform) -> None:
    email, card = "jane.doe@example.com", "4111 1111 1111 1111"
    trace_id, span_id = send(
        up, "shop-bot", f"I am {email}, card {card}, key {SECRET}.", f"Refund sent to card {card}."
    )
    span = stored(up, trace_id)
    assert span["span_id"] == span_id
    for text in (span["input"], span["output"]):
        assert email not in text and card not in text and SECRET not in text
    content = json.loads(span["input"])[0]["content"]
    assert content.startswith("I am <EMAIL>, card <CREDIT_CARD>, key <") and SECRET not in content
    assert json.loads(span["output"])[0]["content"] == "Refund sent to card <CREDIT_CARD>."
    assert span["attributes"]["otelguard.guardrail.ingest.action"] == "sanitize"
    assert span["attributes"]["otelguard.guardrail.ingest.policies"] == "ingest-test/redact-pii"

    rows = eventually("the ingest events", lambda: (e := events(up, trace_id)) and len(e) >= 3 and e)
    assert {(r["trace_id"], r["span_id"], r["stage"]) for r in rows} == {(trace_id, span_id, "ingest")}
    assert {r["rule"] for r in rows} == {"pii", "secrets"}
    assert all(r["policy"] == "ingest-test/redact-pii" and r["shadow"] is False for r in rows)
    found = {(f["field"], f["entity"]) for r in rows for f in r["findings"]}
    assert {("input", "EMAIL"), ("input", "CREDIT_CARD"), ("output", "CREDIT_CARD")} <= found
    assert all(email not in json.dumps(r) for r in rows)

    # Nothing on disk holds the raw values: not the spool, not ClickHouse's parts.
    assert on_disk(up.data_dir, email) == [] and on_disk(up.data_dir, SECRET) == []
    metrics = httpx.get(f"{up.otlp_http_url}/metrics", timeout=10).text
    assert 'otelguard_ingest_guard_actions_total{action="sanitize"}' in metrics


def test_a_project_without_policies_is_untouched(up: Platform, tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "otelguard.cli", "keys", "create", "--project", "ingest-other",
         "--data-dir", str(up.data_dir)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    key = next(line.split()[-1] for line in out.stdout.splitlines() if line.startswith("secret key:"))
    email = "other.person@example.org"
    trace_id, _ = send(up, "shop-bot", f"mail {email}", "ok", key=key)
    span = stored(up, trace_id, key=key)
    assert email in span["input"] and "otelguard.guardrail.ingest.action" not in span["attributes"]
    time.sleep(1.0)  # events would be written with the span's batch
    assert events(up, trace_id, key=key) == []
    assert on_disk(up.data_dir, email)  # the stored row holds it verbatim: the disk check above can fail


def test_shadow_policy_records_events_and_keeps_the_text(up: Platform) -> None:
    email = "watch.me@example.net"
    trace_id, span_id = send(up, "shadow-bot", f"mail {email}", "ok")
    span = stored(up, trace_id)
    assert email in span["input"] and "otelguard.guardrail.ingest.action" not in span["attributes"]
    (row,) = eventually("the shadow event", lambda: events(up, trace_id))
    assert (row["policy"], row["span_id"], row["stage"], row["shadow"]) == (
        "ingest-test/watch-pii",
        span_id,
        "ingest",
        True,
    )


def test_an_edited_manifest_takes_effect_without_restart(up: Platform) -> None:
    assert up.proc is not None and up.manifests is not None
    pid = up.proc.pid
    trace_id, _ = send(up, "edit-bot", "mail first@example.com", "ok")
    assert "first@example.com" in stored(up, trace_id)["input"]  # shadow: unchanged
    (up.manifests / "editable.yaml").write_text(EDITABLE.replace("MODE", "enforce"))

    def redacted() -> bool:
        trace, _ = send(up, "edit-bot", "mail later@example.com", "ok")
        return "<EMAIL>" in stored(up, trace)["input"]

    eventually("the edited policy", redacted, timeout_s=45)
    assert up.proc is not None and up.proc.pid == pid
