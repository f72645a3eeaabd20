"""Built-in validator families; importing this package registers them."""

from __future__ import annotations

from otelguard.guardrails.embedding import injection as injection_classifier
from otelguard.guardrails.embedding import validators as embedding
from otelguard.guardrails.validators import (
    citations,
    injection,
    language,
    output,
    pii,
    secrets,
    text,
    toxicity,
)

__all__ = [
    "citations",
    "embedding",
    "injection",
    "injection_classifier",
    "language",
    "output",
    "pii",
    "secrets",
    "text",
    "toxicity",
]
