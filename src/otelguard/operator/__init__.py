"""otelguard.operator."""
