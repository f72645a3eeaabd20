"""``evaluator_spec_problems``: everything ``evals.registry.build_evaluator`` would refuse in a spec.

It runs the builder's own steps (params models, RE2 compilation, JSON Schema checks, the judge template
checks and built-in names, validator binding, the categorical mapping), minus anything that needs the
network or a secret, so a spec the Evaluator controller marks Ready is one every eval worker can build.
Where the builder stops at the first problem, this reports them all.
"""

from __future__ import annotations

from otelguard.api.v1alpha1.evaluator import EvaluatorSpec, HeuristicConfig, JudgeConfig
from otelguard.evalspec.errors import SpecError
from otelguard.evalspec.heuristics import (
    PARAMS,
    JsonSchemaParams,
    RegexParams,
    compile_json_schema,
    compile_regex,
    parse_params,
    regex_sources,
)
from otelguard.evalspec.judge_templates import JUDGE_VARIABLES, get_template
from otelguard.evalspec.scoring import categorical_labels
from otelguard.evalspec.validators import validator_errors
from otelguard.prompts import check_template

__all__ = ["evaluator_spec_problems"]

Problem = tuple[str, str]  # (condition reason, message naming the field)
_NO_PATTERN = "spec.heuristic.params: pattern or patterns is required"
_SETTINGS = {"llm-judge": "judge", "heuristic": "heuristic", "guardrail-validator": "validator"}


def _flat(errors: list[SpecError]) -> list[Problem]:
    return [(e.reason, text) for e in errors for text in e.problems]


def _judge(judge: JudgeConfig) -> list[Problem]:
    if judge.template is not None:
        return [
            (p.reason, f"spec.judge.template: {str(p).replace('spec.variables', 'the judge context')}")
            for p in check_template(judge.template, JUDGE_VARIABLES)
        ]
    try:
        get_template(judge.builtin_template or "")
    except KeyError as exc:
        return [("UnknownTemplate", f"spec.judge.builtinTemplate: {exc.args[0]}")]
    return []


def _heuristic(h: HeuristicConfig) -> list[Problem]:
    params = h.params or {}
    model = PARAMS.get(h.type)
    if model is None:
        return [("InvalidParams", f"spec.heuristic.type: unknown heuristic type {h.type!r}")]
    found: list[Problem] = []
    if h.type == "regex" and params.get("pattern") is None and params.get("patterns") is None:
        found.append(("InvalidParams", "spec.heuristic: type regex needs params.pattern or params.patterns"))
    try:
        parsed = parse_params(model, params, h.type)
    except SpecError as exc:
        # The model says "pattern or patterns is required" too: said once, above, is enough.
        return found + [(exc.reason, t) for t in exc.problems if not (found and t == _NO_PATTERN)]
    errors: list[SpecError] = []
    if isinstance(parsed, RegexParams):
        for path, pattern in regex_sources(parsed):
            try:
                compile_regex(path, pattern, case_insensitive=parsed.case_insensitive)
            except SpecError as exc:
                errors.append(exc)
    if isinstance(parsed, JsonSchemaParams):
        try:
            compile_json_schema(parsed)
        except SpecError as exc:
            errors.append(exc)
    return found + _flat(errors)


def evaluator_spec_problems(spec: EvaluatorSpec) -> list[Problem]:
    """(reason, message) for each setting of ``spec`` the evaluator builder refuses; [] when it builds."""
    field = _SETTINGS.get(spec.kind)
    config = getattr(spec, field) if field else None
    if config is None:
        return [("InvalidSpec", f"spec.{field or 'kind'}: required when spec.kind is {spec.kind}")]
    if spec.kind == "llm-judge":
        # The judge maps its verdict onto the categories itself: one category is allowed there.
        return _judge(spec.judge) if spec.judge is not None else []
    found = _heuristic(config) if isinstance(config, HeuristicConfig) else _flat(validator_errors(config))
    if spec.score.data_type == "categorical":
        try:
            categorical_labels(spec.score)
        except SpecError as exc:
            found += _flat([exc])
    return found
