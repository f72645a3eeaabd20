"""OTelGuard: Kubernetes-native LLM observability and guardrails."""

__version__ = "0.1.0"
