"""``SpecError``: what the evaluator builder refuses, worded twice.

``str(err)`` is the builder's message (what a worker records when it cannot build the evaluator);
``problems`` say the same with ``spec.``-rooted field paths, for the Evaluator's ``Ready=False`` condition.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["SpecError"]


class SpecError(ValueError):
    """A spec setting the evaluator builder refuses; ``reason`` is a CamelCase condition reason."""

    def __init__(self, reason: str, message: str, problems: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.problems = list(problems) or [message]
