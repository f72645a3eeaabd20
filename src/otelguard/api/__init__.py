"""Custom resource models (``otelguard.io``)."""
