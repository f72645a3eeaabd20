from __future__ import annotations

import time

import pytest

from conftest import Detect, entities, spans
from otelguard.guardrails.registry import ParamsError, bind


def test_regex_deny_and_require(detect: Detect) -> None:
    text = "ticket JIRA-1234 and JIRA-77"
    found = detect("regex", text, {"pattern": r"JIRA-[0-9]+", "entity": "TICKET"})
    assert spans(text, found) == [("TICKET", "JIRA-1234"), ("TICKET", "JIRA-77")]
    assert detect("regex", "no ticket", {"pattern": "jira-[0-9]+", "caseInsensitive": True}) == []
    assert detect("regex", text, {"patterns": ["^ticket"], "mode": "require"}) == []
    assert entities(detect("regex", text, {"patterns": ["^order"], "mode": "require"})) == ["REGEX"]


def test_catastrophic_pattern_runs_in_linear_time(detect: Detect) -> None:
    text = "a" * 50_000 + "!"
    started = time.perf_counter()
    found = detect("regex", text, {"pattern": "(a+)+$"})
    assert found == []
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"pattern": "(unclosed"},
            r"params\.pattern: invalid RE2 pattern '\(unclosed': missing \): \(unclosed",
        ),
        ({"patterns": ["ok", r"(a)\1"]}, r"params\.patterns\[1\]: invalid RE2 pattern"),
        ({"pattern": "(?<=a)b"}, r"params\.pattern: invalid RE2 pattern"),
        ({"pattern": "a*"}, "matches the empty string"),
        ({}, "needs params.pattern or params.patterns"),
        ({"pattern": "x", "flags": "i"}, r"params\.flags: unknown parameter"),
    ],
)
def test_regex_compile_errors(params: dict[str, object], message: str) -> None:
    with pytest.raises(ParamsError, match=message):
        bind("regex", params)


def test_keywords_word_boundary_case_and_unicode(detect: Detect) -> None:
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in "Foobar")  # NFKC maps these to ASCII
    text = f"Try ACME instead of acmeCorp or {fullwidth} Inc, or foo-bar"
    found = detect("competitors", text, {"competitors": ["Acme", "foobar inc"]})
    assert spans(text, found) == [("COMPETITOR", "ACME"), ("COMPETITOR", f"{fullwidth} Inc")]
    assert detect("keywords", "the Café opens", {"keywords": ["CAFÉ"]})[0].entity == "KEYWORD"
    assert detect("keywords", "cafés", {"keywords": ["café"]}) == []


def test_length_limits(detect: Detect) -> None:
    assert detect("length", "short", {"maxChars": 10}) == []
    (finding,) = detect("length", "x" * 11, {"maxChars": 10})
    assert finding.entity == "LENGTH" and finding.start is None and "maxChars 10" in (finding.detail or "")
    assert detect("length", "", {"minChars": 1})[0].detail == "0 characters < minChars 1"
    assert detect("length", "one two three", {"maxWords": 2})
    assert (
        detect("token_limit", "word " * 100, {"maxTokens": 50})[0].detail
        == "101 tokens (o200k_base) > maxTokens 50"
    )
    with pytest.raises(ParamsError, match="at least one of"):
        bind("length", {})


def test_invisible_text(detect: Detect) -> None:
    text = "pay\u200b\u200bpal \u2066x\u2069"
    found = detect("invisible_text", text)
    assert entities(found) == ["ZERO_WIDTH", "BIDI_CONTROL", "BIDI_CONTROL"]
    assert found[0].preview == "U+200B U+200B" and found[0].replacement == ""
    assert detect("invisible_text", "👩\u200d💻") == []
    assert entities(detect("invisible_text", "👩\u200d💻", {"allowJoiners": False})) == ["ZERO_WIDTH"]
