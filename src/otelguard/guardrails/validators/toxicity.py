"""Toxicity and profanity: a weighted lexicon (``data/toxicity.txt``) matched as one RE2 pattern set.

Categories: profanity, insult, threat, hate (identity attacks and slurs), sexual. The text is normalised
first — NFKC, accents stripped, casefolded, invisible format characters dropped, typographic apostrophes
straightened, and Cyrillic/Greek look-alike letters mapped to Latin inside words that mix them with Latin —
keeping a map back to the original offsets. Word entries are compiled to tolerate leetspeak (``sh1t``,
``@ss``), masked inner letters (``f*ck``), stretched letters (``fuuuck``) and spaced letters (``f u c k``);
phrases (threats, dehumanising statements) are RE2 fragments. Every entry matches on word boundaries, so
"Scunthorpe", "assassin" and "cocktail" never match, and benign phrases from the allowlist ("magna cum
laude", "spic and span", "I'll shoot you an email") cancel any finding they overlap.

All entries plus the allowlist form one RE2 set: one scan of the normalised text says which entries occur;
only those run again to find where (a clean 2 KB text costs one normalisation and one set scan).

Each finding scores its entry's severity x the category weight, x ``directedBoost`` for insults and
profanity aimed at someone ("you idiot", "fuck you"), capped to 1. The validator's score — carried by a
summary ``TOXICITY`` finding — is the weighted density of findings, ``sum(scores) * densityWords /
max(words, densityWords)``, floored at the worst single finding and capped to 1: one slur or threat fails
any text, while mild words fail a text only when they are frequent in it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Annotated, ClassVar, Literal, get_args

from pydantic import Field, StringConstraints

from otelguard.guardrails.base import CheckContext, Finding
from otelguard.guardrails.patterns import PatternSet, Regex, ScanText
from otelguard.guardrails.registry import Validator, ValidatorParams, register

__all__ = [
    "CATEGORIES",
    "Entry",
    "Lexicon",
    "Profanity",
    "Toxicity",
    "ToxicityParams",
    "load_lexicon",
    "normalize",
]

Category = Literal["profanity", "insult", "threat", "hate", "sexual"]
CATEGORIES: tuple[Category, ...] = get_args(Category)
_DIRECTED: frozenset[str] = frozenset({"profanity", "insult"})
_PROFANITY_DEFAULT: tuple[Category, ...] = ("profanity", "sexual")

# -- normalisation -----------------------------------------------------------------------------------------
_APOSTROPHES = {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u0060": "'", "\u00b4": "'"}
# Cyrillic and Greek letters that look like Latin ones (lowercase, after casefold).
_HOMOGLYPHS = str.maketrans(
    "\u0430\u0432\u0435\u0451\u043a\u043c\u043d\u043e\u0440\u0441\u0442\u0443\u0445\u0455\u0456"
    "\u0458\u0501\u051b\u051d\u03b1\u03b2\u03b5\u03b9\u03ba\u03bd\u03bf\u03c1\u03c4\u03c5\u03c7",
    "abeekmhopctyxsijdqwabeikvoptux",
)
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_MIXED_WORD = re.compile(r"\w*[a-z]\w*[^\x00-\x7f]\w*|\w*[^\x00-\x7f]\w*[a-z]\w*")


def _fold_char(ch: str) -> str:
    if ch in _APOSTROPHES:
        return _APOSTROPHES[ch]
    if unicodedata.category(ch) == "Cf":
        return ""  # zero-width and other invisible characters hide nothing from us
    decomposed = unicodedata.normalize("NFKD", ch)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", stripped).casefold()


def normalize(text: str) -> tuple[str, list[int] | None]:
    """The text folded for matching, and a map from its offsets to the original's (None: identity)."""
    if text.isascii():
        return text.lower(), None
    out: list[str] = []
    index: list[int] = []
    pos = 0
    for m in _NON_ASCII.finditer(text):  # ASCII stretches in bulk; only non-ASCII runs char by char
        if m.start() > pos:
            out.append(text[pos : m.start()].lower())
            index.extend(range(pos, m.start()))
        for i in range(m.start(), m.end()):
            folded = _fold_char(text[i])
            out.append(folded)
            index.extend([i] * len(folded))
        pos = m.end()
    if pos < len(text):
        out.append(text[pos:].lower())
        index.extend(range(pos, len(text)))
    index.append(len(text))
    norm = "".join(out)
    if not norm.isascii():
        norm = _MIXED_WORD.sub(lambda w: w.group().translate(_HOMOGLYPHS), norm)
    return norm, index


# -- lexicon -----------------------------------------------------------------------------------------------
_LEET: Mapping[str, str] = {
    "a": "a4@", "b": "b8", "e": "e3", "g": "g9", "i": "i1!|", "l": "l1|", "o": "o0", "s": "s5$",
    "t": "t7+", "u": "uv", "z": "z2",
}  # fmt: skip
_MASK = "*#"
_SEPARATOR = r"[ ._\-]{1,2}"
_WORD_TERM = re.compile(r"^([a-z]+)(?:\[([a-z,]+)\])?$")
_GROUP_REF = re.compile(r"\{([a-z_]+)\}")
# Leading boundary: start, or a character that is not an ASCII letter or digit (RE2 has no lookbehind; the
# folded text spells Latin words in ASCII, and ASCII classes keep the set small and quick to build). Both
# boundaries are then confirmed in Python with Unicode rules; the trailing one only there, so adjacent
# matches ("fuck fuck") are all found.
_LEAD = r"(?:^|[^a-z0-9])"
_TRAIL = r"(?:[^a-z0-9]|$)"


def _letter(ch: str, inner: bool, stretch: bool) -> str:
    chars = _LEET.get(ch, ch) + (_MASK if inner else "")
    cls = (
        re.escape(chars)
        if len(chars) == 1
        else "[" + "".join("\\" + c if not c.isalnum() else c for c in chars) + "]"
    )
    return cls + ("+" if stretch else "")


def word_regex(word: str, suffixes: Sequence[str] = ()) -> str:
    """RE2 for a lexicon word with its obfuscated spellings (no boundaries)."""
    n = len(word)
    masked = n >= 4  # masking and spacing short words ("a*s", "a s s") would hit code and initials
    compact = "".join(_letter(c, masked and 0 < i < n - 1, True) for i, c in enumerate(word))
    if suffixes:
        # Longest first: RE2 picks the first alternative that matches, and the boundary check comes after.
        compact += "(?:" + "|".join(sorted(suffixes, key=len, reverse=True)) + ")?"
    if not masked:
        return compact
    spaced = _SEPARATOR.join(_letter(c, False, False) for c in word)
    return f"(?:{compact}|{spaced})"


def phrase_regex(phrase: str, groups: Mapping[str, str]) -> str:
    """RE2 for a lexicon phrase: ``{name}`` expands a group, a space matches any whitespace run."""
    expanded = _GROUP_REF.sub(lambda m: groups[m.group(1)], phrase)
    return expanded.replace(" ", r"\s+")


@dataclass(frozen=True, slots=True)
class Entry:
    category: str  # a Category, or "allow"
    severity: float
    term: str
    regex: str


@dataclass(frozen=True, slots=True)
class Lexicon:
    entries: tuple[Entry, ...]


def _parse(lines: Sequence[str], source: str) -> Lexicon:
    groups: dict[str, str] = {}
    entries: list[Entry] = []
    for lineno, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("@"):
            name, _, value = line[1:].partition(" ")
            groups[name] = value.strip()
            continue
        parts = line.split(None, 2)
        if len(parts) != 3:
            raise ValueError(f"{source}:{lineno}: expected CATEGORY SEVERITY TERM")
        category, severity, term = parts
        if category not in CATEGORIES and category != "allow":
            raise ValueError(f"{source}:{lineno}: unknown category {category!r}")
        entries.append(
            Entry(category, 0.0 if severity == "-" else float(severity), term, _term_regex(term, groups))
        )
    return Lexicon(tuple(entries))


def _term_regex(term: str, groups: Mapping[str, str]) -> str:
    m = _WORD_TERM.match(term)
    if m:
        return word_regex(m.group(1), m.group(2).split(",") if m.group(2) else ())
    return phrase_regex(term, groups)


@cache
def load_lexicon() -> Lexicon:
    """The built-in lexicon (parsed once per process)."""
    text = resources.files("otelguard.guardrails.validators").joinpath("data/toxicity.txt").read_text("utf-8")
    return _parse(text.splitlines(), "toxicity.txt")


# -- validator ---------------------------------------------------------------------------------------------
_Phrase = Annotated[str, StringConstraints(min_length=1, max_length=200)]
_Word = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2,40}$")]


class ExtraTerm(ValidatorParams):
    term: _Word = Field(description="A word (letters only); matched with the same obfuscation handling.")
    category: Category = "profanity"
    severity: float = Field(0.6, ge=0, le=1)


class ToxicityParams(ValidatorParams):
    categories: list[Category] = Field(
        default_factory=lambda: list(CATEGORIES), min_length=1, description="Categories to detect."
    )
    weights: dict[Category, Annotated[float, Field(ge=0, le=10)]] = Field(
        default_factory=dict, description="Per-category multipliers of the severities (default 1)."
    )
    min_severity: float = Field(0.0, ge=0, le=1, description="Ignore entries less severe than this.")
    allow: list[_Phrase] = Field(
        default_factory=list, max_length=1000, description="Extra benign phrases that cancel findings."
    )
    extra_terms: list[ExtraTerm] = Field(default_factory=list, max_length=1000, description="Extra words.")
    directed_boost: float = Field(
        1.5, ge=1, le=3, description="Multiplier for insults and profanity aimed at 'you'."
    )
    density_words: int = Field(
        10, ge=1, le=10000, description="Findings' scores are summed per this many words of text."
    )


class ProfanityParams(ToxicityParams):
    categories: list[Category] = Field(
        default_factory=lambda: list(_PROFANITY_DEFAULT), min_length=1, description="Categories to detect."
    )


_YOU_BEFORE = re.compile(r"(?:^|[^\w'])(?:you|u|ur|ya|you're|youre|your)[\w\s']{0,16}$")
_YOU_AFTER = re.compile(r"\s+(?:you|u|ya|off)\b")


@dataclass(frozen=True, slots=True)
class _Rule:
    entity: str
    category: str
    weight: float
    source: str
    regex: Regex


@register
class Toxicity(Validator):
    name = "toxicity"
    aliases = ("toxic", "toxic_language")
    Params: ClassVar[type[ValidatorParams]] = ToxicityParams
    description = (
        "Profanity, insults, threats, hate and sexual language (normalised, obfuscation-aware lexicon)."
    )

    def __init__(self, params: ToxicityParams) -> None:
        super().__init__(params)
        enabled = set(params.categories)
        lexicon = load_lexicon().entries
        extra = [
            Entry(e.category, e.severity, e.term, word_regex(e.term.lower())) for e in params.extra_terms
        ]
        allow = [Entry("allow", 0.0, a, _literal_phrase(a)) for a in params.allow]
        for i, entry in enumerate(allow):
            if not entry.regex:
                raise ValueError(f"params.allow[{i}]: the phrase has no visible characters")
        rules: list[_Rule] = []
        allows: list[str] = []
        for entry in (*lexicon, *extra, *allow):
            if entry.category == "allow":
                allows.append(entry.regex)
                continue
            weight = min(1.0, entry.severity * params.weights.get(entry.category, 1.0))  # type: ignore[call-overload]
            if entry.category in enabled and weight > 0 and weight >= params.min_severity:
                rule = _Rule(entry.category.upper(), entry.category, weight, entry.regex, _find(entry.regex))
                rules.append(rule)
        self._rules = tuple(rules)
        self._allows = tuple(_find(a) for a in allows)
        # One set over everything: index i < len(rules) is a rule, the rest are allowlist phrases.
        self._set = PatternSet(
            [f"{_LEAD}(?:{r.source}){_TRAIL}" for r in rules] + [f"{_LEAD}(?:{a}){_TRAIL}" for a in allows]
        )
        self._boost = params.directed_boost
        self._density_words = params.density_words

    def check(
        self, text: ScanText, context: CheckContext, hits: Collection[int] | None = None
    ) -> list[Finding]:
        norm, index = normalize(text.text)
        scan = ScanText(norm)
        matched = self._set.match(scan)
        if not matched:
            return []
        n_rules = len(self._rules)
        allowed = [
            span for i in matched if i >= n_rules for span in _spans(self._allows[i - n_rules], scan, norm)
        ]
        found: list[Finding] = []
        for i in sorted(i for i in matched if i < n_rules):
            rule = self._rules[i]
            for start, end in _spans(rule.regex, scan, norm):
                if any(start < e and s < end for s, e in allowed):
                    continue
                matched_text = norm[start:end]
                if not _plausible(matched_text):
                    continue
                score = rule.weight
                if rule.category in _DIRECTED and _directed(norm, start, end):
                    score = min(1.0, score * self._boost)
                o_start, o_end = (start, end) if index is None else (index[start], index[end])
                original = text.text[o_start:o_end]
                found.append(
                    Finding(self.name, rule.entity, o_start, o_end, score, _mask(original), rule.category)
                )
        if not found:
            return []
        found = _drop_nested(found)
        words = max(len(norm.split()), 1)
        total = sum(f.score for f in found)
        density = total * self._density_words / max(words, self._density_words)
        score = min(1.0, max(*(f.score for f in found), density))
        cats = sorted({f.detail or "" for f in found})
        detail = f"{len(found)} term(s) in {words} words ({', '.join(cats)}); weighted density {density:.2f}"
        found.append(Finding(self.name, "TOXICITY", None, None, score, "", detail))
        return found


@cache
def _find(regex: str) -> Regex:
    """A regex whose group 1 is the term, after a consumed leading boundary (shared between policies)."""
    return Regex(f"{_LEAD}({regex})")


def _literal_phrase(phrase: str) -> str:
    """A user's allowlist phrase as RE2: normalised like the text, literal, any whitespace between words."""
    return r"\s+".join(re.escape(w) for w in normalize(phrase)[0].split())


def _spans(rx: Regex, scan: ScanText, norm: str) -> list[tuple[int, int]]:
    """Group-1 spans of ``rx`` that end on a word boundary."""
    out = []
    n = len(norm)
    for start, end in rx.finditer(scan, 1):
        if (end < n and norm[end].isalnum()) or (start > 0 and norm[start - 1].isalnum()):
            continue
        out.append((start, end))
    return out


def _drop_nested(found: list[Finding]) -> list[Finding]:
    """Drop a finding inside a longer one that scores at least as much ("nudes" in "send nudes")."""
    found.sort(key=lambda f: (f.start or 0, -(f.end or 0)))
    kept: list[Finding] = []
    cover: Finding | None = None
    for f in found:
        start, end = f.start or 0, f.end or 0
        inside = cover is not None and end <= (cover.end or 0) and cover.score >= f.score
        if inside and cover is not None and (cover.end or 0) - (cover.start or 0) > end - start:
            continue
        kept.append(f)
        if cover is None or end > (cover.end or 0):
            cover = f
    return kept


def _plausible(matched: str) -> bool:
    """Leetspeak may replace letters, but a match of mostly digits is a number ("455"), not a word."""
    letters = sum(c.isalpha() for c in matched)
    digits = sum(c.isdigit() for c in matched)
    return letters > 0 and digits <= letters


def _directed(norm: str, start: int, end: int) -> bool:
    return bool(_YOU_BEFORE.search(norm, max(0, start - 24), start) or _YOU_AFTER.match(norm, end))


def _mask(value: str) -> str:
    """What events show of a term: its first character and its length."""
    head = value[:1]
    return head + "*" * (len(value) - 1) if len(value) <= 24 else f"{head}… ({len(value)} chars)"


@register
class Profanity(Toxicity):
    name = "profanity"
    aliases = ("profanities", "swear_words")
    Params = ProfanityParams
    description = "Profanity and sexual vulgarity (the toxicity lexicon's profanity and sexual categories)."
