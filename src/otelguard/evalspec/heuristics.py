"""Heuristic parameters: the models and the compile steps shared by the builder and the controller.

``evals.heuristics`` builds its checks from these (params validated once, camelCase or snake_case keys,
unknown keys refused, regexes compiled with RE2, JSON Schemas checked); the Evaluator controller runs
the same parse and compile steps at reconcile, so a spec is Ready only when the builder accepts it.
The parameters of each type are documented in ``evals.heuristics``.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

import jsonschema
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from otelguard.evalspec.errors import SpecError
from otelguard.guardrails.patterns import MAX_PATTERN_LENGTH, PatternError, Regex

__all__ = [
    "PARAMS",
    "ContainsParams",
    "CostParams",
    "HeuristicParams",
    "JsonSchemaParams",
    "JsonValidParams",
    "LatencyParams",
    "LengthParams",
    "MatchParams",
    "RegexParams",
    "SimilarityParams",
    "TextField",
    "compile_json_schema",
    "compile_regex",
    "compile_regexes",
    "one_or_many",
    "parse_params",
    "regex_sources",
]

TextField = Literal["input", "output"]
_WHERE = "spec.heuristic"


class HeuristicParams(BaseModel):
    """Base of heuristic params: camelCase or snake_case keys, unknown keys refused."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


P = TypeVar("P", bound=HeuristicParams)


def parse_params(model: type[P], params: Mapping[str, Any], kind: str) -> P:
    """Validated params, or a ``SpecError`` naming every problem (``heuristic KIND: params.x: ...``)."""
    try:
        return model.model_validate(dict(params))
    except ValidationError as exc:
        said, paths = [], []
        for err in exc.errors(include_url=False):
            msg = "unknown parameter" if err["type"] == "extra_forbidden" else err["msg"]
            loc = "".join(f".{p}" for p in err["loc"])
            said.append(f"params{loc}: {msg}")
            spec_loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
            paths.append(f"{_WHERE}.params{spec_loc}: {msg.removeprefix('Value error, ')}")
        raise SpecError("InvalidParams", f"heuristic {kind}: " + "; ".join(said), paths) from None


def one_or_many(one: Any, many: Any, names: tuple[str, str]) -> list[str]:
    """``[one] + many``; ValueError when both are empty."""
    items = ([one] if one is not None else []) + list(many or [])
    if not items:
        raise ValueError(f"{names[0]} or {names[1]} is required")
    return items


# -- regex / contains -------------------------------------------------------------------------------


class MatchParams(HeuristicParams):
    field: TextField = "output"
    match: Literal["any", "all"] = "any"
    case_insensitive: bool = False
    negate: bool = False


class RegexParams(MatchParams):
    pattern: str | None = None
    patterns: list[str] | None = Field(None, max_length=64)

    @model_validator(mode="after")
    def _some(self) -> RegexParams:
        one_or_many(self.pattern, self.patterns, ("pattern", "patterns"))
        return self


class ContainsParams(MatchParams):
    substring: str | None = Field(None, min_length=1)
    substrings: list[str] | None = Field(None, max_length=256)

    @model_validator(mode="after")
    def _some(self) -> ContainsParams:
        items = one_or_many(self.substring, self.substrings, ("substring", "substrings"))
        if any(not s for s in items):
            raise ValueError("substrings must not be empty")
        return self


def regex_sources(p: RegexParams) -> list[tuple[str, str]]:
    """``(param path, pattern)`` in the order the check tests them: ``pattern``, then ``patterns``."""
    found = [("pattern", p.pattern)] if p.pattern is not None else []
    return found + [(f"patterns[{i}]", s) for i, s in enumerate(p.patterns or [])]


def _explain(pattern: str, exc: PatternError) -> str:
    # Python's re pinpoints plain syntax errors (with the position); RE2-only refusals keep RE2's words.
    if len(pattern) <= MAX_PATTERN_LENGTH:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                re.compile(pattern)
        except re.error as err:
            where = f" at position {err.pos}" if err.pos is not None else ""
            return f"invalid regular expression {pattern!r}: {err.msg}{where}"
        except (RecursionError, OverflowError):
            pass
    return str(exc)


def compile_regex(path: str, pattern: str, *, case_insensitive: bool = False) -> Regex:
    """One RE2 regex of ``params.<path>``; ``SpecError`` (InvalidPattern) when RE2 refuses it."""
    try:
        return Regex(pattern, case_insensitive=case_insensitive)
    except PatternError as exc:
        spec = f"{_WHERE}.params.{path}: {_explain(pattern, exc)}"
        raise SpecError("InvalidPattern", f"heuristic regex: {exc}", [spec]) from None


def compile_regexes(p: RegexParams) -> list[Regex]:
    return [compile_regex(path, s, case_insensitive=p.case_insensitive) for path, s in regex_sources(p)]


# -- JSON -------------------------------------------------------------------------------------------


class JsonValidParams(HeuristicParams):
    field: TextField = "output"
    allow_fenced: bool = True


class JsonSchemaParams(JsonValidParams):
    json_schema: dict[str, Any] | bool = Field(alias="schema")


def compile_json_schema(p: JsonSchemaParams) -> jsonschema.Draft202012Validator:
    """The schema's validator (Draft 2020-12, format checks on); ``SpecError`` for an invalid schema."""
    try:
        jsonschema.Draft202012Validator.check_schema(p.json_schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(s) for s in exc.absolute_path)
        spec = f"{_WHERE}.params.schema: invalid JSON Schema{f' at {where}' if where else ''}: {exc.message}"
        raise SpecError(
            "InvalidParams", f"heuristic json-schema: params.schema: {exc.message}", [spec]
        ) from None
    return jsonschema.Draft202012Validator(
        p.json_schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


# -- length / latency / cost / similarity -----------------------------------------------------------


class LengthParams(HeuristicParams):
    field: TextField = "output"
    min: int | None = Field(None, ge=0)
    max: int | None = Field(None, ge=0)
    unit: Literal["chars", "words"] = "chars"

    @model_validator(mode="after")
    def _bounds(self) -> LengthParams:
        if self.min is None and self.max is None:
            raise ValueError("min or max is required")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


class LatencyParams(HeuristicParams):
    max_ms: float = Field(ge=0, allow_inf_nan=False)


class CostParams(HeuristicParams):
    max_usd: float = Field(ge=0, allow_inf_nan=False)


class SimilarityParams(HeuristicParams):
    field: TextField = "output"
    reference: str | None = None
    # jaccard/cosine: lexical (word sets / word counts); embedding: all-MiniLM-L6-v2 cosine (the guardrails'
    # embedding tier), which also matches paraphrases.
    method: Literal["jaccard", "cosine", "embedding"] = "jaccard"
    threshold: float = Field(0.5, ge=0, le=1)


# The params model of each built-in heuristic type.
PARAMS: Mapping[str, type[HeuristicParams]] = {
    "regex": RegexParams,
    "contains": ContainsParams,
    "json-valid": JsonValidParams,
    "json-schema": JsonSchemaParams,
    "length": LengthParams,
    "latency": LatencyParams,
    "cost": CostParams,
    "similarity": SimilarityParams,
}
