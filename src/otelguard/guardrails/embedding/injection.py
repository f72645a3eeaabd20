"""Prompt-injection / jailbreak classifier: a logistic regression over all-MiniLM-L6-v2 embeddings.

The model reads 256 word pieces, so a text is cut into consecutive 256-piece chunks (at most ``max_chunks``,
the first ones) and its score is the max over chunks: an injection appended to a long benign prompt still
decides. The weights live in ``injection_model.json`` beside this module, written by
``scripts/train_injection_classifier.py`` together with the data provenance and the held-out metrics. The
bias there is shifted so that the operating point (chosen by cross-validation on the training data) is a
probability of 0.5: the policy rule's default threshold (0.5) is the trained one, a higher one trades recall
for precision.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from otelguard.guardrails.base import CheckContext, Finding
from otelguard.guardrails.embedding.model import DIM, F32, EmbeddingModel, ModelUnavailable, get_model
from otelguard.guardrails.patterns import ScanText
from otelguard.guardrails.registry import ParamsError, Validator, ValidatorParams, register

__all__ = [
    "MODEL_FILE",
    "InjectionClassifier",
    "InjectionModel",
    "chunk_spans",
    "evaluate",
    "load_injection_model",
    "score_text",
]

MODEL_FILE = Path(__file__).with_name("injection_model.json")
DEFAULT_MAX_CHUNKS = 16


@dataclass(frozen=True)
class InjectionModel:
    """Logistic-regression weights over a unit-length embedding, plus what the training script recorded."""

    weights: F32
    bias: float
    threshold: float = 0.5
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.weights.shape != (DIM,):
            raise ValueError(f"injection model: expected {DIM} weights, got shape {self.weights.shape}")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> InjectionModel:
        weights = np.asarray(data["weights"], dtype=np.float32)
        meta = {k: v for k, v in data.items() if k not in ("weights", "bias", "threshold")}
        return cls(weights, float(data["bias"]), float(data.get("threshold", 0.5)), meta)

    def probabilities(self, vectors: F32) -> F32:
        """P(injection) per row of ``vectors`` (shape ``(n, 384)``)."""
        logits = vectors @ self.weights + np.float32(self.bias)
        out: F32 = (1.0 / (1.0 + np.exp(-np.clip(logits, -30.0, 30.0)))).astype(np.float32)
        return out


_lock = threading.Lock()
_cached: InjectionModel | None = None


def load_injection_model(path: Path | None = None) -> InjectionModel:
    """The shipped model (cached), or the one at ``path``. ModelUnavailable when missing or malformed."""
    global _cached
    if path is None and _cached is not None:
        return _cached
    target = path or MODEL_FILE
    try:
        model = InjectionModel.from_json(json.loads(target.read_text()))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelUnavailable(f"injection classifier weights unusable at {target}: {exc}") from None
    if path is None:
        with _lock:
            _cached = model
    return model


def chunk_spans(
    text: str, embedder: EmbeddingModel, max_chunks: int = DEFAULT_MAX_CHUNKS
) -> list[tuple[int, int]]:
    """``(start, end)`` offsets of consecutive chunks of ``text`` of at most the model's window (256 word
    pieces with [CLS]/[SEP]); the first ``max_chunks``. Empty for text without any word piece."""
    encoding = embedder.tokenizer.encode(text)
    spans: list[tuple[int, int]] = []
    for enc in [encoding, *encoding.overflowing][:max_chunks]:
        # Special tokens have (0, 0) offsets; the real ones are ordered within a chunk.
        offsets = [o for o, special in zip(enc.offsets, enc.special_tokens_mask, strict=True) if not special]
        if offsets:
            spans.append((offsets[0][0], offsets[-1][1]))
    return spans


def score_text(
    text: str,
    model: InjectionModel | None = None,
    embedder: EmbeddingModel | None = None,
    max_chunks: int = DEFAULT_MAX_CHUNKS,
) -> list[tuple[int, int, float]]:
    """``(start, end, P(injection))`` per chunk of ``text``; the text's score is the max."""
    model = model or load_injection_model()
    embedder = embedder or get_model()
    spans = chunk_spans(text, embedder, max_chunks)
    if not spans:
        return []
    probs = model.probabilities(embedder.embed([text[a:b] for a, b in spans]))
    return [(a, b, float(p)) for (a, b), p in zip(spans, probs, strict=True)]


def evaluate(
    rows: Sequence[Mapping[str, Any]], model: InjectionModel | None = None, threshold: float = 0.5
) -> dict[str, float]:
    """Precision, recall and F1 over labelled ``rows`` (``text``, ``label``; ``security_discussion`` marks the
    benign texts that discuss security, whose flagged fraction is ``security_fp_rate``), scored exactly as the
    validator scores them (max over chunks)."""
    flagged = [
        max((p for _, _, p in score_text(str(r["text"]), model)), default=0.0) >= threshold for r in rows
    ]
    labels = [bool(r["label"]) for r in rows]
    tp = sum(f and lab for f, lab in zip(flagged, labels, strict=True))
    fp = sum(f and not lab for f, lab in zip(flagged, labels, strict=True))
    fn = sum(lab and not f for f, lab in zip(flagged, labels, strict=True))
    precision, recall = tp / max(tp + fp, 1), tp / max(tp + fn, 1)
    security = [
        f for f, r in zip(flagged, rows, strict=True) if r.get("security_discussion") and not r["label"]
    ]
    return {
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / max(precision + recall, 1e-12),
        "security_fp_rate": sum(security) / max(len(security), 1),
        "n": len(rows),
        "n_security_discussion": len(security),
    }


class InjectionClassifierParams(ValidatorParams):
    min_score: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Chunks scoring at least this become findings; lower it together with a rule threshold "
        "below 0.5.",
    )
    max_chunks: int = Field(
        DEFAULT_MAX_CHUNKS,
        ge=1,
        le=256,
        description="Chunks of 256 word pieces judged at most (the first); bounds latency on huge texts.",
    )


@register
class InjectionClassifier(Validator):
    name = "injection_classifier"
    aliases = ("prompt_injection_classifier", "jailbreak_classifier")
    Params = InjectionClassifierParams
    description = "Prompt injection / jailbreak by a classifier on sentence embeddings (max over chunks)."
    preemptible = True

    def __init__(self, params: InjectionClassifierParams) -> None:
        super().__init__(params)
        try:  # load both now: a missing model is a compile error, not a failed check
            self._model = load_injection_model()
            self._embedder = get_model()
        except ModelUnavailable as exc:
            raise ParamsError(self.name, [str(exc)], "ModelUnavailable") from None
        self._min = params.min_score
        self._max_chunks = params.max_chunks

    def check(
        self, text: ScanText, context: CheckContext, hits: Collection[int] | None = None
    ) -> list[Finding]:
        s = text.text
        return [
            Finding(self.name, "PROMPT_INJECTION", a, b, p, detail=f"classifier probability {p:.2f}")
            for a, b, p in score_text(s, self._model, self._embedder, self._max_chunks)
            if p >= self._min
        ]
