"""RE2 behind a small typed surface: single regexes and combined pattern sets over UTF-8 bytes.

Everything the guardrails match runs on RE2 (google-re2): linear time whatever the pattern, so a user
pattern such as ``(a+)+$`` cannot backtrack catastrophically, and constructs RE2 cannot run in linear
time (backreferences, lookaround) are refused at compile time with a clear message.

A policy's patterns are compiled into one :class:`PatternSet`; one scan of the text tells which patterns
occur anywhere, and only those run again (:meth:`Regex.finditer`) to find where. Both work on the UTF-8
bytes of the text (:class:`ScanText` encodes once); offsets are converted back to ``str`` indices, for
free when the text is ASCII.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import re2  # type: ignore[import-untyped]

__all__ = ["MAX_PATTERN_LENGTH", "PatternError", "PatternSet", "Regex", "ScanText"]

MAX_PATTERN_LENGTH = 4096
_REGEX_MEM = 8 << 20
# google-re2's Python wrapper adds ~1 µs per match call on top of RE2; the engine calls the bound RE2
# object directly when this version of the wrapper exposes it, and the public API otherwise.
_CORE: Any = getattr(re2, "_re2", None)
_UNANCHORED: Any = getattr(getattr(_CORE, "RE2", None), "Anchor", None)
_UNANCHORED = getattr(_UNANCHORED, "UNANCHORED", None)
_BYTES_TO_CHARS: Any = getattr(_CORE, "BytesToCharLen", None)
_SET_MEM = 64 << 20


class PatternError(ValueError):
    """A pattern RE2 cannot compile (syntax, unsupported construct, too large)."""


@dataclass(slots=True)
class ScanText:
    """A text and its UTF-8 bytes; what validators receive."""

    text: str
    data: bytes = field(init=False)
    ascii: bool = field(init=False)

    def __post_init__(self) -> None:
        self.data = self.text.encode("utf-8", "surrogatepass")
        self.ascii = len(self.data) == len(self.text)

    def char_offset(self, byte_offset: int) -> int:
        if self.ascii:
            return byte_offset
        if _BYTES_TO_CHARS is not None:
            return int(_BYTES_TO_CHARS(self.data, 0, byte_offset))
        return len(self.data[:byte_offset].decode("utf-8", "surrogatepass"))


def _options(max_mem: int, case_insensitive: bool = False) -> Any:
    opts = re2.Options()
    opts.max_mem = max_mem
    opts.log_errors = False
    opts.case_sensitive = not case_insensitive
    return opts


_UNSUPPORTED = re.compile(r"invalid escape sequence: \\[1-9]|invalid perl operator: \(\?<?[=!]")


def _message(exc: BaseException) -> str:
    msg = exc.args[0] if exc.args else str(exc)
    text = msg.decode("utf-8", "replace") if isinstance(msg, bytes) else str(msg)
    if _UNSUPPORTED.search(text):
        text += " (RE2 has no backreferences or lookaround: they cannot run in linear time)"
    return text


def _check_length(pattern: str) -> None:
    if not isinstance(pattern, str):
        raise PatternError(f"a pattern must be a string, got {type(pattern).__name__}")
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(f"pattern is longer than {MAX_PATTERN_LENGTH} characters")


class Regex:
    """One compiled RE2 regex; matches yield ``str`` offsets."""

    __slots__ = ("_raw", "_re", "groups", "pattern")

    def __init__(self, pattern: str, *, case_insensitive: bool = False) -> None:
        _check_length(pattern)
        self.pattern = pattern
        try:
            self._re = re2.compile(pattern, _options(_REGEX_MEM, case_insensitive))
        except re2.error as exc:
            raise PatternError(f"invalid RE2 pattern {pattern!r}: {_message(exc)}") from None
        self.groups: int = self._re.groups
        raw = getattr(self._re, "_regexp", None)
        self._raw: Any = raw if raw is not None and _UNANCHORED is not None else None

    def matches_empty(self) -> bool:
        return self._re.fullmatch(b"") is not None

    def search(self, text: ScanText) -> bool:
        return self._re.search(text.data) is not None

    def finditer(self, text: ScanText, group: int = 0) -> Iterator[tuple[int, int]]:
        """``(start, end)`` of every non-empty match (of ``group`` when it took part), in ``str`` offsets."""
        if self._raw is not None:
            yield from self._finditer_raw(text, group)
            return
        for m in self._re.finditer(text.data):
            start, end = m.span(group)
            if start < 0 or start == end:
                continue
            if text.ascii:
                yield start, end
            else:
                yield text.char_offset(start), text.char_offset(end)

    def _finditer_raw(self, text: ScanText, group: int) -> Iterator[tuple[int, int]]:
        data = text.data
        n = len(data)
        pos = 0
        match = self._raw.Match
        while pos <= n:
            spans = match(_UNANCHORED, data, pos, n)
            s0, e0 = spans[0]
            if s0 < 0:
                return
            start, end = spans[group] if group else (s0, e0)
            if 0 <= start < end:
                if text.ascii:
                    yield start, end
                else:
                    yield text.char_offset(start), text.char_offset(end)
            pos = e0 if e0 > s0 else e0 + 1


class PatternSet:
    """Many patterns, one scan: which of them match somewhere in a text."""

    __slots__ = ("_set", "size")

    def __init__(self, patterns: Sequence[str]) -> None:
        self.size = len(patterns)
        self._set: Any = None
        if not patterns:
            return
        built = re2.Set.SearchSet(_options(_SET_MEM))
        for pattern in patterns:
            _check_length(pattern)
            try:
                built.Add(pattern)
            except re2.error as exc:
                raise PatternError(f"invalid RE2 pattern {pattern!r}: {_message(exc)}") from None
        try:
            built.Compile()
        except re2.error as exc:  # pragma: no cover - only when the combined program exceeds memory
            raise PatternError(f"the combined pattern set does not compile: {_message(exc)}") from None
        self._set = built

    def match(self, text: ScanText) -> list[int]:
        """Indices of the patterns that match somewhere (unordered)."""
        if self._set is None:
            return []
        found: list[int] | None = self._set.Match(text.data)
        return found or []
