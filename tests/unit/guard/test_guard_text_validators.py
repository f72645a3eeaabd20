"""The guard API in-process with a policy using the language and toxicity validators."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from otelguard.auth import Credentials, KeyCache, Principal
from otelguard.webui.app import create_app
from otelguard.webui.context import ApiContext
from otelguard.webui.guard_service import GuardService, PolicyRow

KEY = "unit-key-0123456789abcdef"
AUTH = {"authorization": f"Bearer {KEY}"}
SPEC = {
    "format": 1,
    "stages": ["input", "output"],
    "rules": [
        {
            "name": "english-only",
            "validator": "language",
            "params": {"allowed": ["en"], "minConfidence": 0.7},
            "onFail": [{"type": "block", "params": {"message": "English only, please."}}],
        },
        {
            "name": "no-abuse",
            "validator": "toxicity",
            "threshold": 0.5,
            "onFail": [{"type": "sanitize"}],
        },
    ],
}


def verify(creds: Credentials) -> Principal | None:
    return Principal("pid-1", "default", "pk-1") if creds.secret == KEY else None


@pytest.fixture
def client() -> Iterator[TestClient]:
    rows = [PolicyRow("ns/text", 1, SPEC, (1,))]
    guard = GuardService(lambda: rows).start(poll=False)
    ctx = ApiContext(clickhouse=object(), keys=KeyCache(verify), guard=guard)  # type: ignore[arg-type]
    with TestClient(create_app(ctx)) as c:
        yield c
    guard.close()


def post(client: TestClient, body: Any) -> Any:
    r = client.post("/api/v1/guard", json=body, headers=AUTH)
    assert r.status_code == 200, r.text
    return r.json()


def test_clean_english_passes(client: TestClient) -> None:
    body = post(client, {"stage": "input", "input": "Could you summarise the attached quarterly report?"})
    assert body["verdict"] == "pass" and body["findings"] == []


def test_other_language_is_blocked(client: TestClient) -> None:
    text = "Ich möchte mein Passwort zurücksetzen, können Sie mir bitte dabei helfen?"
    body = post(client, {"stage": "input", "input": text})
    assert body["verdict"] == "block", body
    [finding] = [f for f in body["findings"] if f["validator"] == "language"]
    assert finding["entity"] == "LANGUAGE" and finding["text"] == "de" and finding["score"] >= 0.7


def test_toxic_output_is_sanitized_with_offsets(client: TestClient) -> None:
    output = "Honestly, you are an idiot and this is bullsh1t."
    body = post(client, {"stage": "output", "input": "q", "output": output})
    assert body["verdict"] == "flag", body
    found = {f["entity"]: f for f in body["findings"] if f["validator"] == "toxicity"}
    assert {"INSULT", "PROFANITY", "TOXICITY"} <= found.keys()
    insult = found["INSULT"]
    assert output[insult["start"] : insult["end"]] == "idiot"
    assert "idiot" not in body["text"] and "bullsh1t" not in body["text"]
    assert body["text"].startswith("Honestly, you are an ")


def test_false_positive_traps_pass(client: TestClient) -> None:
    output = "She graduated magna cum laude from Scunthorpe College; I'll shoot you an email."
    assert post(client, {"stage": "output", "input": "q", "output": output})["verdict"] == "pass"


def test_bad_params_are_a_compile_error_not_a_500() -> None:
    from otelguard.guardrails import PolicyCompileError, compile_policy

    bad = {**SPEC, "rules": [{"name": "l", "validator": "language", "params": {"allowed": ["klingon"]}}]}
    with pytest.raises(PolicyCompileError, match="not an ISO 639 language code"):
        compile_policy(bad, name="ns/bad", version=1)
