"""Built-in validator families; importing this package registers them."""

from __future__ import annotations

from otelguard.guardrails.validators import injection, output, pii, secrets, text

__all__ = ["injection", "output", "pii", "secrets", "text"]
