"""otelguard.api.v1alpha1."""
