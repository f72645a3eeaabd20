"""The judge's pure parts: verdict parsing, rate-limit hints, templates and config checks."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest

from otelguard.api.v1alpha1.evaluator import EvaluatorSpec
from otelguard.evals.judge_http import parse_duration, retry_after
from otelguard.evals.judge_templates import BUILTIN_TEMPLATES, get_template
from otelguard.evals.registry import build_evaluator
from otelguard.evals.result import EvaluatorConfigError
from otelguard.evals.verdict import (
    MalformedVerdict,
    Verdict,
    categorical_score,
    numeric_score,
    parse_verdict,
)


@pytest.mark.parametrize(
    ("reply", "verdict"),
    [
        ('{"score": 4, "reasoning": "good"}', Verdict(4.0, "good")),
        ('  {"Score": 0.5, "Explanation": "half"}  ', Verdict(0.5, "half")),
        ('```json\n{"score": 1, "reasoning": "r"}\n```', Verdict(1.0, "r")),
        ('Sure!\n```\n{"score": 2}\n```\nHope that helps.', Verdict(2.0, "")),
        ('My verdict: {"score": 3, "reason": "ok"} — final.', Verdict(3.0, "ok")),
        ('{"note": {"x": 1}} then {"score": 5}', Verdict(5.0, "")),
        ("4", Verdict(4.0, "")),
        (" 0.75. ", Verdict(0.75, "")),
        ("3.0", Verdict(3.0, "")),
        ('{"score": "4", "reasoning": "string number"}', Verdict("4", "string number")),
        ('"pass"', Verdict("pass", "")),
        ("partial", Verdict("partial", "")),
        ('{"score": 1, "reasoning": "日本語の説明"}', Verdict(1.0, "日本語の説明")),
    ],
)
def test_parse_verdict(reply: str, verdict: Verdict) -> None:
    assert parse_verdict(reply) == verdict


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("", "empty"),
        ("   \n ", "empty"),
        ('{"verdict": "good"}', 'no "score"'),
        ('{"score": null}', "must be a number or a string"),
        ('{"score": true}', "must be a number or a string"),
        ('{"score": [1]}', "must be a number or a string"),
        ("The response is relevant and answers everything the user asked for in detail.", "no JSON object"),
        ("line one\nline two", "no JSON object"),
    ],
)
def test_parse_verdict_malformed(reply: str, message: str) -> None:
    with pytest.raises(MalformedVerdict, match=message):
        parse_verdict(reply)


def test_numeric_score_checks_scale() -> None:
    assert numeric_score(Verdict(5.0), 1, 5) == 5.0
    assert numeric_score(Verdict(" 2 "), 1, 5) == 2.0
    with pytest.raises(MalformedVerdict, match="outside the scale 1 to 5"):
        numeric_score(Verdict(0.0), 1, 5)
    with pytest.raises(MalformedVerdict, match="not a number"):
        numeric_score(Verdict("good"), 0, 1)
    with pytest.raises(MalformedVerdict, match="outside"):
        numeric_score(Verdict("nan"), 0, 1)


def test_categorical_score() -> None:
    cats = ["Good", "bad"]
    assert categorical_score(Verdict("good"), cats) == (0, "Good")
    assert categorical_score(Verdict(" BAD "), cats) == (1, "bad")
    assert categorical_score(Verdict(1.0), ["0", "1"]) == (1, "1")
    with pytest.raises(MalformedVerdict, match='not one of the categories "Good", "bad"'):
        categorical_score(Verdict("ugly"), cats)


NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("headers", "hint"),
    [
        ({}, None),
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),
        ({"retry-after": format_datetime(datetime.fromtimestamp(NOW + 30, UTC), usegmt=True)}, 30.0),
        ({"retry-after": format_datetime(datetime.fromtimestamp(NOW - 30, UTC), usegmt=True)}, 0.0),
        ({"retry-after": "soon"}, None),
        ({"x-ratelimit-reset-requests": "6m0s", "x-ratelimit-reset-tokens": "20ms"}, 360.0),
        ({"x-ratelimit-reset-tokens": "1.5s"}, 1.5),
        ({"x-ratelimit-reset": "12"}, 12.0),
        ({"x-ratelimit-reset": str(NOW + 42)}, 42.0),
        ({"retry-after": "99999"}, 3600.0),
        ({"retry-after": "-3"}, None),
    ],
)
def test_retry_after(headers: dict[str, str], hint: float | None) -> None:
    got = retry_after(headers, now=NOW)
    assert got == (pytest.approx(hint) if hint is not None else None)


def test_parse_duration() -> None:
    assert parse_duration("1m30.5s") == 90.5
    assert parse_duration("2h") == 7200.0
    assert parse_duration("17") == 17.0
    assert parse_duration("later") is None


def test_builtin_templates() -> None:
    assert set(BUILTIN_TEMPLATES) >= {
        "relevance",
        "faithfulness",
        "toxicity",
        "helpfulness",
        "conciseness",
        "correctness",
    }
    relevance = get_template("Relevance")
    assert (relevance.normalise(1), relevance.normalise(3), relevance.normalise(5)) == (0.0, 0.5, 1.0)
    assert get_template("faithfulness").requires == ("context",)
    assert get_template("correctness").requires == ("expected",)
    with pytest.raises(KeyError, match="unknown built-in judge template 'nope'"):
        get_template("nope")


def judge_spec(**judge: Any) -> EvaluatorSpec:
    return EvaluatorSpec.model_validate(
        {"kind": "llm-judge", "judge": {"model": "m", **judge}, "score": {"name": "s"}}
    )


@pytest.mark.parametrize(
    ("judge", "message"),
    [
        ({"builtinTemplate": "sentiment"}, "unknown built-in judge template 'sentiment'"),
        ({"template": "{{ input "}, "spec.judge.template: line 1"),
        ({"template": "{{ question }}"}, "'question' is used but not declared in the judge context"),
        ({"template": "{{ input.__class__ }}"}, "not allowed"),
    ],
)
def test_judge_config_errors(judge: dict[str, Any], message: str) -> None:
    with pytest.raises(EvaluatorConfigError, match=message):
        build_evaluator(judge_spec(**judge))
