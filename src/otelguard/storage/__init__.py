"""otelguard.storage."""
