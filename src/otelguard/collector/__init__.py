"""otelguard.collector."""
