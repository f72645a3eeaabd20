"""Build an evaluator from an ``EvaluatorSpec``; the registry of heuristic types.

``build_evaluator`` validates and precompiles everything once (regexes, JSON Schemas, validator params,
judge templates) and raises ``EvaluatorConfigError`` (a ``PermanentEvalError``) for a spec it cannot run,
so a worker builds an evaluator once per evaluator version and then only calls ``evaluate``.

Heuristic types are plug-ins, in the manner of opentelemetry-python's registries: a name → factory dict
(``register_heuristic``) holding the built-in types of ``heuristics.BUILTIN``. A factory takes the
``spec.heuristic.params`` mapping and returns ``check(subject) -> Outcome``; ``scoring`` turns the outcome
into the score ``spec.score`` asks for. (The CRD schema admits only the built-in type names; a plug-in
may replace one of them, or serve callers that build specs in code.)
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Protocol

import httpx

from otelguard.api.v1alpha1.evaluator import EvaluatorSpec
from otelguard.evals.heuristics import BUILTIN, Check, HeuristicFactory
from otelguard.evals.judge import JudgeEvaluator
from otelguard.evals.result import Evaluation, EvaluatorConfigError
from otelguard.evals.scoring import ScoreMapper
from otelguard.evals.subject import EvalSubject
from otelguard.evals.validators import ValidatorEvaluator

__all__ = [
    "Evaluator",
    "HeuristicEvaluator",
    "build_evaluator",
    "heuristic_types",
    "register_heuristic",
]


class Evaluator(Protocol):
    def evaluate(self, subject: EvalSubject) -> Evaluation: ...

    def close(self) -> None: ...


_HEURISTICS: dict[str, HeuristicFactory] = dict(BUILTIN)
_LOCK = threading.Lock()


def register_heuristic(name: str, factory: HeuristicFactory, *, replace: bool = False) -> None:
    """Add a heuristic type; ``replace=True`` to override an existing one (built-in or plug-in)."""
    if not name:
        raise ValueError("a heuristic type needs a name")
    with _LOCK:
        if name in _HEURISTICS and not replace:
            raise ValueError(f"heuristic type {name!r} is already registered")
        _HEURISTICS[name] = factory


def heuristic_types() -> frozenset[str]:
    return frozenset(_HEURISTICS)


class HeuristicEvaluator:
    """A precompiled check plus the score mapping; stateless, so safe to share between threads."""

    __slots__ = ("_check", "_scores")

    def __init__(self, check: Check, scores: ScoreMapper) -> None:
        self._check = check
        self._scores = scores

    def evaluate(self, subject: EvalSubject) -> Evaluation:
        return self._scores.evaluation(self._check(subject))

    def close(self) -> None:
        return None


def _heuristic(spec: EvaluatorSpec, scores: ScoreMapper) -> HeuristicEvaluator:
    assert spec.heuristic is not None
    factory = _HEURISTICS.get(spec.heuristic.type)
    if factory is None:
        known = ", ".join(sorted(_HEURISTICS))
        raise EvaluatorConfigError(f"unknown heuristic type {spec.heuristic.type!r} (known: {known})")
    params: Mapping[str, Any] = spec.heuristic.params or {}
    return HeuristicEvaluator(factory(params), scores)


def build_evaluator(
    spec: EvaluatorSpec, *, api_key: str | None = None, transport: httpx.BaseTransport | None = None
) -> Evaluator:
    """The evaluator ``spec`` describes; ``api_key``/``transport`` are used by the LLM judge only."""
    if spec.kind == "heuristic" and spec.heuristic is not None:
        return _heuristic(spec, ScoreMapper(spec.score))
    if spec.kind == "guardrail-validator" and spec.validator is not None:
        return ValidatorEvaluator(spec.validator, ScoreMapper(spec.score))
    if spec.kind == "llm-judge" and spec.judge is not None:
        return JudgeEvaluator(spec.judge, spec.score, api_key=api_key, transport=transport)
    raise EvaluatorConfigError(f"spec.kind {spec.kind} needs its settings (spec.judge/heuristic/validator)")
