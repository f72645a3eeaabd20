"""otelguard.guardrails."""
