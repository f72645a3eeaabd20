"""The embedding tier: all-MiniLM-L6-v2 sentence embeddings (numpy, CPU, offline) and the validators built on
them (``topic``, ``relevance``, ``grounding``)."""

from __future__ import annotations

from otelguard.guardrails.embedding.model import (
    DIM,
    EmbeddingModel,
    ModelUnavailable,
    cosine,
    embed,
    get_model,
    model_dir,
)

__all__ = ["DIM", "EmbeddingModel", "ModelUnavailable", "cosine", "embed", "get_model", "model_dir"]
