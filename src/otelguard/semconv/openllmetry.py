"""OpenLLMetry (Traceloop) conventions: span kinds, request types and indexed prompts/completions.

Attribute keys shared with the other conventions (usage, association properties, entity input/output,
prompt registry keys) live in fields.py; this module holds what needs Traceloop-specific interpretation.
"""

from __future__ import annotations

from otelguard.model import SpanKind
from otelguard.semconv.messages import IndexedItems, assemble

# traceloop.span.kind: workflows and tasks are the SDK's orchestration steps (chains in OTelGuard).
SPAN_KINDS: dict[str, str] = {
    "workflow": SpanKind.CHAIN.value,
    "task": SpanKind.CHAIN.value,
    "agent": SpanKind.AGENT.value,
    "tool": SpanKind.TOOL.value,
}

# llm.request.type, set on the LLM call spans the instrumentations create.
REQUEST_TYPES: dict[str, str] = {
    "chat": SpanKind.LLM.value,
    "completion": SpanKind.LLM.value,
    "embedding": SpanKind.EMBEDDING.value,
    "rerank": SpanKind.RETRIEVER.value,
}


def messages(items: IndexedItems) -> list[dict[str, object]]:
    """``gen_ai.prompt.N.*`` / ``gen_ai.completion.N.*`` as ``[{role, content, ...}]``."""
    return assemble(items)
