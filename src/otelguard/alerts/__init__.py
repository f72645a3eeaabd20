"""otelguard.alerts."""
