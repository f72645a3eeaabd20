"""What an evaluator returns (``Evaluation``) and the two ways it can fail.

The runtime retries ``TransientEvalError`` (the judge timed out, rate-limited us, answered 5xx or could not
be reached) with backoff, honouring ``retry_after`` when the provider said how long to wait, and records
``PermanentEvalError`` in the dead-letter list at once (a malformed verdict after the allowed re-ask, a 4xx
other than 408/409/429, a subject the evaluator cannot score, a spec the builder refuses).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DataType",
    "EvalError",
    "Evaluation",
    "EvaluatorConfigError",
    "PermanentEvalError",
    "TransientEvalError",
]

DataType = Literal["numeric", "boolean", "categorical"]


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One score for one subject, plus what the LLM judge (if any) spent producing it."""

    value: float
    string_value: str = ""
    data_type: DataType = "numeric"
    comment: str = ""
    judge_input_tokens: int = 0
    judge_output_tokens: int = 0
    judge_cost_usd: float = 0.0


class EvalError(Exception):
    """Base of the evaluator errors."""


class TransientEvalError(EvalError):
    """Worth retrying later; ``retry_after`` is the provider's hint in seconds (None: use backoff)."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentEvalError(EvalError):
    """Retrying would fail the same way: record the failure and move on."""


class EvaluatorConfigError(PermanentEvalError, ValueError):
    """The evaluator spec cannot be built (bad params, unknown template or validator)."""
