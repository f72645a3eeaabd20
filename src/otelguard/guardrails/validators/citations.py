"""Citation check (output stage): what the output cites exists in the supplied context.

Three citation forms, each switchable:

- numeric markers ``[1]``, ``[2, 3]``, ``[1-3]``, ``[1][2]`` refer to the context's numbered sources. Sources
  are numbered by labels at line starts (``[1] …``, ``(2) …``, ``Source 3:``, ``Document 4 -``, ``5. …``);
  a context without labels counts its blank-line-separated passages. Brackets that are code rather than
  citations do not count: indexing (``a[1]``, ``m[1][2]``), literals (``x = [1, 2]``, ``f([1])``), link texts
  (``[1](https://…)``), reference definitions (``[1]: …``) and anything inside backticks or code fences;
- URLs (``http(s)://…``, ``www.…``) must appear in the context. Trailing sentence punctuation and unbalanced
  closing brackets are not part of a URL; scheme, ``www.``, host case, a trailing ``/`` and the fragment are
  ignored when comparing;
- quoted passages (``"…"``, ``“…”``) of at least ``minQuoteWords`` words must appear in the context, compared
  word by word after NFKC + casefold (punctuation and whitespace ignored); an ellipsis splits a quote into
  parts that must each appear, in order.

``requireCitations`` (off by default) also flags factual-looking sentences (a number, or a capitalised word
past the first) that carry no citation. With no context supplied the check passes unless
``onMissingContext: flag`` (then every citation is unverifiable).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterator
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field

from otelguard.guardrails.base import CheckContext, Finding, Stage
from otelguard.guardrails.patterns import ScanText
from otelguard.guardrails.registry import Validator, ValidatorParams, register

__all__ = ["Citations", "CitationsParams", "context_sources", "find_markers", "find_urls"]

_OUTPUT: frozenset[Stage] = frozenset({"output"})
_MAX_RANGE = 100  # a "[1-100000]" range is not expanded past this

# Code regions: fenced blocks first (they may contain backticks), then inline spans.
_CODE = re.compile(r"```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)|`[^`\n]+`", re.DOTALL)
_MARKER = re.compile(r"\[\s*(\d{1,4}(?:\s*(?:[-\u2013,;]|and)\s*\d{1,4})*)\s*\]")
_MARKER_PART = re.compile(r"(\d{1,4})(?:\s*[-\u2013]\s*(\d{1,4}))?")
# Before a '[': a word character or closing bracket means indexing; these mean a literal or an argument.
_CODE_BEFORE = frozenset("=([{+*/%|&^~")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>\"'`\u201c\u201d]+", re.IGNORECASE)
_URL_TRAIL = ".,;:!?*_'\u2019"
_PAIRS = {")": "(", "]": "[", "}": "{", ">": "<"}
_QUOTE = re.compile(r"\"([^\"\n]{1,2000})\"|\u201c([^\u201c\u201d]{1,2000})\u201d")
_ELLIPSIS = re.compile(r"\.\s*\.\s*\.|\u2026|\[\s*(?:\.\.\.|\u2026)\s*\]")
_WORD = re.compile(r"\w+")
_LABEL = re.compile(
    r"^[ \t>*#-]*(?:\[(\d{1,4})\]|\((\d{1,4})\)"
    r"|(?:source|document|doc|chunk|passage|context|reference|ref)\s*#?\s*(\d{1,4})\s*[:.)\]\-\u2013]"
    r"|(\d{1,4})[.)]\s)",
    re.IGNORECASE | re.MULTILINE,
)
_PASSAGES = re.compile(r"\n\s*\n|^\s*(?:-{3,}|={3,})\s*$", re.MULTILINE)
# A sentence ends at . ! ? (plus closing quotes/brackets) before whitespace, or at a line break: not at
# the '.' of "3.5" or "e.g." inside a word run.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)\]]*[ \t]+|\s*\n\s*")
_ABBREVIATION = re.compile(
    r"(?:\b(?:e\.g|i\.e|etc|vs|cf|al|approx|no|fig|dr|mr|mrs|ms|st|inc|ltd|jr|sr)|(?<!\w)\w)\.$",
    re.IGNORECASE,
)
_FACTUAL = re.compile(r"\d|(?<=\s)[A-Z][a-z]")


class CitationsParams(ValidatorParams):
    markers: bool = Field(True, description="Check numeric markers [1] against the context's sources.")
    urls: bool = Field(True, description="Check that cited URLs appear in the context.")
    quotes: bool = Field(True, description="Check that quoted passages appear in the context.")
    min_quote_words: int = Field(
        4, ge=1, le=100, description="Shorter quotes (titles, scare quotes) are not checked."
    )
    require_citations: bool = Field(
        False, description="Flag factual-looking sentences (numbers, names) that cite nothing."
    )
    min_claim_words: int = Field(6, ge=1, le=100, description="requireCitations: shorter sentences pass.")
    on_missing_context: Literal["pass", "flag"] = Field(
        "pass", description="No context supplied: pass, or flag every citation as unverifiable."
    )
    max_findings: int = Field(50, ge=1, le=1000, description="Findings reported at most.")


def _mask_code(text: str) -> str:
    """``text`` with code regions blanked (same length, so offsets still hold)."""
    return _CODE.sub(lambda m: " " * len(m.group(0)), text)


def _numbers(inner: str) -> list[int]:
    out: list[int] = []
    for m in _MARKER_PART.finditer(inner):
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) else lo
        out.extend(range(lo, hi + 1) if lo <= hi and hi - lo < _MAX_RANGE else (lo, hi))
    return out


def find_markers(text: str) -> Iterator[tuple[int, int, list[int]]]:
    """``(start, end, numbers)`` of each citation marker, code-like brackets skipped."""
    masked = _mask_code(text)
    last_end = -1
    for m in _MARKER.finditer(masked):
        start, end = m.span()
        chained = start == last_end  # "[1][2]": the second follows a citation, not an expression
        before = masked[start - 1] if start else ""
        if not chained and (before.isalnum() or before in ")]_"):
            continue  # a[1], f(x)[0], m[1][2]
        prev = masked[:start].rstrip()[-1:]
        if not chained and prev in _CODE_BEFORE:
            continue  # x = [1, 2], f([1]), [[1], [2]]
        after = masked[end : end + 1]
        if after in ("(", ":", "="):
            continue  # [1](url) link text, [1]: reference definition, [1] = assignment
        last_end = end
        yield start, end, _numbers(m.group(1))


def _trim_url(url: str) -> str:
    while url:
        last = url[-1]
        if last in _URL_TRAIL:
            url = url[:-1]
        elif last in _PAIRS and url.count(last) > url.count(_PAIRS[last]):
            url = url[:-1]  # "(see https://x.org/a)" — the ')' closes the sentence's bracket
        else:
            break
    return url


def find_urls(text: str) -> Iterator[tuple[int, int, str]]:
    """``(start, end, url)`` of each URL, trailing punctuation and unbalanced brackets excluded."""
    for m in _URL.finditer(text):
        url = _trim_url(m.group(0))
        if "." in url.split("//", 1)[-1]:
            yield m.start(), m.start() + len(url), url


def _url_key(url: str) -> str:
    if not re.match(r"(?i)https?://", url):
        url = "http://" + url
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return url.lower()
    host = host.removeprefix("www.")
    path = parts.path.rstrip("/")
    return host + path + (f"?{parts.query}" if parts.query else "")


def _words(text: str) -> str:
    return " ".join(_WORD.findall(unicodedata.normalize("NFKC", text).casefold()))


def context_sources(context: str) -> set[int]:
    """Source numbers of ``context``: its line-start labels, else 1..n over its blank-line passages."""
    labels = {int(next(g for g in m.groups() if g)) for m in _LABEL.finditer(context)}
    labels.discard(0)
    if labels:
        return labels
    passages = [p for p in _PASSAGES.split(context) if p and p.strip()]
    return set(range(1, len(passages) + 1))


@register
class Citations(Validator):
    name = "citations"
    aliases = ("citation", "citation_check")
    Params = CitationsParams
    stages = _OUTPUT
    description = "Cited sources ([n] markers, URLs, quoted passages) exist in the supplied context."

    def check(
        self, text: ScanText, context: CheckContext, hits: Collection[int] | None = None
    ) -> list[Finding]:
        p: CitationsParams = self.params  # type: ignore[assignment]
        s = text.text
        supplied = context.context or ""
        if not supplied.strip() and p.on_missing_context == "pass":
            return []
        out: list[Finding] = []
        cited: list[tuple[int, int]] = []
        if p.markers:
            sources = context_sources(supplied)
            for start, end, numbers in find_markers(s):
                cited.append((start, end))
                missing = [n for n in numbers if n not in sources]
                if missing:
                    have = f"sources {min(sources)}-{max(sources)}" if sources else "no numbered sources"
                    detail = f"cites {', '.join(map(str, missing))}; the context has {have}"
                    out.append(Finding(self.name, "UNKNOWN_SOURCE", start, end, 1.0, s[start:end], detail))
        if p.urls:
            known = {_url_key(u) for _, _, u in find_urls(supplied)}
            flat = supplied.casefold()
            for start, end, url in find_urls(s):
                cited.append((start, end))
                key = _url_key(url)
                if key not in known and key.casefold() not in flat:
                    out.append(
                        Finding(
                            self.name, "UNKNOWN_URL", start, end, 1.0, url[:120], "URL not in the context"
                        )
                    )
        if p.quotes:
            out.extend(self._quotes(s, supplied, p))
        if p.require_citations:
            out.extend(self._uncited(s, cited, p))
        return out[: p.max_findings]

    def _quotes(self, s: str, supplied: str, p: CitationsParams) -> Iterator[Finding]:
        haystack = f" {_words(supplied)} "
        for m in _QUOTE.finditer(_mask_code(s)):
            start, end = m.span()
            body = s[start + 1 : end - 1]
            parts = [_words(x) for x in _ELLIPSIS.split(body)]
            parts = [x for x in parts if x]
            if sum(len(x.split()) for x in parts) < p.min_quote_words:
                continue
            pos = 0
            for part in parts:
                found = haystack.find(f" {part} ", pos)
                if found < 0:
                    preview = body if len(body) <= 80 else body[:77] + "…"
                    yield Finding(
                        self.name, "MISQUOTE", start, end, 1.0, preview, "quoted passage not in the context"
                    )
                    break
                pos = found + len(part) + 1

    def _uncited(self, s: str, cited: list[tuple[int, int]], p: CitationsParams) -> Iterator[Finding]:
        masked = _mask_code(s)
        for start, end in _sentences(masked):
            sentence = masked[start:end]
            if sentence.endswith(("?", ":")) or len(_WORD.findall(sentence)) < p.min_claim_words:
                continue
            if not _FACTUAL.search(sentence):
                continue
            # A citation inside the sentence or right after it ("… in 2021. [3]") covers it.
            gap = end + len(masked[end:]) - len(masked[end:].lstrip(" \t"))
            if any((a < end and b > start) or a == gap for a, b in cited):
                continue
            yield Finding(
                self.name, "UNCITED_CLAIM", start, end, 0.8, detail="factual sentence without a citation"
            )


def _sentences(text: str) -> Iterator[tuple[int, int]]:
    start = 0
    for m in [*_BOUNDARY.finditer(text), None]:
        if m and "\n" not in m.group(0) and _ABBREVIATION.search(text, 0, m.start()):
            continue  # "e.g. in", "Dr. Smith", "J. Doe": not a sentence end
        end = m.start() if m else len(text)
        seg = text[start:end]
        lead = len(seg) - len(seg.lstrip())
        if seg.strip():
            yield start + lead, start + len(seg.rstrip())
        if m:
            start = m.end()
