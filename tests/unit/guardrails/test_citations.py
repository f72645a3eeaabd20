"""citations: numeric markers, URLs and quotes against the supplied context; traps; engine and guard API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from otelguard.auth import Credentials, KeyCache, Principal
from otelguard.guardrails import CheckContext, Engine, ParamsError, compile_policy, registry
from otelguard.guardrails.base import Finding
from otelguard.guardrails.validators.citations import context_sources, find_markers, find_urls
from otelguard.webui.app import create_app
from otelguard.webui.context import ApiContext
from otelguard.webui.guard_service import GuardService, PolicyRow

CONTEXT = (
    "[1] Acme Cloud was founded in Oslo in 2014 by Kari Nordmann.\n"
    "[2] The refund window is 30 days from the date of purchase.\n"
    "[3] Pricing details: https://www.acme.example/pricing/ (updated monthly).\n"
)


def cite(text: str, params: dict[str, Any] | None = None, context: str | None = CONTEXT) -> list[Finding]:
    return registry.check("citations", text, params, CheckContext(stage="output", context=context))


def spans(text: str, found: list[Finding]) -> list[tuple[str, str]]:
    return [(f.entity, text[f.start or 0 : f.end or 0]) for f in found]


# -- numeric markers ---------------------------------------------------------------------------------------
def test_markers_that_exist_pass() -> None:
    text = (
        "Acme was founded in Oslo [1]. Refunds take 30 days [2], [3]. Both hold [1][2] and [1-3] and [1, 3]."
    )
    assert cite(text) == []


def test_unknown_marker_is_flagged_with_its_offsets() -> None:
    text = "Acme was founded in Oslo [1]. It has 900 staff [4]. See also [2-5]."
    found = cite(text)
    assert spans(text, found) == [("UNKNOWN_SOURCE", "[4]"), ("UNKNOWN_SOURCE", "[2-5]")]
    assert found[0].detail == "cites 4; the context has sources 1-3"
    assert found[1].detail == "cites 4, 5; the context has sources 1-3"
    assert found[0].start == text.index("[4]") and found[0].score == 1.0


def test_chained_markers_are_each_checked() -> None:
    text = "Founded in Oslo.[1][7]"
    assert spans(text, cite(text)) == [("UNKNOWN_SOURCE", "[7]")]


@pytest.mark.parametrize(
    "text",
    [
        "Use a[1] to get the second element.",
        "Read `items[9]` and `x = [7, 8]` first.",
        "```python\nrows = [[5], [6]]\nprint(rows[0][9])\n```",
        "The matrix m[1][9] and f(x)[8] are fine.",
        "Set x = [7, 8] or call f([9]) or {[5]: 1}.",
        "Details in [9](https://www.acme.example/pricing) here.",
        "[9]: https://www.acme.example/pricing",
        "arr[0] and dict_[5] and arr [1]",  # the last one is a real marker, and source 1 exists
    ],
)
def test_code_like_brackets_are_not_citations(text: str) -> None:
    assert [f for f in cite(text, {"urls": False}) if f.entity == "UNKNOWN_SOURCE"] == []


def test_find_markers_numbers() -> None:
    assert [n for _, _, n in find_markers("a [1] b [2, 4] c [3-5] d [6\u20137] e a[8]")] == [
        [1],
        [2, 4],
        [3, 4, 5],
        [6, 7],
    ]
    # A huge range is not expanded (its ends are still checked).
    assert [n for _, _, n in find_markers("x [1-9999]")] == [[1, 9999]]


@pytest.mark.parametrize(
    ("context", "sources"),
    [
        (CONTEXT, {1, 2, 3}),
        ("Source 1: alpha\nSource 2: beta\nDocument 7 - gamma", {1, 2, 7}),
        ("(1) alpha\n(2) beta", {1, 2}),
        ("1. alpha\n2. beta\n3. gamma", {1, 2, 3}),
        ("First passage.\n\nSecond passage.\n\n\nThird one.", {1, 2, 3}),
        ("One passage, no labels.", {1}),
        ("", set()),
    ],
)
def test_context_sources(context: str, sources: set[int]) -> None:
    assert context_sources(context) == sources


def test_unlabelled_context_counts_passages() -> None:
    context = "Acme was founded in Oslo.\n\nRefunds take 30 days."
    assert cite("Oslo [1], refunds [2].", context=context) == []
    assert spans("Oslo [3].", cite("Oslo [3].", context=context)) == [("UNKNOWN_SOURCE", "[3]")]


# -- URLs --------------------------------------------------------------------------------------------------
def test_urls_in_the_context_pass_whatever_the_spelling() -> None:
    text = (
        "Prices: https://acme.example/pricing. Or (see https://www.ACME.example/pricing/), "
        "or https://acme.example/pricing#plans!"
    )
    assert cite(text) == []


def test_unknown_url_is_flagged_without_trailing_punctuation() -> None:
    text = "See https://acme.example/secret-plans, and (https://evil.example/a_(b)). Also www.other.example."
    found = cite(text)
    assert spans(text, found) == [
        ("UNKNOWN_URL", "https://acme.example/secret-plans"),
        ("UNKNOWN_URL", "https://evil.example/a_(b)"),
        ("UNKNOWN_URL", "www.other.example"),
    ]


def test_find_urls_trims_trailing_punctuation() -> None:
    urls = [
        u
        for _, _, u in find_urls('Go to https://x.example/a?b=1. "https://y.example/p"; <https://z.example>')
    ]
    assert urls == ["https://x.example/a?b=1", "https://y.example/p", "https://z.example"]
    assert [u for _, _, u in find_urls("https://localhost and http://")] == []  # no dot: not a cited source


# -- quotes ------------------------------------------------------------------------------------------------
def test_quotes_found_in_the_context_pass() -> None:
    text = (
        'The policy says "The refund window is 30 days from the date of purchase." '
        "and \u201cacme cloud was FOUNDED in oslo\u201d, and "
        '"Acme Cloud was founded ... by Kari Nordmann".'
    )
    assert cite(text) == []


def test_misquotes_are_flagged() -> None:
    text = 'The policy says "the refund window is 90 days from purchase" and "founded in Oslo in 2015".'
    found = cite(text)
    assert spans(text, found) == [
        ("MISQUOTE", '"the refund window is 90 days from purchase"'),
        ("MISQUOTE", '"founded in Oslo in 2015"'),
    ]
    # Ellipsis parts must appear in order.
    assert len(cite('"by Kari Nordmann ... Acme Cloud was founded"')) == 1


def test_short_quotes_and_quotes_in_code_are_not_checked() -> None:
    assert cite('This "so-called" plan is "not great".') == []
    assert cite('```json\n{"summary": "a sentence that is nowhere in the context"}\n```') == []
    assert cite('Run `echo "a sentence that is nowhere in the context"` now.') == []
    assert len(cite('"not in context"', {"minQuoteWords": 3})) == 1


# -- params, no context, uncited claims --------------------------------------------------------------------
def test_checks_can_be_switched_off() -> None:
    text = 'Oslo [9], https://evil.example/x, "the refund window is 90 days".'
    assert {f.entity for f in cite(text)} == {"UNKNOWN_SOURCE", "UNKNOWN_URL", "MISQUOTE"}
    assert cite(text, {"markers": False, "urls": False, "quotes": False}) == []
    assert {f.entity for f in cite(text, {"markers": False})} == {"UNKNOWN_URL", "MISQUOTE"}


def test_no_context() -> None:
    text = "Founded in Oslo [1] per https://acme.example/about."
    assert cite(text, context=None) == []
    found = cite(text, {"onMissingContext": "flag"}, context=None)
    assert spans(text, found) == [("UNKNOWN_SOURCE", "[1]"), ("UNKNOWN_URL", "https://acme.example/about")]
    assert found[0].detail == "cites 1; the context has no numbered sources"


def test_uncited_factual_sentences_only_when_asked() -> None:
    text = (
        "Acme Cloud was founded in Oslo in 2014 by Kari. "
        "Refunds are accepted for thirty days after purchase [2]. "
        "The company employs about 900 people worldwide today. [1]\n"
        "i think this is a really helpful and friendly answer. "
        "Would you like to know more about the Oslo office?"
    )
    assert cite(text) == []
    found = cite(text, {"requireCitations": True})
    assert spans(text, found) == [("UNCITED_CLAIM", "Acme Cloud was founded in Oslo in 2014 by Kari.")]
    assert found[0].score == 0.8
    # Decimals and abbreviations do not split a sentence; short sentences pass.
    text = "Growth was 3.5 percent in 2021, e.g. in Oslo. [1] Revenue was 2 million."
    assert cite(text, {"requireCitations": True}) == []


def test_params_are_validated() -> None:
    with pytest.raises(
        ParamsError, match=r"params\.minQuoteWords: Input should be greater than or equal to 1"
    ):
        registry.bind("citations", {"minQuoteWords": 0})
    with pytest.raises(ParamsError, match=r"params\.onMissingContext: Input should be 'pass' or 'flag'"):
        registry.bind("citations", {"onMissingContext": "maybe"})
    assert registry.canonical_name("citation-check") == "citations"
    assert registry.get("citations").stages == {"output"}


# -- engine and guard API ----------------------------------------------------------------------------------
POLICY = {
    "format": 1,
    "stages": ["output"],
    "rules": [{"name": "cite", "validator": "citations", "onFail": [{"type": "block"}]}],
}


def test_engine_blocks_a_bad_citation() -> None:
    engine = Engine([compile_policy(POLICY, name="ns/cite")])
    bad = engine.evaluate("Founded in Oslo [1] and on the Moon [5].", "output", context=CONTEXT)
    assert bad.verdict == "block"
    assert [(f.entity, f.start) for f in bad.findings] == [("UNKNOWN_SOURCE", 36)]
    assert engine.evaluate("Founded in Oslo [1].", "output", context=CONTEXT).verdict == "pass"


KEY = "unit-key-0123456789abcdef"
AUTH = {"authorization": f"Bearer {KEY}"}


@pytest.fixture
def client() -> Iterator[TestClient]:
    def verify(creds: Credentials) -> Principal | None:
        return Principal("pid-1", "default", "pk-1") if creds.secret == KEY else None

    guard = GuardService(lambda: [PolicyRow("ns/cite", 1, POLICY, (1,))]).start(poll=False)
    ctx = ApiContext(clickhouse=object(), keys=KeyCache(verify), guard=guard)  # type: ignore[arg-type]
    with TestClient(create_app(ctx)) as c:
        yield c
    guard.close()


def test_guard_api_reports_the_bad_citation(client: TestClient) -> None:
    output = 'Acme was founded in Oslo [1]; "the refund window is 90 days" says https://evil.example/x.'
    r = client.post(
        "/api/v1/guard", json={"stage": "output", "output": output, "context": CONTEXT}, headers=AUTH
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verdict"] == "block"
    got = [(f["entity"], output[f["start"] : f["end"]]) for f in body["findings"]]
    assert got == [
        ("UNKNOWN_URL", "https://evil.example/x"),
        ("MISQUOTE", '"the refund window is 90 days"'),
    ]
    ok = client.post(
        "/api/v1/guard",
        json={"stage": "output", "output": "Founded in Oslo [1].", "context": CONTEXT},
        headers=AUTH,
    )
    assert ok.json()["verdict"] == "pass"
