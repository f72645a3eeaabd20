"""Link spans to the prompt version that produced them: ``otelguard.prompt.name``/``.version``.

Approach: a scope plus a span processor, so unchanged instrumentations (OpenAI, LangChain, OpenLLMetry,
OpenInference...) need nothing:

- ``prompt_scope(name, version)`` (what ``Prompt.trace()`` uses) stores the prompt in the OpenTelemetry
  context (a ContextVar underneath: it follows threads' own contexts and asyncio tasks created inside the
  scope) and also sets both attributes on the span that is current when the scope opens, if it records;
- ``PromptSpanProcessor.on_start`` copies them onto every span *started* inside the scope, by whichever
  tracer. It must be registered on the SDK ``TracerProvider``: ``install_prompt_processor()`` does that
  for the global provider (``Prompt.trace()`` calls it, idempotent); pass ``provider=`` for another one.

Spans started outside any scope are untouched; a nested scope wins inside it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

__all__ = [
    "PROMPT_NAME",
    "PROMPT_VERSION",
    "PromptSpanProcessor",
    "current_prompt",
    "install_prompt_processor",
    "prompt_scope",
]

PROMPT_NAME = "otelguard.prompt.name"
PROMPT_VERSION = "otelguard.prompt.version"
_KEY = otel_context.create_key("otelguard.prompt")
_installed: set[int] = set()
_lock = threading.Lock()


def current_prompt(ctx: otel_context.Context | None = None) -> tuple[str, int] | None:
    """(name, version) of the innermost prompt scope, if any."""
    value = otel_context.get_value(_KEY, ctx)
    return value if isinstance(value, tuple) else None


@contextmanager
def prompt_scope(name: str, version: int) -> Iterator[None]:
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes({PROMPT_NAME: name, PROMPT_VERSION: version})
    token = otel_context.attach(otel_context.set_value(_KEY, (name, version)))
    try:
        yield
    finally:
        otel_context.detach(token)


class PromptSpanProcessor(SpanProcessor):
    """Adds the scope's prompt name and version to each span as it starts."""

    def on_start(self, span: Span, parent_context: otel_context.Context | None = None) -> None:
        found = current_prompt(parent_context) if parent_context is not None else None
        found = found or current_prompt()
        if found is not None:
            span.set_attributes({PROMPT_NAME: found[0], PROMPT_VERSION: found[1]})

    def on_end(self, span: ReadableSpan) -> None:
        return None

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def install_prompt_processor(provider: Any = None) -> bool:
    """Register ``PromptSpanProcessor`` once on ``provider`` (default: the global one). False when the
    provider is not the SDK's (the no-op default before the application configures tracing)."""
    target = provider if provider is not None else trace.get_tracer_provider()
    add = getattr(target, "add_span_processor", None)
    if add is None:
        return False
    with _lock:
        if id(target) in _installed:
            return True
        add(PromptSpanProcessor())
        _installed.add(id(target))
    return True
