"""topic, relevance and grounding on realistic sentences: registry, engine and the guard API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from conftest import Detect, entities
from otelguard.auth import Credentials, KeyCache, Principal
from otelguard.guardrails import (
    CheckContext,
    Engine,
    ParamsError,
    PolicyCompileError,
    compile_policy,
    registry,
)
from otelguard.guardrails.embedding.validators import split_sentences
from otelguard.guardrails.patterns import ScanText
from otelguard.webui.app import create_app
from otelguard.webui.context import ApiContext
from otelguard.webui.guard_service import GuardService, PolicyRow

DENIED = {
    "denied": [
        {
            "name": "politics",
            "descriptions": [
                "Questions about politicians, political parties, elections and voting.",
                "Opinions on government policy, legislation, bills and laws.",
            ],
        },
        "Medical advice about symptoms, diagnosis, medication or treatment.",
    ]
}
ALLOWED = {
    "allowed": [
        {"name": "billing", "descriptions": ["Questions about our billing, invoices, charges and refunds."]},
        {"name": "account", "descriptions": ["Help with logging in, passwords and account settings."]},
    ]
}


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("Who should I vote for in the upcoming presidential election?", "politics"),
        ("What do you think about the senator's new immigration bill?", "politics"),
        ("I have a sharp pain in my chest when I breathe, what medication should I take?", "Medical advice"),
    ],
)
def test_topic_denied_true_positives(detect: Detect, text: str, topic: str) -> None:
    found = detect("topic", text, DENIED)
    assert entities(found) == ["DENIED_TOPIC"], found
    assert found[0].preview.startswith(topic) and "similarity" in (found[0].detail or "")


@pytest.mark.parametrize(
    "text",
    [
        "How long should I bake chicken thighs at 200 degrees?",
        "I was charged twice on my last invoice, can I get a refund?",
        "Explain how a Python list comprehension works.",
        "Our quarterly report shows revenue grew 12% year over year.",
        "The party starts at eight; bring a cake.",  # "party" but not politics
    ],
)
def test_topic_denied_true_negatives(detect: Detect, text: str) -> None:
    assert detect("topic", text, DENIED) == []


def test_topic_allowed(detect: Detect) -> None:
    for on_topic in (
        "I was charged twice on my last invoice, can I get a refund?",
        "I forgot my password and cannot log in to my account.",
    ):
        assert detect("topic", on_topic, ALLOWED) == [], on_topic
    for off_topic in ("Write a haiku about autumn leaves.", "Who won the football match last night?"):
        found = detect("topic", off_topic, ALLOWED)
        assert entities(found) == ["OFF_TOPIC"], off_topic
        assert "closest" in (found[0].detail or "")
    assert detect("topic", "   ", ALLOWED) == []  # nothing to judge


def test_topic_params_are_checked() -> None:
    for bad, problem in (
        ({}, "give allowed and/or denied topics"),
        ({"denied": ["x"], "threshold": 1.5}, "threshold"),
        ({"denied": [{"name": "x", "descriptions": []}]}, "descriptions"),
        ({"denied": ["x"], "colour": "red"}, "unknown parameter"),
    ):
        with pytest.raises(ParamsError, match=problem):
            registry.bind("topic", bad)


def _output(name: str, text: str, params: dict[str, Any] | None = None, **ctx: Any) -> list[Any]:
    return registry.bind(name, params).check(ScanText(text), CheckContext(stage="output", **ctx))


def test_relevance() -> None:
    q = "How do I reset my password?"
    good = "Go to Settings > Security and click Reset password; we will email you a link."
    bad = "The capital of Australia is Canberra, which was purpose-built as the capital."
    assert _output("relevance", good, input_text=q) == []
    found = _output("relevance", bad, input_text=q)
    assert entities(found) == ["IRRELEVANT"] and found[0].start is None
    assert _output("relevance", bad) == []  # no prompt to compare with
    assert _output("relevance", good, {"threshold": 0.95}, input_text=q) != []  # stricter threshold


CONTEXT = (
    "Acme Cloud was founded in 2012 in Oslo. Its storage service keeps three copies of every object. "
    "Customers can request a refund within 30 days of purchase. "
    "Support is available by email around the clock."
)


def test_split_sentences_offsets() -> None:
    text = "First one. Second one!  Third?\nFourth line without stop\n\n  "
    spans = split_sentences(text)
    assert [text[a:b] for a, b in spans] == [
        "First one.",
        "Second one!",
        "Third?",
        "Fourth line without stop",
    ]
    assert split_sentences("   \n ") == []


def test_grounding_per_sentence() -> None:
    grounded = "Acme Cloud was founded in Oslo in 2012. Every object is stored in three copies."
    assert _output("grounding", grounded, context=CONTEXT) == []
    invented = (
        "Acme Cloud was founded in Oslo in 2012. "
        "The company was acquired by a Japanese car maker for nine billion dollars last spring. "
        "Refunds can be requested within 30 days after you buy."
    )
    found = _output("grounding", invented, context=CONTEXT)
    spans = [(f.start, f.end) for f in found if f.entity == "UNGROUNDED_SENTENCE"]
    assert len(spans) == 1 and invented[spans[0][0] : spans[0][1]].startswith("The company was acquired")
    summary = [f for f in found if f.entity == "UNGROUNDED"]
    assert len(summary) == 1 and summary[0].score == pytest.approx(1 / 3)
    validator = registry.bind("grounding")
    assert validator.score(found) == pytest.approx(1 / 3)  # the rule threshold is the tolerated fraction
    assert _output("grounding", invented) == []  # no context supplied: nothing to ground against
    assert _output("grounding", "Sure! Thanks.", context=CONTEXT) == []  # too short to judge
    assert registry.canonical_name("factual-consistency") == "grounding"


def test_policy_compile_errors_surface() -> None:
    spec = {"stages": ["input"], "rules": [{"name": "t", "validator": "topic", "params": {"threshold": 0.3}}]}
    with pytest.raises(PolicyCompileError, match="give allowed and/or denied") as info:
        compile_policy(spec, name="ns/bad")
    assert info.value.reason == "InvalidParams" and info.value.rule_index == 0
    relevance_on_input = {"stages": ["input"], "rules": [{"name": "r", "validator": "relevance"}]}
    with pytest.raises(PolicyCompileError) as info:
        compile_policy(relevance_on_input, name="ns/bad2")
    assert info.value.reason == "UnsupportedStage"


def test_engine_passes_input_and_context() -> None:
    spec = {
        "stages": ["output"],
        "rules": [
            {"name": "rel", "validator": "relevance"},
            {"name": "ground", "validator": "grounding", "threshold": 0.3, "onFail": [{"type": "block"}]},
        ],
    }
    engine = Engine([compile_policy(spec, name="ns/out")])
    answer = "Customers can get a refund within 30 days. Our office dog Biscuit loves long walks in the park."
    ok = engine.evaluate(answer, "output", input_text="What is the refund policy?", context=CONTEXT)
    assert ok.verdict == "block"
    assert {f.validator for f in ok.findings} == {"grounding"}  # relevant, but half of it invented
    fine = engine.evaluate(
        "Customers can get a refund within 30 days.",
        "output",
        input_text="What is the refund policy?",
        context=CONTEXT,
    )
    assert fine.verdict == "pass"


KEY = "unit-key-0123456789abcdef"
AUTH = {"authorization": f"Bearer {KEY}"}
TOPIC_POLICY = {
    "format": 1,
    "stages": ["input", "output"],
    "rules": [
        {"name": "no-politics", "validator": "topic", "params": DENIED, "onFail": [{"type": "block"}]},
        {"name": "grounded", "validator": "grounding", "threshold": 0.3},
    ],
}


@pytest.fixture
def client() -> Iterator[TestClient]:
    def verify(creds: Credentials) -> Principal | None:
        return Principal("pid-1", "default", "pk-1") if creds.secret == KEY else None

    rows = [PolicyRow("ns/topics", 1, TOPIC_POLICY, (1,))]
    guard = GuardService(lambda: rows).start(poll=False)
    ctx = ApiContext(clickhouse=object(), keys=KeyCache(verify), guard=guard)  # type: ignore[arg-type]
    with TestClient(create_app(ctx)) as c:
        yield c
    guard.close()


def test_guard_api_topic_and_grounding(client: TestClient) -> None:
    r = client.post(
        "/api/v1/guard",
        json={"stage": "input", "input": "Who should I vote for in the presidential election?"},
        headers=AUTH,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verdict"] == "block"
    assert [(f["validator"], f["entity"]) for f in body["findings"]] == [("topic", "DENIED_TOPIC")]
    assert any(t["validator"] == "topic" for t in body["timings"])
    ok = client.post("/api/v1/guard", json={"stage": "input", "input": "Can I get a refund?"}, headers=AUTH)
    assert ok.json()["verdict"] == "pass"
    out = client.post(
        "/api/v1/guard",
        json={
            "stage": "output",
            "input": "Where was Acme founded?",
            "output": "Acme Cloud was founded in Oslo. It was later moved to the Moon by its robot CEO.",
            "context": CONTEXT,
        },
        headers=AUTH,
    )
    assert out.status_code == 200, out.text
    findings = out.json()["findings"]
    assert out.json()["verdict"] == "flag"
    sentence = [f for f in findings if f["entity"] == "UNGROUNDED_SENTENCE"]
    assert len(sentence) == 1 and sentence[0]["start"] == len("Acme Cloud was founded in Oslo. ")
