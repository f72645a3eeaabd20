"""OpenInference conventions (Arize Phoenix): span kinds and indexed chat messages.

Attribute keys (model, token counts, cost, session, tags, input/output values) live in fields.py with
the other conventions; this module holds what needs OpenInference-specific interpretation.
"""

from __future__ import annotations

from otelguard.model import SpanKind
from otelguard.semconv.messages import IndexedItems, assemble

# openinference.span.kind, compared lowercased. OTelGuard has no reranker or prompt kind: a reranker
# reorders retrieved documents (a retrieval step); a prompt span renders a template inside a chain.
SPAN_KINDS: dict[str, str] = {
    "llm": SpanKind.LLM.value,
    "tool": SpanKind.TOOL.value,
    "agent": SpanKind.AGENT.value,
    "chain": SpanKind.CHAIN.value,
    "retriever": SpanKind.RETRIEVER.value,
    "reranker": SpanKind.RETRIEVER.value,
    "embedding": SpanKind.EMBEDDING.value,
    "guardrail": SpanKind.GUARDRAIL.value,
    "evaluator": SpanKind.EVALUATOR.value,
    "prompt": SpanKind.CHAIN.value,
}

# Every field of an llm.input_messages.N / llm.output_messages.N entry starts with "message.".
_MESSAGE_FIELD_PREFIX = "message."


def messages(items: IndexedItems) -> list[dict[str, object]]:
    """``llm.input_messages.N.message.*`` / ``llm.output_messages.N.message.*`` as message objects."""
    return assemble(items, strip=_MESSAGE_FIELD_PREFIX)
