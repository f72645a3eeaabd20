"""RE2 behind a small typed surface: single regexes and combined pattern sets over UTF-8 bytes.

Everything the guardrails match runs on RE2 (google-re2): linear time whatever the pattern, so a user
pattern such as ``(a+)+$`` cannot backtrack catastrophically, and constructs RE2 cannot run in linear
time (backreferences, lookaround) are refused at compile time with a clear message.

A policy's patterns are compiled into one :class:`PatternSet`; one scan of the text tells which patterns
occur anywhere, and only those run again (:meth:`Regex.finditer`) to find where. Both work on the UTF-8
bytes of the text (:class:`ScanText` encodes once); offsets are converted back to ``str`` indices, for
free when the text is ASCII.

Finding where costs one pass over the text per matching pattern, mostly spent before its first match. A
set also compiles all its patterns into one alternation (the *locator*): its leftmost match starts where
the earliest match of any pattern of the set starts, so once a set matched, every one of its patterns can
start searching there (:attr:`ScanText.floor`) and find exactly what a search from 0 finds — RE2 still
sees the text before that offset as context for ``\b`` and ``^``.
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
    # The set whose hits the validators about to run were given (see ``floor``), and its cached floor.
    _floor_set: PatternSet | None = field(init=False, default=None, repr=False)
    _floor: int = field(init=False, default=-1, repr=False)

    def __post_init__(self) -> None:
        self.data = self.text.encode("utf-8", "surrogatepass")
        self.ascii = len(self.data) == len(self.text)

    def char_offset(self, byte_offset: int, known: tuple[int, int] = (0, 0)) -> int:
        """The ``str`` index of ``byte_offset``; ``known`` is an earlier (byte, char) pair to count from."""
        if self.ascii:
            return byte_offset
        b, c = known if known[0] <= byte_offset else (0, 0)
        if _BYTES_TO_CHARS is not None:
            return c + int(_BYTES_TO_CHARS(self.data, b, byte_offset))
        return c + len(self.data[b:byte_offset].decode("utf-8", "surrogatepass"))

    def use_set(self, patterns: PatternSet) -> None:
        """Declare the set whose :meth:`PatternSet.match` hits the next validators receive."""
        self._floor_set = patterns
        self._floor = -1

    @property
    def floor(self) -> int:
        """Byte offset before which no pattern of the declared set matches (0 when none is declared).
        Only valid for the patterns of that set: callers use it for set hits only."""
        if self._floor < 0:
            self._floor = 0 if self._floor_set is None else self._floor_set.first_start(self)
        return self._floor


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

    def finditer(self, text: ScanText, group: int = 0, pos: int = 0) -> Iterator[tuple[int, int]]:
        """``(start, end)`` of every non-empty match (of ``group`` when it took part), in ``str`` offsets;
        the search starts at byte offset ``pos``."""
        yield from self.spans(text, group, pos)

    def spans(self, text: ScanText, group: int = 0, pos: int = 0) -> list[tuple[int, int]]:
        """:meth:`finditer` as a list (cheaper on the hot path than a generator)."""
        out: list[tuple[int, int]] = []
        data = text.data
        n = len(data)
        if self._raw is not None:
            match = self._raw.Match
            while pos <= n:
                found = match(_UNANCHORED, data, pos, n)
                s0, e0 = found[0]
                if s0 < 0:
                    break
                start, end = found[group] if group else (s0, e0)
                if 0 <= start < end:
                    out.append((start, end))
                pos = e0 if e0 > s0 else e0 + 1
        else:
            for m in self._re.finditer(data, pos):
                start, end = m.span(group)
                if 0 <= start < end:
                    out.append((start, end))
        if out and not text.ascii:
            out = _to_chars(text, out)
        return out


def _to_chars(text: ScanText, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Byte spans (in order of start) → ``str`` spans, counting each from the previous offset."""
    out = []
    known = (0, 0)
    for start, end in spans:
        s = text.char_offset(start, known)
        e = text.char_offset(end, (start, s))
        known = (start, s)
        out.append((s, e))
    return out


class PatternSet:
    """Many patterns, one scan: which of them match somewhere in a text."""

    __slots__ = ("_locator", "_set", "size")

    def __init__(self, patterns: Sequence[str]) -> None:
        self.size = len(patterns)
        self._set: Any = None
        self._locator: Any = None
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
        self._locator = _locator(patterns)

    def match(self, text: ScanText) -> list[int]:
        """Indices of the patterns that match somewhere (unordered)."""
        if self._set is None:
            return []
        found: list[int] | None = self._set.Match(text.data)
        return found or []

    def first_start(self, text: ScanText) -> int:
        """Byte offset where the earliest match of any pattern starts (``len(text.data)`` when none does)."""
        data = text.data
        if self._locator is None:
            return 0 if self._set is not None else len(data)
        if _UNANCHORED is not None:
            start = self._locator.Match(_UNANCHORED, data, 0, len(data))[0][0]
            return len(data) if start < 0 else int(start)
        m = self._locator.search(data)
        return len(data) if m is None else int(m.start())


def _locator(patterns: Sequence[str]) -> Any:
    """One alternation of the patterns, captures off: its leftmost match starts at the earliest match
    start of any of them. None (no floor: search from 0) if RE2 will not compile it."""
    opts = _options(_SET_MEM)
    opts.never_capture = True
    try:
        compiled = re2.compile("|".join(f"(?:{p})" for p in patterns), opts)
    except re2.error:  # pragma: no cover - each pattern compiled alone; only a memory limit can refuse this
        return None
    raw = getattr(compiled, "_regexp", None)
    return raw if raw is not None and _UNANCHORED is not None else compiled
