"""otelguard.local."""
