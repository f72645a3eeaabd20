"""otelguard.evals."""
