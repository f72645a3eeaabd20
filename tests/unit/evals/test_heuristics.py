"""Heuristic evaluators: every type, table-driven, through ``build_evaluator`` like the workers use them."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from otelguard.api.v1alpha1.evaluator import EvaluatorSpec
from otelguard.evals.heuristics import MAX_TEXT_CHARS, lexical_similarity
from otelguard.evals.registry import build_evaluator
from otelguard.evals.result import Evaluation, EvaluatorConfigError, PermanentEvalError
from otelguard.evals.subject import EvalSubject


def subject(output: str = "", input: str = "", **kw: Any) -> EvalSubject:
    base: dict[str, Any] = {
        "project_id": "p",
        "trace_id": "t" * 32,
        "span_id": "s" * 16,
        "session_id": "",
        "name": "chat",
        "kind": "llm",
        "model": "gpt-4o",
        "input": input,
        "output": output,
        "start_ns": 1,
        "latency_ms": 250.0,
        "cost_usd": 0.002,
        "status_error": False,
        "attributes": {},
    }
    base.update(kw)
    return EvalSubject(**base)


def run(
    type_: str, params: dict[str, Any] | None, subj: EvalSubject, data_type: str = "boolean", **score: Any
) -> Evaluation:
    heuristic: dict[str, Any] = {"type": type_}
    if params is not None:
        heuristic["params"] = params
    spec = EvaluatorSpec.model_validate(
        {"kind": "heuristic", "heuristic": heuristic, "score": {"name": "h", "dataType": data_type, **score}}
    )
    return build_evaluator(spec).evaluate(subj)


# (type, params, subject, expected boolean value)
CASES: list[tuple[str, str, dict[str, Any] | None, EvalSubject, float]] = [
    ("regex hit", "regex", {"pattern": r"\d{3}"}, subject("call 555 now"), 1.0),
    ("regex miss", "regex", {"pattern": r"\d{3}"}, subject("no digits"), 0.0),
    ("regex on input", "regex", {"pattern": "^hi", "field": "input"}, subject("x", "hi there"), 1.0),
    ("regex case-insensitive", "regex", {"pattern": "PARIS", "caseInsensitive": True}, subject("paris"), 1.0),
    ("regex all: one missing", "regex", {"patterns": ["a", "z"], "match": "all"}, subject("abc"), 0.0),
    ("regex any of two", "regex", {"patterns": ["q", "b"]}, subject("abc"), 1.0),
    ("regex negate", "regex", {"pattern": "(?i)sorry", "negate": True}, subject("Sorry, I can't"), 0.0),
    ("regex unicode", "regex", {"pattern": "日本"}, subject("東京は日本の首都"), 1.0),
    ("regex on empty", "regex", {"pattern": "x"}, subject(""), 0.0),
    ("contains", "contains", {"substring": "Paris"}, subject("It is Paris."), 1.0),
    ("contains is case-sensitive", "contains", {"substring": "paris"}, subject("PARIS"), 0.0),
    ("contains ci", "contains", {"substring": "paris", "case_insensitive": True}, subject("PARIS"), 1.0),
    (
        "contains ci unicode",
        "contains",
        {"substring": "STRASSE", "caseInsensitive": True},
        subject("straße"),
        1.0,
    ),
    ("contains all", "contains", {"substrings": ["a", "b"], "match": "all"}, subject("ab"), 1.0),
    ("contains all miss", "contains", {"substrings": ["a", "q"], "match": "all"}, subject("ab"), 0.0),
    ("contains negate", "contains", {"substring": "error", "negate": True}, subject("all good"), 1.0),
    ("json-valid object", "json-valid", None, subject('{"a": [1, 2]}'), 1.0),
    ("json-valid fenced", "json-valid", None, subject('```json\n{"a": 1}\n```'), 1.0),
    (
        "json-valid fence refused",
        "json-valid",
        {"allowFenced": False},
        subject('```json\n{"a": 1}\n```'),
        0.0,
    ),
    ("json-valid invalid", "json-valid", None, subject('{"a": 1,}'), 0.0),
    ("json-valid empty", "json-valid", None, subject(""), 0.0),
    ("json-valid unicode", "json-valid", None, subject('{"ville": "Zürich 🇨🇭"}'), 1.0),
    ("json-valid input", "json-valid", {"field": "input"}, subject("nope", "[1]"), 1.0),
    (
        "json-schema ok",
        "json-schema",
        {"schema": {"type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}},
        subject('{"name": "x"}'),
        1.0,
    ),
    (
        "json-schema violation",
        "json-schema",
        {"schema": {"type": "object", "required": ["name"]}},
        subject('{"other": 1}'),
        0.0,
    ),
    ("json-schema invalid json", "json-schema", {"schema": {"type": "object"}}, subject("{oops"), 0.0),
    (
        "json-schema format",
        "json-schema",
        {"schema": {"type": "string", "format": "email"}},
        subject('"not-an-email"'),
        0.0,
    ),
    ("length in range", "length", {"min": 2, "max": 5}, subject("abcd"), 1.0),
    ("length too long", "length", {"max": 3}, subject("abcd"), 0.0),
    ("length too short", "length", {"min": 1}, subject(""), 0.0),
    ("length unicode chars", "length", {"max": 2}, subject("日本"), 1.0),
    ("length words", "length", {"min": 3, "unit": "words"}, subject("one  two\nthree"), 1.0),
    ("latency ok", "latency", {"maxMs": 300}, subject("x"), 1.0),
    ("latency slow", "latency", {"max_ms": 100}, subject("x"), 0.0),
    ("cost ok", "cost", {"maxUsd": 0.01}, subject("x"), 1.0),
    ("cost over", "cost", {"maxUsd": 0.001}, subject("x"), 0.0),
    ("similarity same", "similarity", {"reference": "The cat sat"}, subject("the CAT sat"), 1.0),
    ("similarity low", "similarity", {"reference": "completely different"}, subject("the cat sat"), 0.0),
    ("similarity expected", "similarity", {"threshold": 0.9}, subject("Paris", expected="paris"), 1.0),
]


@pytest.mark.parametrize(
    ("type_", "params", "subj", "want"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_boolean_outcome(type_: str, params: dict[str, Any] | None, subj: EvalSubject, want: float) -> None:
    result = run(type_, params, subj)
    assert (result.value, result.data_type, result.string_value) == (want, "boolean", "")
    assert result.comment
    assert (result.judge_input_tokens, result.judge_cost_usd) == (0, 0.0)


# numeric: the measured value where meaningful, else 1/0
NUMERIC: list[tuple[str, dict[str, Any] | None, EvalSubject, float]] = [
    ("length", {"max": 100}, subject("héllo"), 5.0),
    ("length", {"max": 100, "unit": "words"}, subject("a b  c"), 3.0),
    ("latency", {"maxMs": 1}, subject("x", latency_ms=42.5), 42.5),
    ("cost", {"maxUsd": 1}, subject("x", cost_usd=0.25), 0.25),
    ("similarity", {"reference": "a b c d"}, subject("a b"), 0.5),
    ("similarity", {"reference": "a a b", "method": "cosine"}, subject("a b b"), 0.8),
    ("regex", {"pattern": "x"}, subject("x"), 1.0),
    ("json-valid", None, subject("nope"), 0.0),
]


@pytest.mark.parametrize(("type_", "params", "subj", "want"), NUMERIC)
def test_numeric_value(type_: str, params: dict[str, Any] | None, subj: EvalSubject, want: float) -> None:
    result = run(type_, params, subj, "numeric")
    assert result.data_type == "numeric"
    assert result.value == pytest.approx(want)


@pytest.mark.parametrize(
    ("categories", "passed", "failed"),
    [
        (["pass", "fail"], "pass", "fail"),
        (["FAIL", "Pass"], "Pass", "FAIL"),
        (["bad", "meh", "good"], "good", "bad"),
        (["valid", "invalid"], "valid", "invalid"),
        (["green", "red"], "green", "red"),  # unrecognised: first is pass, last is fail
        (["meh", "ok"], "ok", "meh"),
    ],
)
def test_categorical_mapping(categories: list[str], passed: str, failed: str) -> None:
    ok = run("contains", {"substring": "a"}, subject("a"), "categorical", categories=categories)
    ko = run("contains", {"substring": "a"}, subject("b"), "categorical", categories=categories)
    assert (ok.string_value, ok.value, ok.data_type) == (passed, 1.0, "categorical")
    assert (ko.string_value, ko.value) == (failed, 0.0)


def test_categorical_needs_two_categories() -> None:
    with pytest.raises(EvaluatorConfigError, match="at least two categories"):
        run("json-valid", None, subject("{}"), "categorical", categories=["only"])


@pytest.mark.parametrize(
    ("type_", "params", "message"),
    [
        ("regex", {"pattern": "(a"}, "missing \\)"),
        ("regex", {"pattern": r"(a)\1"}, "no backreferences"),
        ("regex", {}, "pattern or patterns is required"),
        ("regex", {"pattern": "a", "feild": "input"}, "params.feild: unknown parameter"),
        ("regex", {"pattern": "a", "field": "both"}, "params.field"),
        ("contains", {"substring": ""}, "at least 1 character"),
        ("contains", {"substrings": ["a", ""]}, "must not be empty"),
        ("json-schema", {"schema": {"type": "nonsense"}}, "params.schema"),
        ("json-schema", {}, "params.schema: Field required"),
        ("length", {"min": 5, "max": 2}, "min 5 is greater than max 2"),
        ("length", {"unit": "words"}, "min or max is required"),
        ("length", {"max": -1}, "greater than or equal to 0"),
        ("latency", {"maxMs": "fast"}, "params.maxMs"),
        ("cost", {"limit": 1}, "params.maxUsd: Field required"),
        ("similarity", {"threshold": 2}, "params.threshold"),
        ("similarity", {"method": "levenshtein"}, "params.method"),
    ],
)
def test_bad_params_are_config_errors(type_: str, params: dict[str, Any], message: str) -> None:
    with pytest.raises(EvaluatorConfigError, match=message) as err:
        run(type_, params, subject("x"))
    assert f"heuristic {type_}" in str(err.value)


def test_cost_unknown_is_permanent() -> None:
    with pytest.raises(PermanentEvalError, match="has no cost"):
        run("cost", {"maxUsd": 1}, subject("x", cost_usd=None))


def test_similarity_without_reference_is_permanent() -> None:
    with pytest.raises(PermanentEvalError, match=r"needs params\.reference"):
        run("similarity", {}, subject("x"))


def test_json_schema_comment_lists_violations() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}, "s": {"type": "string"}}}
    result = run("json-schema", {"schema": schema}, subject(json.dumps({"n": "x", "s": 1})))
    assert result.value == 0.0
    assert "2 schema violation(s)" in result.comment and "/n:" in result.comment and "/s:" in result.comment


def test_invalid_json_comment_says_where() -> None:
    result = run("json-valid", None, subject('{"a": 1,\n}'))
    assert result.comment.startswith("invalid JSON:") and "line 2" in result.comment


def test_deeply_nested_json_is_invalid_not_a_crash() -> None:
    result = run("json-valid", None, subject("[" * 100_000 + "]" * 100_000))
    assert (result.value, result.comment) == (0.0, "JSON nested too deeply to parse")


def test_huge_output_is_bounded() -> None:
    huge = "a" * (MAX_TEXT_CHARS + 10) + "NEEDLE"
    began = time.perf_counter()
    # The needle is beyond the checked prefix: not found, and the comment says the text was cut.
    result = run("contains", {"substring": "NEEDLE"}, subject(huge))
    assert result.value == 0.0 and "checked the first 2,000,000" in result.comment
    result = run("regex", {"pattern": "(a+)+$"}, subject(huge))  # RE2: linear, no catastrophic backtracking
    assert result.value == 1.0
    assert run("length", {"max": 10}, subject(huge), "numeric").value == len(huge)  # length is exact
    assert time.perf_counter() - began < 10
    with pytest.raises(PermanentEvalError, match="over the 2,000,000 a JSON check parses"):
        run("json-valid", None, subject(huge))


def test_lexical_similarity_properties() -> None:
    assert lexical_similarity("", "") == 1.0
    assert lexical_similarity("a", "") == 0.0
    assert lexical_similarity("Hello, World!", "hello world") == 1.0
    assert lexical_similarity("a b c", "c b a", "cosine") == pytest.approx(1.0)
    assert lexical_similarity("naïve café", "NAÏVE CAFÉ") == 1.0
    assert 0.0 < lexical_similarity("the quick fox", "the slow fox") < 1.0


def test_embedding_similarity_matches_paraphrases_that_share_no_words() -> None:
    from otelguard.api.v1alpha1.evaluator import EvaluatorSpec
    from otelguard.evals.registry import build_evaluator
    from otelguard.evals.subject import EvalSubject

    def score(method: str, output: str) -> float:
        spec = EvaluatorSpec.model_validate(
            {
                "kind": "heuristic",
                "heuristic": {
                    "type": "similarity",
                    "params": {"reference": "The parcel arrives on Thursday.", "method": method},
                },
                "score": {"name": "sim"},
            }
        )
        subject = EvalSubject(
            project_id="p", trace_id="t", span_id="s", session_id="", name="n", kind="llm", model="m",
            input="", output=output, start_ns=0, latency_ms=1.0, cost_usd=None, status_error=False,
        )  # fmt: skip
        return build_evaluator(spec).evaluate(subject).value

    paraphrase = "Your package will be delivered Thursday."
    unrelated = "Our refund policy covers damaged blenders."
    assert score("jaccard", paraphrase) < 0.3  # few shared words
    assert score("embedding", paraphrase) > 0.6
    assert score("embedding", unrelated) < score("embedding", paraphrase) - 0.3
