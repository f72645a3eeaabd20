"""Pattern-based detection shared by the regex-tier families: RE2 candidates, confirmed in Python."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from math import log2

from otelguard.guardrails.base import Finding, redact_preview
from otelguard.guardrails.patterns import Regex, ScanText

__all__ = ["Confirm", "Detector", "Pattern", "shannon_entropy"]

# (text, start, end) -> (start, end, score), or None to reject the candidate.
Confirm = Callable[[str, int, int], "tuple[int, int, float] | None"]
# Below this size a search from 0 costs less than locating the set's first match.
_FLOOR_MIN_BYTES = 256


@dataclass(frozen=True, slots=True)
class Pattern:
    entity: str
    regex: str  # RE2 syntax; write [0-9] not \d (RE2's \d and \b are ASCII, Python's are Unicode)
    score: float
    confirm: Confirm | None = None
    group: int = 0  # the capture group that is the finding (e.g. the value of password=...)
    generic: bool = False  # dropped where it overlaps a non-generic finding
    category: str = ""
    replacement: str | None = None


class Detector:
    """A list of patterns of one validator; ``run`` turns pattern-set hits into findings."""

    def __init__(self, validator: str, patterns: Sequence[Pattern]) -> None:
        self.validator = validator
        self.patterns = tuple(patterns)
        self.regexes = tuple(Regex(p.regex) for p in self.patterns)
        self._generic = {p.entity for p in self.patterns if p.generic}

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(p.regex for p in self.patterns)

    def run(self, text: ScanText, hits: Collection[int] | None) -> list[Finding]:
        if hits is None:
            indices: Collection[int] = range(len(self.patterns))
            floor = 0
        else:
            indices = sorted(hits)
            # The hits come from the set the engine declared on ``text``: none of its patterns matches
            # before its floor, so the searches start there (same matches, less text to scan).
            floor = text.floor if len(text.data) > _FLOOR_MIN_BYTES else 0
        s = text.text
        validator = self.validator
        found: list[Finding] = []
        for i in indices:
            pat = self.patterns[i]
            spans = self.regexes[i].spans(text, pat.group, floor)
            if not spans:
                continue
            entity, confirm, generic = pat.entity, pat.confirm, pat.generic
            detail, replacement = pat.category or None, pat.replacement
            for start, end in spans:
                if generic and any(
                    start < (f.end or 0) and (f.start or 0) < end for f in found if f.entity != entity
                ):
                    continue  # a specific finding covers it already; generic patterns come last
                if confirm is None:
                    b, e, score = start, end, pat.score
                else:
                    confirmed = confirm(s, start, end)
                    if confirmed is None:
                        continue
                    b, e, score = confirmed
                if not 0.0 <= score <= 1.0:
                    score = min(1.0, max(0.0, score))
                found.append(
                    Finding(validator, entity, b, e, score, redact_preview(s[b:e]), detail, replacement)
                )
        if len(found) > 1:
            found = _dedupe(found, self._generic)
        return found


def _dedupe(found: list[Finding], generic: set[str]) -> list[Finding]:
    """Drop generic findings that overlap specific ones, and same-entity findings inside an earlier one."""
    found.sort(key=lambda f: (f.start or 0, -(f.end or 0), -f.score))
    specific = [f for f in found if f.entity not in generic] if generic else []
    out: list[Finding] = []
    last_end: dict[str, int] = {}
    for f in found:
        if f.entity in generic and any(_overlaps(f, g) for g in specific):
            continue
        if (f.start or 0) < last_end.get(f.entity, -1):
            continue
        last_end[f.entity] = f.end or 0
        out.append(f)
    return out


def _overlaps(a: Finding, b: Finding) -> bool:
    return (a.start or 0) < (b.end or 0) and (b.start or 0) < (a.end or 0)


def shannon_entropy(value: str) -> float:
    """Bits per character of ``value``'s character distribution."""
    n = len(value)
    if n == 0:
        return 0.0
    counts = Counter(value).values()
    if n < len(_XLOGX):  # the same products, looked up: identical sums, a third of the time
        return log2(n) - sum(map(_XLOGX.__getitem__, counts)) / n
    return log2(n) - sum(c * log2(c) for c in counts) / n


_XLOGX: tuple[float, ...] = (0.0, *(c * log2(c) for c in range(1, 513)))
