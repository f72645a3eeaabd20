"""Heuristic evaluators: deterministic checks computed from the span alone.

Each type is a factory ``params -> check`` where ``check(subject) -> Outcome`` (pass/fail, and a measured
value where one is meaningful: length, similarity, latency, cost). Params are validated once, with
camelCase or snake_case keys and unknown keys refused (a typo would otherwise silently change the check);
everything is precompiled at build time. The params models and compile steps live in
``otelguard.evalspec.heuristics``, which the Evaluator controller also runs at reconcile. ``BUILTIN`` maps
type names to factories; ``registry`` adds plug-ins. Parameters (``field`` is ``output`` unless given as
``input``):

- ``regex``: ``pattern`` or ``patterns`` (RE2: linear time, no backreferences/lookaround),
  ``match: any|all``, ``caseInsensitive``, ``negate``. Passes when the patterns match.
- ``contains``: ``substring`` or ``substrings``, ``match: any|all``, ``caseInsensitive``, ``negate``.
- ``json-valid``: ``allowFenced`` (default true: a Markdown code fence around the JSON is accepted).
- ``json-schema``: ``schema`` (Draft 2020-12, compiled once), ``allowFenced``.
- ``length``: ``min``/``max`` (inclusive), ``unit: chars|words``; measured: the length.
- ``latency``: ``maxMs``; measured: the span's latency in ms. ``cost``: ``maxUsd``; measured: its cost
  (a span without a known cost cannot be scored).
- ``similarity``: ``reference`` (else the subject's ``expected``), ``method: jaccard|cosine``,
  ``threshold`` (default 0.5). A *lexical* similarity in [0, 1]: Jaccard of the word sets or cosine of the
  word counts (Unicode words, case-folded). Embedding similarity comes with the guardrails embedding tier.

Texts longer than ``MAX_TEXT_CHARS`` are checked on their first ``MAX_TEXT_CHARS`` characters (said in
the comment) so one huge output cannot stall a worker; JSON checks refuse them (``PermanentEvalError``),
since a truncated document says nothing about the whole.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, Literal, TypeVar

from otelguard.evals.result import EvaluatorConfigError, PermanentEvalError
from otelguard.evals.scoring import Outcome
from otelguard.evals.subject import EvalSubject
from otelguard.evalspec import SpecError
from otelguard.evalspec import heuristics as spec
from otelguard.evalspec.heuristics import (
    ContainsParams,
    CostParams,
    HeuristicParams,
    JsonSchemaParams,
    JsonValidParams,
    LatencyParams,
    LengthParams,
    MatchParams,
    RegexParams,
    SimilarityParams,
    TextField,
    compile_json_schema,
    compile_regexes,
    one_or_many,
)
from otelguard.guardrails.embedding import embed
from otelguard.guardrails.patterns import ScanText
from otelguard.guardrails.validators.output import strip_fences

__all__ = [
    "BUILTIN",
    "MAX_TEXT_CHARS",
    "Check",
    "HeuristicFactory",
    "HeuristicParams",
    "lexical_similarity",
    "parse_params",
]

MAX_TEXT_CHARS = 2_000_000
Check = Callable[[EvalSubject], Outcome]
HeuristicFactory = Callable[[Mapping[str, Any]], Check]
P = TypeVar("P", bound=HeuristicParams)
T = TypeVar("T")
_WORD = re.compile(r"\w+")  # fixed pattern (not user input): Python's re is fine here


def _built(step: Callable[[], T]) -> T:
    """``step()``, its spec-level ``SpecError`` raised as the runtime's ``EvaluatorConfigError``."""
    try:
        return step()
    except SpecError as exc:
        raise EvaluatorConfigError(str(exc)) from None


def parse_params(model: type[P], params: Mapping[str, Any], kind: str) -> P:
    """Validated params or an ``EvaluatorConfigError`` naming every problem."""
    return _built(lambda: spec.parse_params(model, params, kind))


def _text(subject: EvalSubject, field: TextField) -> tuple[str, str]:
    """The text to check and a note when it was truncated."""
    text = subject.output if field == "output" else subject.input
    if len(text) <= MAX_TEXT_CHARS:
        return text, ""
    return text[:MAX_TEXT_CHARS], f" (checked the first {MAX_TEXT_CHARS:,} of {len(text):,} characters)"


# -- regex / contains -------------------------------------------------------------------------------


def _matched(found: list[bool], p: MatchParams, what: str, note: str) -> Outcome:
    hit = all(found) if p.match == "all" else any(found)
    passed = hit != p.negate
    n = sum(found)
    return Outcome(passed, None, f"{n} of {len(found)} {what} found in the {p.field}{note}")


def regex(params: Mapping[str, Any]) -> Check:
    p = parse_params(RegexParams, params, "regex")
    compiled = _built(lambda: compile_regexes(p))

    def check(subject: EvalSubject) -> Outcome:
        text, note = _text(subject, p.field)
        scan = ScanText(text)
        return _matched([r.search(scan) for r in compiled], p, "patterns", note)

    return check


def contains(params: Mapping[str, Any]) -> Check:
    p = parse_params(ContainsParams, params, "contains")
    items = one_or_many(p.substring, p.substrings, ("substring", "substrings"))
    needles = [s.casefold() for s in items] if p.case_insensitive else items

    def check(subject: EvalSubject) -> Outcome:
        text, note = _text(subject, p.field)
        hay = text.casefold() if p.case_insensitive else text
        return _matched([n in hay for n in needles], p, "substrings", note)

    return check


# -- JSON -------------------------------------------------------------------------------------------


def _load_json(subject: EvalSubject, p: JsonValidParams) -> tuple[Any, str | None]:
    text = subject.output if p.field == "output" else subject.input
    if len(text) > MAX_TEXT_CHARS:
        raise PermanentEvalError(
            f"the {p.field} has {len(text):,} characters, over the {MAX_TEXT_CHARS:,} a JSON check parses"
        )
    body = strip_fences(text) if p.allow_fenced else text
    try:
        return json.loads(body), None
    except json.JSONDecodeError as exc:
        return None, f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    except RecursionError:
        return None, "JSON nested too deeply to parse"


def json_valid(params: Mapping[str, Any]) -> Check:
    p = parse_params(JsonValidParams, params, "json-valid")

    def check(subject: EvalSubject) -> Outcome:
        _, error = _load_json(subject, p)
        return Outcome(error is None, None, error or f"the {p.field} is valid JSON")

    return check


def json_schema(params: Mapping[str, Any]) -> Check:
    p = parse_params(JsonSchemaParams, params, "json-schema")
    validator = _built(lambda: compile_json_schema(p))

    def check(subject: EvalSubject) -> Outcome:
        value, error = _load_json(subject, p)
        if error is not None:
            return Outcome(False, None, error)
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if not errors:
            return Outcome(True, None, "matches the schema")
        shown = "; ".join(
            f"/{'/'.join(str(s) for s in e.absolute_path)}: {e.message[:200]}" for e in errors[:3]
        )
        more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
        return Outcome(False, None, f"{len(errors)} schema violation(s): {shown}{more}")

    return check


# -- length / latency / cost ------------------------------------------------------------------------


def length(params: Mapping[str, Any]) -> Check:
    p = parse_params(LengthParams, params, "length")
    low = p.min if p.min is not None else 0
    high = p.max if p.max is not None else math.inf

    def check(subject: EvalSubject) -> Outcome:
        text = subject.output if p.field == "output" else subject.input
        # Characters are code points (len is O(1)); words are whitespace-separated runs.
        n = len(text) if p.unit == "chars" else sum(1 for _ in re.finditer(r"\S+", text))
        bounds = f"[{low}, {'∞' if high == math.inf else int(high)}]"
        return Outcome(low <= n <= high, float(n), f"{n} {p.unit} in the {p.field}; allowed {bounds}")

    return check


def latency(params: Mapping[str, Any]) -> Check:
    p = parse_params(LatencyParams, params, "latency")

    def check(subject: EvalSubject) -> Outcome:
        ms = subject.latency_ms
        return Outcome(ms <= p.max_ms, ms, f"latency {ms:.1f} ms; allowed ≤ {p.max_ms:g} ms")

    return check


def cost(params: Mapping[str, Any]) -> Check:
    p = parse_params(CostParams, params, "cost")

    def check(subject: EvalSubject) -> Outcome:
        usd = subject.cost_usd
        if usd is None:
            raise PermanentEvalError("the span has no cost (unknown model or no token usage)")
        return Outcome(usd <= p.max_usd, usd, f"cost ${usd:.6f}; allowed ≤ ${p.max_usd:g}")

    return check


# -- similarity -------------------------------------------------------------------------------------


def lexical_similarity(a: str, b: str, method: Literal["jaccard", "cosine"] = "jaccard") -> float:
    """Similarity in [0, 1] of two texts' words (case-folded ``\\w+`` runs); two empty texts are 1.0."""
    wa = Counter(_WORD.findall(a.casefold()))
    wb = Counter(_WORD.findall(b.casefold()))
    if not wa and not wb:
        return 1.0
    if not wa or not wb:
        return 0.0
    if method == "jaccard":
        return len(wa.keys() & wb.keys()) / len(wa.keys() | wb.keys())
    dot = sum(n * wb[w] for w, n in wa.items())
    norm = math.sqrt(sum(n * n for n in wa.values())) * math.sqrt(sum(n * n for n in wb.values()))
    return min(1.0, dot / norm)


def similarity(params: Mapping[str, Any]) -> Check:
    p = parse_params(SimilarityParams, params, "similarity")

    def check(subject: EvalSubject) -> Outcome:
        reference = p.reference if p.reference is not None else subject.expected
        if reference is None:
            raise PermanentEvalError("similarity needs params.reference or the span's expected output")
        text, note = _text(subject, p.field)
        if p.method == "embedding":
            vectors = embed([text, reference])  # the model reads the first 256 word pieces of each
            value = max(0.0, float(vectors[0] @ vectors[1]))
            what = "embedding cosine similarity"
        else:
            value = lexical_similarity(text, reference[:MAX_TEXT_CHARS], p.method)
            what = f"lexical {p.method} similarity"
        return Outcome(value >= p.threshold, value, f"{what} {value:.3f}; pass ≥ {p.threshold:g}{note}")

    return check


BUILTIN: Mapping[str, HeuristicFactory] = {
    "regex": regex,
    "contains": contains,
    "json-valid": json_valid,
    "json-schema": json_schema,
    "length": length,
    "latency": latency,
    "cost": cost,
    "similarity": similarity,
}
