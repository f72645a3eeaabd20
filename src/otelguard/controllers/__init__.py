"""otelguard.controllers."""
