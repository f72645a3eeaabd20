"""Text validators: user regexes (RE2), keyword and competitor lists, length limits, invisible text.

User patterns compile with RE2: matching is linear in the text whatever the pattern (``(a+)+$`` is
harmless), and constructs RE2 cannot run in linear time (backreferences, lookaround) are refused at policy
compile time. Keywords match on word boundaries, case-insensitively, after Unicode NFKC normalisation of
both the keyword and the text (full-width letters match their ASCII forms). Token limits count real BPE tokens
with tiktoken, offline (``_tokens``: o200k_base by default, cl100k_base, or ``auto`` from the request's
model); when an encoding cannot load they fall back to an estimate and the finding says so.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from otelguard.guardrails.base import CheckContext, Finding, redact_preview
from otelguard.guardrails.patterns import PatternError, Regex, ScanText
from otelguard.guardrails.registry import Validator, ValidatorParams, register
from otelguard.guardrails.validators._detect import Detector, Pattern
from otelguard.guardrails.validators._tokens import TokenCounter, encoding_for_model, token_counter

__all__ = ["Competitors", "InvisibleText", "Keywords", "Length", "RegexValidator", "TokenLimit", "normalize"]


# -- regex -------------------------------------------------------------------------------------------------
class RegexParams(ValidatorParams):
    pattern: str | None = Field(None, description="One RE2 pattern.")
    patterns: list[str] = Field(default_factory=list, max_length=256, description="Several RE2 patterns.")
    entity: str = Field(
        "REGEX", max_length=64, description="Entity name of the findings (sanitize placeholder)."
    )
    case_insensitive: bool = Field(False, description="Match case-insensitively.")
    mode: Literal["deny", "require"] = Field(
        "deny", description="deny: a match is a finding; require: no match is a finding."
    )

    @model_validator(mode="after")
    def _some_pattern(self) -> RegexParams:
        if self.pattern is None and not self.patterns:
            raise ValueError("the regex validator needs params.pattern or params.patterns")
        return self

    def all_patterns(self) -> list[tuple[str, str]]:
        out = [("params.pattern", self.pattern)] if self.pattern is not None else []
        return out + [(f"params.patterns[{i}]", p) for i, p in enumerate(self.patterns)]


@register
class RegexValidator(Validator):
    name = "regex"
    Params = RegexParams
    description = "User-supplied RE2 patterns (linear-time matching)."

    def __init__(self, params: RegexParams) -> None:
        super().__init__(params)
        flag = "(?i)" if params.case_insensitive else ""
        rules = []
        for path, pattern in params.all_patterns():
            try:
                rx = Regex(flag + pattern)
            except PatternError as exc:
                raise PatternError(f"{path}: {exc}") from None
            if rx.matches_empty():
                raise PatternError(f"{path}: pattern {pattern!r} matches the empty string")
            rules.append(Pattern(params.entity, flag + pattern, 1.0))
        self._detector = Detector(self.name, rules)
        self._require = params.mode == "require"
        # A 'require' check must run on every text, so it takes no part in the pattern-set prefilter.
        self.patterns = () if self._require else self._detector.sources

    def check(
        self, text: ScanText, context: CheckContext, hits: Collection[int] | None = None
    ) -> list[Finding]:
        if not self._require:
            return self._detector.run(text, hits)
        if any(rx.search(text) for rx in self._detector.regexes):
            return []
        entity: str = self.params.entity  # type: ignore[attr-defined]
        return [Finding(self.name, entity, None, None, 1.0, detail="no required pattern matched")]


# -- keywords / competitors -------------------------------------------------------------------------------
def normalize(text: str) -> tuple[str, list[int] | None]:
    """NFKC + casefold, per character, with a map from normalised to original offsets (None: identity)."""
    if text.isascii():
        return text.lower(), None
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text):
        norm = unicodedata.normalize("NFKC", ch).casefold() if not ch.isascii() else ch.lower()
        out.append(norm)
        index.extend([i] * len(norm))
    index.append(len(text))
    return "".join(out), index


class KeywordsParams(ValidatorParams):
    keywords: list[str] = Field(min_length=1, max_length=10000, description="Words or phrases to find.")
    entity: str = Field("KEYWORD", max_length=64, description="Entity name of the findings.")


class CompetitorsParams(ValidatorParams):
    competitors: list[str] = Field(min_length=1, max_length=10000, description="Competitor names.")
    entity: str = Field("COMPETITOR", max_length=64, description="Entity name of the findings.")


class _KeywordBase(Validator):
    def _setup(self, words: list[str], entity: str) -> None:
        normalized = sorted({normalize(w.strip())[0] for w in words if w.strip()}, key=len, reverse=True)
        if not normalized:
            raise ValueError("params: at least one non-blank keyword is needed")
        # Python re (not RE2) for its Unicode word boundaries; the alternation is of escaped literals only.
        self._re = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in normalized) + r")(?!\w)")
        self._entity = entity

    def check(
        self, text: ScanText, context: CheckContext, hits: Collection[int] | None = None
    ) -> list[Finding]:
        norm, index = normalize(text.text)
        out = []
        for m in self._re.finditer(norm):
            start, end = (m.start(), m.end()) if index is None else (index[m.start()], index[m.end()])
            preview = text.text[start:end]
            out.append(
                Finding(
                    self.name,
                    self._entity,
                    start,
                    end,
                    1.0,
                    preview if len(preview) < 64 else redact_preview(preview),
                )
            )
        return out


@register
class Keywords(_KeywordBase):
    name = "keywords"
    aliases = ("keyword", "banned-words", "banned_words")
    Params = KeywordsParams
    description = "Word-boundary, case-insensitive, NFKC-normalised keyword list."

    def __init__(self, params: KeywordsParams) -> None:
        super().__init__(params)
        self._setup(params.keywords, params.entity)


@register
class Competitors(_KeywordBase):
    name = "competitors"
    aliases = ("competitor",)
    Params = CompetitorsParams
    description = "Mentions of competitor names (like keywords)."

    def __init__(self, params: CompetitorsParams) -> None:
        super().__init__(params)
        self._setup(params.competitors, params.entity)


# -- length ------------------------------------------------------------------------------------------------
_ENCODING_DOC = (
    "Tokenizer: o200k_base (gpt-4o, gpt-4.1, gpt-5, o-series), cl100k_base (gpt-4, gpt-3.5), "
    "or auto (from the request's model; o200k_base when unknown)."
)
EncodingParam = Literal["o200k_base", "cl100k_base", "auto"]


class LengthParams(ValidatorParams):
    min_chars: int | None = Field(None, ge=0)
    max_chars: int | None = Field(None, ge=0)
    min_words: int | None = Field(None, ge=0)
    max_words: int | None = Field(None, ge=0)
    max_tokens: int | None = Field(None, ge=0, description="Most BPE tokens (see encoding).")
    encoding: EncodingParam = Field("o200k_base", description=_ENCODING_DOC)

    @model_validator(mode="after")
    def _some_limit(self) -> LengthParams:
        if all(
            v is None
            for v in (self.min_chars, self.max_chars, self.min_words, self.max_words, self.max_tokens)
        ):
            raise ValueError("set at least one of minChars, maxChars, minWords, maxWords, maxTokens")
        return self


class TokenLimitParams(ValidatorParams):
    max_tokens: int = Field(ge=1, description="Most BPE tokens (see encoding).")
    encoding: EncodingParam = Field("o200k_base", description=_ENCODING_DOC)


@register
class Length(Validator):
    name = "length"
    Params: ClassVar[type[ValidatorParams]] = LengthParams
    description = "Character, word and token (tiktoken) limits."

    def __init__(self, params: ValidatorParams) -> None:
        super().__init__(params)
        encoding: str = getattr(params, "encoding", "o200k_base")
        self._auto = encoding == "auto"
        self._counter: TokenCounter | None = None
        if getattr(params, "max_tokens", None) is not None:
            # Loaded when the policy compiles, not on the first request (a first load takes ~0.5 s).
            self._counter = token_counter("o200k_base" if self._auto else encoding)
            if self._auto:
                token_counter("cl100k_base")

    def _tokens(self, context: CheckContext) -> TokenCounter:
        if self._auto:
            return token_counter(encoding_for_model(context.request.model))
        assert self._counter is not None  # bound whenever maxTokens is set
        return self._counter

    def check(
        self, text: ScanText, context: CheckContext, hits: Collection[int] | None = None
    ) -> list[Finding]:
        p = self.params
        s = text.text
        out: list[str] = []
        chars = len(s)
        if (lo := getattr(p, "min_chars", None)) is not None and chars < lo:
            out.append(f"{chars} characters < minChars {lo}")
        if (hi := getattr(p, "max_chars", None)) is not None and chars > hi:
            out.append(f"{chars} characters > maxChars {hi}")
        if getattr(p, "min_words", None) is not None or getattr(p, "max_words", None) is not None:
            words = len(s.split())
            if (lo := getattr(p, "min_words", None)) is not None and words < lo:
                out.append(f"{words} words < minWords {lo}")
            if (hi := getattr(p, "max_words", None)) is not None and words > hi:
                out.append(f"{words} words > maxWords {hi}")
        if (hi := getattr(p, "max_tokens", None)) is not None:
            counter = self._tokens(context)
            # Cheap bound first: every token (and the estimate) covers at least one UTF-8 byte.
            if len(text.data) > hi and (tokens := counter.count(s)) > hi:
                if counter.exact:
                    out.append(f"{tokens} tokens ({counter.encoding}) > maxTokens {hi}")
                else:
                    out.append(f"~{tokens} tokens (estimated; {counter.note}) > maxTokens {hi}")
        return [Finding(self.name, "LENGTH", None, None, 1.0, detail=d) for d in out]


@register
class TokenLimit(Length):
    name = "token_limit"
    Params = TokenLimitParams
    description = "Token limit counted with a real tokenizer (tiktoken o200k_base / cl100k_base, offline)."


# -- invisible text ----------------------------------------------------------------------------------------
class InvisibleTextParams(ValidatorParams):
    allow_joiners: bool = Field(
        True, description="Allow U+200C/U+200D (needed by emoji sequences and several scripts)."
    )
    allow_bom: bool = Field(True, description="Allow a byte-order mark at the very start.")


@register
class InvisibleText(Validator):
    name = "invisible_text"
    aliases = ("invisible",)
    Params = InvisibleTextParams
    description = "Zero-width, bidi-control, tag and other invisible format characters."

    def __init__(self, params: InvisibleTextParams) -> None:
        super().__init__(params)
        zero_width = r"\x{200B}\x{2060}-\x{2064}\x{FEFF}\x{180E}\x{00AD}\x{034F}\x{115F}\x{1160}\x{3164}"
        if not params.allow_joiners:
            zero_width += r"\x{200C}\x{200D}"
        self._detector = Detector(
            self.name,
            [
                Pattern("TAG_CHARACTERS", r"[\x{E0000}-\x{E007F}]+", 1.0, replacement=""),
                Pattern(
                    "BIDI_CONTROL",
                    r"[\x{202A}-\x{202E}\x{2066}-\x{2069}\x{200E}\x{200F}]+",
                    1.0,
                    replacement="",
                ),
                Pattern("ZERO_WIDTH", f"[{zero_width}]+", 0.8, replacement=""),
            ],
        )
        self.patterns = self._detector.sources
        self._allow_bom = params.allow_bom

    def check(
        self, text: ScanText, context: CheckContext, hits: Collection[int] | None = None
    ) -> list[Finding]:
        found = self._detector.run(text, hits)
        if self._allow_bom and text.text.startswith("\ufeff"):
            found = [f for f in found if not (f.start == 0 and f.end == 1)]
        return [
            Finding(
                f.validator,
                f.entity,
                f.start,
                f.end,
                f.score,
                " ".join(f"U+{ord(c):04X}" for c in text.text[f.start or 0 : f.end or 0][:8]),
                f.detail,
                f.replacement,
            )
            for f in found
        ]
