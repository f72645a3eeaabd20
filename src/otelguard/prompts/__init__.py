"""otelguard.prompts."""
