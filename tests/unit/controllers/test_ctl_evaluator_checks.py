"""Evaluator reconcile checks are the eval workers' build steps (``otelguard.evalspec``).

Each gap a spec could slip through at reconcile and then be refused by every worker is Ready=False
with a reason and a message naming the field; a drift guard pins ``evaluator_spec_problems(spec) == []``
to ``build_evaluator(spec)`` succeeding, over a table of specs of every kind.
"""

from __future__ import annotations

import copy
from typing import Any, cast, get_args

import httpx
import pytest

from otelguard.api.v1alpha1.evaluator import EvaluatorSpec, HeuristicConfig, HeuristicType, ScoreConfig
from otelguard.evals.heuristics import BUILTIN
from otelguard.evals.registry import build_evaluator
from otelguard.evals.result import EvaluatorConfigError
from otelguard.evalspec import BUILTIN_TEMPLATES, evaluator_spec_problems
from otelguard.evalspec.heuristics import PARAMS
from otelguard.guardrails.registry import PLANNED_VALIDATORS
from unit.controllers.ctl_support import manifest, ready, reconcile


def evaluator(kind: str, body: dict[str, Any], **score: Any) -> dict[str, Any]:
    """The example Evaluator turned into ``kind`` with ``body`` as its settings."""
    obj: dict[str, Any] = manifest("evaluator")
    del obj["spec"]["judge"]
    field = {"llm-judge": "judge", "heuristic": "heuristic", "guardrail-validator": "validator"}[kind]
    obj["spec"].update({"kind": kind, field: body})
    obj["spec"]["score"].update(score)
    return obj


def judge(**settings: Any) -> dict[str, Any]:
    return evaluator("llm-judge", {"model": "gpt-4o-mini", **settings})


def heuristic(type_: str, params: dict[str, Any] | None, **score: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"type": type_}
    if params is not None:
        body["params"] = params
    return evaluator("heuristic", body, **score)


def not_ready(obj: dict[str, Any]) -> tuple[str, str]:
    _, status = reconcile(obj)
    state, reason, message = ready(status)
    assert state == "False", message
    return reason, message


# -- each gap: Ready=False, the field named ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "reason", "message"),
    [
        pytest.param(
            judge(builtinTemplate="sentiment"),
            "UnknownTemplate",
            "spec.judge.builtinTemplate: unknown built-in judge template 'sentiment' (known: relevance, ",
            id="unknown-builtin-template",
        ),
        pytest.param(
            heuristic("regex", {"pattern": "a", "caseInsensitiv": True}),
            "InvalidParams",
            "spec.heuristic.params.caseInsensitiv: unknown parameter",
            id="unknown-param-camel",
        ),
        pytest.param(
            heuristic("contains", {"substring": "a", "case_insensitve": True}),
            "InvalidParams",
            "spec.heuristic.params.case_insensitve: unknown parameter",
            id="unknown-param-snake",
        ),
        pytest.param(
            heuristic("length", {"unit": "words"}),
            "InvalidParams",
            "spec.heuristic.params: min or max is required",
            id="length-without-bounds",
        ),
        pytest.param(
            heuristic("latency", {"maxMS": 500}),
            "InvalidParams",
            "spec.heuristic.params.maxMs: Field required; spec.heuristic.params.maxMS: unknown parameter",
            id="latency-without-maxMs",
        ),
        pytest.param(
            heuristic("cost", {"max": 0.01}),
            "InvalidParams",
            "spec.heuristic.params.maxUsd: Field required",
            id="cost-without-maxUsd",
        ),
        pytest.param(
            heuristic("regex", {"pattern": r"(\w+) \1"}),
            "InvalidPattern",
            r"spec.heuristic.params.pattern: invalid RE2 pattern '(\\w+) \\1': invalid escape sequence: \1 "
            "(RE2 has no backreferences or lookaround",
            id="re2-backreference",
        ),
        pytest.param(
            heuristic("regex", {"patterns": ["ok", "(?<=a)b"]}),
            "InvalidPattern",
            "spec.heuristic.params.patterns[1]: invalid RE2 pattern '(?<=a)b': invalid perl operator: (?<=",
            id="re2-lookbehind-in-list",
        ),
        pytest.param(
            heuristic("json-valid", None, dataType="categorical", categories=["valid"]),
            "InvalidScore",
            "spec.score.categories: a pass/fail check needs at least two categories (one for pass, one for "
            "fail), got 1",
            id="one-category",
        ),
        pytest.param(
            evaluator(
                "guardrail-validator",
                {"name": "pii", "params": {"stage": "input", "threshold": 0.5}},
                dataType="categorical",
                categories=["clean"],
            ),
            "InvalidScore",
            "spec.score.categories: a pass/fail check needs at least two categories",
            id="one-category-validator",
        ),
        pytest.param(
            evaluator("guardrail-validator", {"name": "json_valid", "params": {"stage": "input"}}),
            "UnsupportedStage",
            "spec.validator.params.stage: validator json_valid does not run on the input stage (only output)",
            id="validator-stage",
        ),
        pytest.param(
            heuristic("similarity", {"threshold": 2}),
            "InvalidParams",
            "spec.heuristic.params.threshold: Input should be less than or equal to 1",
            id="similarity-threshold",
        ),
    ],
)
def test_builder_refusals_are_not_ready(obj: dict[str, Any], reason: str, message: str) -> None:
    got_reason, got = not_ready(obj)
    assert got_reason == reason
    assert message in got


def test_every_problem_is_reported_at_once() -> None:
    reason, message = not_ready(heuristic("regex", {"patterns": ["(a)\\1", "ok", "[z-"]}))
    assert reason == "InvalidPattern"
    first, second = message.split("; ")
    assert first.startswith("spec.heuristic.params.patterns[0]: invalid RE2 pattern")
    # Python's re pinpoints a plain syntax error; the builder (RE2) refuses it too.
    assert second == (
        "spec.heuristic.params.patterns[2]: invalid regular expression '[z-': unterminated character set "
        "at position 0"
    )
    reason, message = not_ready(
        evaluator(
            "guardrail-validator", {"name": "pii", "params": {"stage": "ingest", "threshold": 2, "x": 1}}
        )
    )
    assert reason == "InvalidParams"
    assert message == (
        "spec.validator.params.stage must be input or output, got 'ingest'; "
        "spec.validator.params.threshold must be in [0, 1], got 2; "
        "spec.validator.params.x: unknown parameter"
    )


@pytest.mark.parametrize(
    "obj",
    [
        # RE2 runs \p{Greek}; Python's re would refuse it, so the old re-only check was too strict.
        pytest.param(heuristic("regex", {"pattern": r"\p{Greek}+"}), id="re2-only-syntax"),
        pytest.param(heuristic("regex", {"pattern": "x", "case_insensitive": True}), id="snake-case-key"),
        pytest.param(heuristic("regex", {"pattern": "x", "caseInsensitive": True}), id="camel-case-key"),
        pytest.param(judge(builtinTemplate="correctness"), id="builtin-template"),
        # A judge picks one of the categories itself: a single category is the judge's to use.
        pytest.param(
            evaluator(
                "llm-judge",
                {"model": "gpt-4o-mini", "builtinTemplate": "toxicity"},
                dataType="categorical",
                categories=["toxic"],
            ),
            id="judge-one-category",
        ),
    ],
)
def test_what_the_builder_accepts_is_ready(obj: dict[str, Any]) -> None:
    _, status = reconcile(obj)
    assert ready(status)[0] == "True", ready(status)


def test_length_bounds_must_be_integers_though_the_builder_would_coerce_them() -> None:
    # The one check stricter than the builder: a quoted number in a manifest is most likely a typo.
    obj = heuristic("length", {"min": "3"})
    assert evaluator_spec_problems(EvaluatorSpec.model_validate(obj["spec"])) == []
    assert not_ready(obj) == ("InvalidParams", "spec.heuristic.params.min must be an integer")


# -- drift guard: Ready iff the workers can build it ---------------------------------------------------------


def spec_of(kind: str, body: dict[str, Any] | None, **score: Any) -> EvaluatorSpec:
    field = {"llm-judge": "judge", "heuristic": "heuristic", "guardrail-validator": "validator"}[kind]
    return EvaluatorSpec.model_validate(
        {"kind": kind, field: body, "score": {"name": "s", "dataType": "boolean", **score}}
    )


def h(type_: str, params: dict[str, Any] | None = None, **score: Any) -> EvaluatorSpec:
    return spec_of("heuristic", {"type": type_, **({} if params is None else {"params": params})}, **score)


def v(name: str, params: dict[str, Any] | None = None, **score: Any) -> EvaluatorSpec:
    return spec_of(
        "guardrail-validator", {"name": name, **({} if params is None else {"params": params})}, **score
    )


def j(score: dict[str, Any] | None = None, **settings: Any) -> EvaluatorSpec:
    return spec_of(
        "llm-judge", {"model": "m", "baseUrl": "http://127.0.0.1:9/v1", **settings}, **(score or {})
    )


CATEGORICAL_1 = {"dataType": "categorical", "categories": ["only"]}
CATEGORICAL_2 = {"dataType": "categorical", "categories": ["good", "bad"]}

DRIFT_TABLE: list[tuple[str, EvaluatorSpec]] = [
    # judge
    *[(f"judge builtin {name}", j(builtinTemplate=name)) for name in BUILTIN_TEMPLATES],
    ("judge builtin unknown", j(builtinTemplate="sentiment")),
    (
        "judge custom template",
        j(template="Rate {{ output }} for {{ input }} ({{ expected }}, {{ context }})"),
    ),
    ("judge template undeclared var", j(template="{{ rubric }}")),
    ("judge template syntax", j(template="{{ input ")),
    ("judge template dunder", j(template="{{ input.__class__ }}")),
    ("judge one category", j(CATEGORICAL_1, builtinTemplate="relevance")),
    ("judge categorical", j(CATEGORICAL_2, builtinTemplate="relevance")),
    # heuristics: accepted
    ("regex", h("regex", {"pattern": r"\d{3}"})),
    ("regex unicode class", h("regex", {"pattern": r"\p{Han}+"})),
    ("regex patterns all", h("regex", {"patterns": ["a", "b"], "match": "all", "negate": True})),
    ("contains", h("contains", {"substrings": ["a", "b"], "case_insensitive": True})),
    ("json-valid no params", h("json-valid")),
    ("json-valid fenced off", h("json-valid", {"allowFenced": False})),
    ("json-schema", h("json-schema", {"schema": {"type": "object", "required": ["a"]}})),
    ("json-schema true", h("json-schema", {"schema": True})),
    ("length", h("length", {"min": 1, "max": 10, "unit": "words"})),
    ("length quoted number", h("length", {"min": "3"})),
    ("latency", h("latency", {"maxMs": 500})),
    ("cost", h("cost", {"max_usd": 0.01})),
    ("similarity", h("similarity", {"reference": "Paris", "method": "cosine", "threshold": 0.3})),
    ("categorical two", h("json-valid", None, **CATEGORICAL_2)),
    # heuristics: refused
    ("regex no pattern", h("regex", {"flags": "i"})),
    ("regex empty params", h("regex", {})),
    ("regex python-re syntax", h("regex", {"pattern": "[a-"})),
    ("regex backreference", h("regex", {"pattern": r"(a)\1"})),
    ("regex lookahead", h("regex", {"patterns": ["a", "foo(?=bar)"]})),
    ("regex too long", h("regex", {"pattern": "a" * 5000})),
    ("regex field both", h("regex", {"pattern": "a", "field": "both"})),
    ("regex pattern not a string", h("regex", {"pattern": 5})),
    ("contains empty", h("contains", {"substrings": ["a", ""]})),
    ("json-schema invalid", h("json-schema", {"schema": {"type": "nonsense"}})),
    ("json-schema bad regex", h("json-schema", {"schema": {"pattern": "[a-"}})),
    ("json-schema missing", h("json-schema", {"allowFenced": True})),
    ("length no bounds", h("length", {"unit": "chars"})),
    ("length inverted", h("length", {"min": 5, "max": 2})),
    ("length negative", h("length", {"max": -1})),
    ("latency missing", h("latency", {"max": 1})),
    ("latency not a number", h("latency", {"maxMs": "fast"})),
    ("latency infinite", h("latency", {"maxMs": float("inf")})),
    ("cost missing", h("cost", {"limit": 1})),
    ("similarity method", h("similarity", {"method": "embedding"})),
    ("categorical one", h("json-valid", None, **CATEGORICAL_1)),
    # guardrail validators
    ("validator pii", v("pii", {"entities": ["EMAIL"], "stage": "input", "threshold": 0.7})),
    ("validator categorical", v("json_valid", None, **CATEGORICAL_2)),
    ("validator unknown", v("pii-detector")),
    # A planned (or, when none is planned, an unknown) name is refused by both sides.
    ("validator planned", v(min(PLANNED_VALIDATORS, default="not_built_yet"))),
    ("validator citations", v("citations", {"urls": False})),
    ("validator toxicity", v("toxicity")),
    ("validator bad param", v("pii", {"bogus": 1})),
    ("validator RE2", v("regex", {"pattern": r"(a)\1"})),
    ("validator stage unsupported", v("json_valid", {"stage": "input"})),
    ("validator stage unknown", v("pii", {"stage": "ingest"})),
    ("validator threshold bool", v("pii", {"threshold": True})),
    ("validator one category", v("pii", None, **CATEGORICAL_1)),
    # built in code, past the schema's CEL rules
    (
        "no settings",
        EvaluatorSpec.model_construct(kind="heuristic", heuristic=None, score=ScoreConfig(name="s")),
    ),
    (
        "unknown heuristic type",
        EvaluatorSpec.model_construct(
            kind="heuristic",
            heuristic=HeuristicConfig.model_construct(type=cast(Any, "nope"), params={}),
            score=ScoreConfig(name="s"),
        ),
    ),
]


@pytest.mark.parametrize(("name", "spec"), DRIFT_TABLE, ids=[name for name, _ in DRIFT_TABLE])
def test_ready_iff_the_builder_accepts(name: str, spec: EvaluatorSpec) -> None:
    sent: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:  # a tripwire: building must stay offline
        sent.append(request)
        raise AssertionError(f"building an evaluator called {request.url}")

    before = copy.deepcopy(spec.model_dump())
    problems = evaluator_spec_problems(spec)
    try:
        built = build_evaluator(spec, api_key="x", transport=httpx.MockTransport(refuse))
    except EvaluatorConfigError as exc:
        refusal: str | None = str(exc)
    else:
        refusal = None
        built.close()
    assert sent == []
    assert spec.model_dump() == before  # neither side edits the spec
    if refusal is None:
        assert problems == [], f"{name}: the builder accepts it, the controller says {problems}"
    else:
        assert problems, f"{name}: the controller accepts it, the builder says {refusal}"
        for reason, message in problems:
            assert reason[:1].isupper() and " " not in reason
            assert message.startswith("spec."), message


def test_the_table_covers_both_outcomes_and_every_type() -> None:
    accepted = {name for name, spec in DRIFT_TABLE if not evaluator_spec_problems(spec)}
    assert 20 < len(accepted) < len(DRIFT_TABLE) - 20
    covered = {
        spec.heuristic.type
        for _, spec in DRIFT_TABLE
        if spec.heuristic is not None and spec.kind == "heuristic"
    }
    assert set(get_args(HeuristicType)) <= covered


def test_every_schema_heuristic_type_has_a_params_model_and_a_builder() -> None:
    assert set(get_args(HeuristicType)) == set(PARAMS) == set(BUILTIN)
