"""Embedding validators: ``topic`` (allow/deny by similarity to topic descriptions), ``relevance`` (output vs
the prompt) and ``grounding`` (each output sentence vs the supplied context).

Similarities are cosines of all-MiniLM-L6-v2 embeddings. The defaults come from measurements on realistic
sentences (tests/unit/guardrails/test_embedding_validators.py): an on-topic question scores ~0.35-0.6
against a one-sentence topic description and an unrelated one below ~0.2; a relevant answer scores ~0.5-0.8
against its prompt and an unrelated one ~0.0-0.1; a sentence paraphrasing the context ~0.55-0.9, an invented
one < 0.4.

Topic embeddings are computed once, when the policy compiles (which loads the model, so a missing model is a
compile error, not a failed check). Findings that decide a violation score 1.0; ``grounding`` adds a summary
finding scored with the fraction of *ungrounded* sentences, which is its score: the rule's threshold is the
tolerated ungrounded fraction (higher scores are worse everywhere in the engine).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from typing import Annotated, Any

import numpy as np
from pydantic import Field, StringConstraints, field_validator, model_validator

from otelguard.guardrails.base import CheckContext, Finding, Stage
from otelguard.guardrails.embedding.model import F32, ModelUnavailable, cosine, get_model
from otelguard.guardrails.patterns import ScanText
from otelguard.guardrails.registry import ParamsError, Validator, ValidatorParams, register

__all__ = ["Grounding", "Relevance", "Topic", "split_sentences"]

_OUTPUT: frozenset[Stage] = frozenset({"output"})
_WORD = re.compile(r"\w+")
# A sentence ends at . ! ? (plus closing quotes/brackets) followed by whitespace, or at a line break.
_BOUNDARY = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)\]]*\s+|\s*\n\s*")
_Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]


def split_sentences(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` offsets of the sentences of ``text``, whitespace trimmed, empty ones dropped."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _BOUNDARY.finditer(text):
        _add_span(text, start, m.start(), spans)
        start = m.end()
    _add_span(text, start, len(text), spans)
    return spans


def _add_span(text: str, start: int, end: int, out: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        out.append((start, end))


def _judgeable(text: str) -> bool:
    return _WORD.search(text) is not None


def _embed(texts: Sequence[str]) -> F32:
    return get_model().embed(texts)


def _load_model(owner: str) -> None:
    try:
        get_model()
    except ModelUnavailable as exc:
        raise ParamsError(owner, [str(exc)], "ModelUnavailable") from None


# -- topic -------------------------------------------------------------------------------------------------
class TopicSpec(ValidatorParams):
    name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    descriptions: list[_Text] = Field(
        min_length=1, max_length=16, description="Sentences describing the topic; the closest one counts."
    )


def _as_topic(value: Any) -> Any:
    return {"name": value[:64], "descriptions": [value]} if isinstance(value, str) else value


TopicRef = Annotated[TopicSpec, Field(description="A description, or {name, descriptions}.")]


class TopicParams(ValidatorParams):
    allowed: list[TopicRef] = Field(
        default_factory=list, max_length=32, description="The text must be about one of these."
    )
    denied: list[TopicRef] = Field(
        default_factory=list, max_length=32, description="The text must not be about any of these."
    )
    threshold: float = Field(
        0.3, ge=0, le=1, description="Cosine similarity at or above which a text is about a topic."
    )

    @field_validator("allowed", "denied", mode="before")
    @classmethod
    def _strings(cls, value: Any) -> Any:
        return [_as_topic(v) for v in value] if isinstance(value, list) else value

    @model_validator(mode="after")
    def _some(self) -> TopicParams:
        if not self.allowed and not self.denied:
            raise ValueError("give allowed and/or denied topics")
        return self


class _TopicSet:
    """Topics' description embeddings, and which topic each row belongs to."""

    def __init__(self, topics: Sequence[TopicSpec]) -> None:
        self.names = [t.name for t in topics]
        texts = [d for t in topics for d in t.descriptions]
        self.owner = np.array([i for i, t in enumerate(topics) for _ in t.descriptions], dtype=np.intp)
        self.vectors = _embed(texts) if texts else np.zeros((0, 384), np.float32)

    def similarities(self, vector: F32) -> F32:
        """Per topic: the max similarity of ``vector`` to its descriptions."""
        per_row = cosine(vector[None, :], self.vectors)[0]
        out = np.full(len(self.names), -1.0, dtype=np.float32)
        np.maximum.at(out, self.owner, per_row)
        return out


@register
class Topic(Validator):
    name = "topic"
    aliases = ("topics", "ban_topics")
    Params = TopicParams
    description = "The text is about an allowed topic and none of the denied ones (embedding similarity)."
    preemptible = True

    def __init__(self, params: TopicParams) -> None:
        super().__init__(params)
        _load_model(self.name)
        self._allowed = _TopicSet(params.allowed)
        self._denied = _TopicSet(params.denied)
        self._threshold = params.threshold

    def check(
        self, text: ScanText, context: CheckContext, hits: Collection[int] | None = None
    ) -> list[Finding]:
        if not _judgeable(text.text):
            return []
        vector = _embed([text.text])[0]
        out: list[Finding] = []
        thr = self._threshold
        if self._denied.names:
            for name, sim in zip(self._denied.names, self._denied.similarities(vector), strict=True):
                if sim >= thr:
                    detail = f"about denied topic {name!r} (similarity {sim:.2f} >= {thr:.2f})"
                    out.append(Finding(self.name, "DENIED_TOPIC", None, None, 1.0, name, detail))
        if self._allowed.names:
            sims = self._allowed.similarities(vector)
            best = int(np.argmax(sims))
            if sims[best] < thr:
                closest = self._allowed.names[best]
                detail = (
                    f"not about an allowed topic (closest {closest!r}, "
                    f"similarity {sims[best]:.2f} < {thr:.2f})"
                )
                out.append(Finding(self.name, "OFF_TOPIC", None, None, 1.0, "", detail))
        return out


# -- relevance ---------------------------------------------------------------------------------------------
class RelevanceParams(ValidatorParams):
    threshold: float = Field(
        0.2, ge=0, le=1, description="Output/prompt similarity below which the output is irrelevant."
    )


@register
class Relevance(Validator):
    name = "relevance"
    Params = RelevanceParams
    stages = _OUTPUT
    description = "The output is about what the prompt asked (embedding similarity to the input)."
    preemptible = True

    def __init__(self, params: RelevanceParams) -> None:
        super().__init__(params)
        _load_model(self.name)
        self._threshold = params.threshold

    def check(
        self, text: ScanText, context: CheckContext, hits: Collection[int] | None = None
    ) -> list[Finding]:
        prompt = context.input_text
        if not prompt or not _judgeable(prompt) or not _judgeable(text.text):
            return []  # nothing to compare with
        vectors = _embed([prompt, text.text])
        sim = float(vectors[0] @ vectors[1])
        if sim >= self._threshold:
            return []
        detail = f"output not relevant to the input (similarity {sim:.2f} < {self._threshold:.2f})"
        return [Finding(self.name, "IRRELEVANT", None, None, 1.0, "", detail)]


# -- grounding ---------------------------------------------------------------------------------------------
class GroundingParams(ValidatorParams):
    threshold: float = Field(
        0.45, ge=0, le=1, description="A sentence is grounded when its best context similarity is >= this."
    )
    min_words: int = Field(
        4, ge=1, le=50, description="Shorter sentences (greetings, 'Sure!') are not judged."
    )
    window: int = Field(
        3, ge=1, le=8, description="Context passages: single sentences and runs of this many."
    )
    max_sentences: int = Field(64, ge=1, le=512, description="Output sentences judged at most (the first).")
    max_chunks: int = Field(128, ge=1, le=1024, description="Context passages compared at most (the first).")


def _context_chunks(context: str, window: int, limit: int) -> list[str]:
    sentences = [context[s:e] for s, e in split_sentences(context)]
    chunks = list(sentences)
    if window > 1 and len(sentences) > 1:
        step = max(1, window - 1)
        for i in range(0, len(sentences) - 1, step):
            chunks.append(" ".join(sentences[i : i + window]))
    return chunks[:limit]


@register
class Grounding(Validator):
    name = "grounding"
    aliases = ("factual_consistency", "hallucination")
    Params = GroundingParams
    stages = _OUTPUT
    description = "Each output sentence is supported by the supplied context (per-sentence similarity)."
    preemptible = True

    def __init__(self, params: GroundingParams) -> None:
        super().__init__(params)
        _load_model(self.name)

    def check(
        self, text: ScanText, context: CheckContext, hits: Collection[int] | None = None
    ) -> list[Finding]:
        p: GroundingParams = self.params  # type: ignore[assignment]
        supplied = context.context
        if not supplied or not _judgeable(supplied):
            return []  # no context supplied: nothing to ground against
        s = text.text
        spans = [(a, b) for a, b in split_sentences(s) if len(_WORD.findall(s[a:b])) >= p.min_words][
            : p.max_sentences
        ]
        if not spans:
            return []
        chunks = _context_chunks(supplied, p.window, p.max_chunks)
        vectors = _embed([s[a:b] for a, b in spans] + chunks)
        best = cosine(vectors[: len(spans)], vectors[len(spans) :]).max(axis=1)
        out = [
            Finding(
                self.name,
                "UNGROUNDED_SENTENCE",
                a,
                b,
                1.0,
                detail=f"best context similarity {sim:.2f} < {p.threshold:.2f}",
            )
            for (a, b), sim in zip(spans, best, strict=True)
            if sim < p.threshold
        ]
        if out:
            grounded = 1.0 - len(out) / len(spans)
            detail = (
                f"{len(out)} of {len(spans)} sentences not supported by the context (grounded {grounded:.2f})"
            )
            out.append(Finding(self.name, "UNGROUNDED", None, None, 1.0 - grounded, "", detail))
        return out

    def score(self, findings: list[Finding]) -> float:
        """The fraction of judged sentences that are not grounded."""
        summary = [f.score for f in findings if f.entity == "UNGROUNDED"]
        return summary[0] if summary else super().score(findings)
