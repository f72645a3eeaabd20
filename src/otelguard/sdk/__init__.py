"""otelguard.sdk."""
