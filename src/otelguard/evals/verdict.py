"""Reading a judge's verdict from its reply, whatever shape the model chose.

Accepted, in order: a JSON object with ``score`` (and ``reasoning``/``reason``/``explanation``), the same
inside a Markdown code fence, a JSON object embedded in prose, a bare number (``4``, ``0.75``), and for
categorical scores a bare category. Anything else is ``MalformedVerdict``, whose message is what the
corrective re-ask tells the judge.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["MalformedVerdict", "Verdict", "categorical_score", "numeric_score", "parse_verdict"]

_FENCE = re.compile(r"```[A-Za-z0-9_-]*[ \t]*\n?(.*?)```", re.DOTALL)
_NUMBER = re.compile(r"\s*([-+]?(?:\d+(?:\.\d*)?|\.\d+))\s*\.?\s*")
_REASON_KEYS = ("reasoning", "reason", "explanation", "rationale")
_MAX_BARE = 63  # a bare reply longer than a category name is prose, not a verdict


class MalformedVerdict(ValueError):
    """The reply holds no usable verdict; the message says why (it is sent back to the judge)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    score: float | str
    reasoning: str = ""


def _from_object(obj: Mapping[str, Any]) -> Verdict:
    lowered = {str(k).lower(): v for k, v in obj.items()}
    if "score" not in lowered:
        raise MalformedVerdict('the JSON object has no "score" field')
    score = lowered["score"]
    reasoning = next((lowered[k] for k in _REASON_KEYS if isinstance(lowered.get(k), str)), "")
    if isinstance(score, bool) or not isinstance(score, int | float | str):
        raise MalformedVerdict(f'"score" must be a number or a string, got {json.dumps(score)[:60]}')
    return Verdict(score if isinstance(score, str) else float(score), reasoning)


def _json(text: str) -> Verdict | None:
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return None
    if isinstance(value, dict):
        return _from_object(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Verdict(float(value))
    return None


def _embedded(text: str) -> Verdict | None:
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except (json.JSONDecodeError, RecursionError):
            continue
        if isinstance(value, dict) and any(str(k).lower() == "score" for k in value):
            return _from_object(value)
    return None


def parse_verdict(reply: str) -> Verdict:
    text = reply.strip()
    if not text:
        raise MalformedVerdict("the reply was empty")
    fenced = [m.group(1).strip() for m in _FENCE.finditer(text)]
    for candidate in [*fenced, text]:
        found = _json(candidate)
        if found is not None:
            return found
    found = _embedded(text)
    if found is not None:
        return found
    number = _NUMBER.fullmatch(text)
    if number is not None:
        return Verdict(float(number.group(1)))
    bare = text.strip("\"'`. ")
    if bare and len(bare) <= _MAX_BARE and "\n" not in bare:
        return Verdict(bare)
    raise MalformedVerdict('no JSON object with a "score" field was found')


def numeric_score(verdict: Verdict, low: float, high: float) -> float:
    """The verdict's score, checked against the rubric's scale."""
    score = verdict.score
    if isinstance(score, str):
        try:
            score = float(score.strip())
        except ValueError:
            raise MalformedVerdict(f"score {verdict.score!r} is not a number") from None
    if not math.isfinite(score) or not low <= score <= high:
        raise MalformedVerdict(f"score {score:g} is outside the scale {low:g} to {high:g}")
    return score


def categorical_score(verdict: Verdict, categories: Sequence[str]) -> tuple[int, str]:
    """(index, category as spelled in the spec) of the verdict's category; case-insensitive."""
    given = verdict.score if isinstance(verdict.score, str) else f"{verdict.score:g}"
    wanted = given.strip().casefold()
    for i, category in enumerate(categories):
        if category.casefold() == wanted:
            return i, category
    options = ", ".join(json.dumps(c) for c in categories)
    raise MalformedVerdict(f"score {given!r} is not one of the categories {options}")
