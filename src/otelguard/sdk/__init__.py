"""The OTelGuard Python SDK.

Prompts::

    from otelguard.sdk import OTelGuardClient

    client = OTelGuardClient("http://127.0.0.1:8080", api_key="...")
    prompt = client.get_prompt("support-triage", label="production")  # cached: TTL + stale-while-revalidate
    messages = prompt.compile(customer="Ada", question="Where is my order?")
    with prompt.trace():  # spans started here carry otelguard.prompt.name / otelguard.prompt.version
        openai_client.chat.completions.create(model=prompt.model_config["model"], messages=messages)

Guardrails around an LLM call (local engine in-process, or the guard API with ``client=``)::

    from otelguard.sdk import guard

    @guard("team-a/safety", client=client, labels={"app": "chat"})
    def ask(prompt: str, *, model: str = "gpt-4o") -> str: ...

``prompt.trace()`` needs ``opentelemetry-sdk`` (``otelguard.sdk.tracing``); the client itself does not.
"""

from otelguard.sdk.guard import (
    Guard,
    GuardrailBlocked,
    GuardRequestError,
    GuardUnavailable,
    GuardVerdict,
    guard,
)
from otelguard.sdk.prompts import OTelGuardClient, Prompt, PromptNotFound, PromptUnavailable

__all__ = [
    "Guard",
    "GuardRequestError",
    "GuardUnavailable",
    "GuardVerdict",
    "GuardrailBlocked",
    "OTelGuardClient",
    "Prompt",
    "PromptNotFound",
    "PromptUnavailable",
    "guard",
]
