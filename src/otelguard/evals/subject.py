"""The span an evaluator scores, as carried in a Celery message.

Messages are JSON, so ``to_dict`` produces only JSON types (non-finite floats become None, tuples become
lists, other values their ``str``) and ``from_dict`` checks types, naming every bad field at once, so a
corrupt message fails clearly (``PermanentEvalError``) rather than deep inside an evaluator. Unknown keys
are ignored: during a rolling upgrade a newer producer may add fields.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from types import MappingProxyType
from typing import Any

from otelguard.evals.result import PermanentEvalError

__all__ = ["EvalSubject"]

_EMPTY: Mapping[str, Any] = MappingProxyType({})
_STR = ("project_id", "trace_id", "span_id", "session_id", "name", "kind", "model", "input", "output")
_OPTIONAL_STR = ("expected", "context")


@dataclass(frozen=True, slots=True)
class EvalSubject:
    project_id: str
    trace_id: str
    span_id: str
    session_id: str
    name: str
    kind: str
    model: str
    input: str
    output: str
    start_ns: int
    latency_ms: float
    cost_usd: float | None
    status_error: bool
    attributes: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    expected: str | None = None  # a reference answer (correctness, similarity)
    context: str | None = None  # retrieved context (faithfulness)

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: _json_safe(getattr(self, f.name)) for f in fields(self)}
        out["attributes"] = _json_safe(dict(self.attributes))
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvalSubject:
        if not isinstance(data, Mapping):
            raise PermanentEvalError(f"a subject must be an object, got {type(data).__name__}")
        problems: list[str] = []

        def need(name: str, ok: bool, what: str) -> None:
            if not ok:
                got = type(data[name]).__name__ if name in data else "nothing"
                problems.append(f"{name} must be {what}, got {got}")

        for name in _STR:
            need(name, isinstance(data.get(name), str), "a string")
        for name in _OPTIONAL_STR:
            need(name, data.get(name) is None or isinstance(data.get(name), str), "a string or null")
        need("start_ns", _is_int(data.get("start_ns")), "an integer")
        need("latency_ms", _is_number(data.get("latency_ms")), "a number")
        cost = data.get("cost_usd")
        need("cost_usd", cost is None or _is_number(cost), "a number or null")
        need("status_error", isinstance(data.get("status_error"), bool), "a boolean")
        attributes = data.get("attributes", {})
        need("attributes", isinstance(attributes, Mapping), "an object")
        if problems:
            raise PermanentEvalError("invalid subject: " + "; ".join(problems))
        return cls(
            **{name: data[name] for name in _STR},
            start_ns=int(data["start_ns"]),
            latency_ms=float(data["latency_ms"]),
            cost_usd=None if cost is None else float(cost),
            status_error=data["status_error"],
            attributes=dict(attributes),
            expected=data.get("expected"),
            context=data.get("context"),
        )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return str(value)
