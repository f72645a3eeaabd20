"""otelguard.webui."""
