"""Built-in validator families; importing this package registers them."""

from __future__ import annotations

from otelguard.guardrails.embedding import validators as embedding
from otelguard.guardrails.validators import injection, output, pii, secrets, text

__all__ = ["embedding", "injection", "output", "pii", "secrets", "text"]
