"""The attribute keys OTelGuard reads, per output field, in precedence order.

``KNOWN`` maps each key to ``(field, rank)`` so the collector's single pass over a span's attributes
does one dict lookup per attribute and keeps, per field, the value with the lowest rank (the first key
listed below wins). Keys are grouped by convention in the comments; the order across conventions is
the precedence: OTelGuard's own attributes, then the OTel GenAI conventions (current before
deprecated), then OpenInference, then OpenLLMetry/Traceloop and Langfuse.
"""

from __future__ import annotations

PROVIDER = 0
REQUEST_MODEL = 1
RESPONSE_MODEL = 2
MODEL_NAME = 3  # a model name that may be either (OpenInference llm.model_name); fills both gaps
OPERATION = 4
OI_KIND = 5
TL_KIND = 6
REQUEST_TYPE = 7
TOOL = 8  # any gen_ai.tool.* attribute: marks a tool execution span
INPUT_TOKENS = 9
OUTPUT_TOKENS = 10
TOTAL_TOKENS = 11
CACHE_READ = 12
CACHE_WRITE = 13
REASONING = 14
COST_TOTAL = 15
COST_INPUT = 16
COST_OUTPUT = 17
COST_CACHE_READ = 18
COST_CACHE_WRITE = 19
COST_REASONING = 20
USER = 21
SESSION = 22
PROMPT_NAME = 23
PROMPT_VERSION = 24
INPUT_MESSAGES = 25  # OTel gen_ai.input.messages (JSON string or structured)
OUTPUT_MESSAGES = 26
SYSTEM_INSTRUCTIONS = 27
INPUT_VALUE = 28  # a plain input payload (text or JSON), used when no chat messages exist
OUTPUT_VALUE = 29
ERROR_TYPE = 30
ERROR_MESSAGE = 31
FIELD_COUNT = 32
TAGS = 32  # not a slot: every tag source is merged, see collect.py

_PRECEDENCE: dict[int, tuple[str, ...]] = {
    PROVIDER: (
        "gen_ai.provider.name",  # OTel current
        "gen_ai.system",  # OTel deprecated; OpenLLMetry
        "llm.provider",  # OpenInference: the hosting provider (azure, aws, ...)
        "llm.system",  # OpenInference: the model family's API (openai, anthropic, ...)
        "traceloop.association.properties.ls_provider",  # OpenLLMetry LangChain
    ),
    REQUEST_MODEL: ("gen_ai.request.model", "llm.request.model_name"),
    RESPONSE_MODEL: ("gen_ai.response.model", "llm.response.model_name"),
    MODEL_NAME: (
        "llm.model_name",
        "embedding.model_name",
        "reranker.model_name",
        "traceloop.association.properties.ls_model_name",
    ),
    OPERATION: ("gen_ai.operation.name",),
    OI_KIND: ("openinference.span.kind",),
    TL_KIND: ("traceloop.span.kind",),
    REQUEST_TYPE: ("llm.request.type",),
    TOOL: ("gen_ai.tool.name", "gen_ai.tool.call.id", "gen_ai.tool.type"),
    INPUT_TOKENS: (
        "gen_ai.usage.input_tokens",
        "gen_ai.usage.prompt_tokens",  # OTel deprecated; OpenLLMetry
        "llm.token_count.prompt",  # OpenInference
        "llm.usage.prompt_tokens",  # early OpenLLMetry
    ),
    OUTPUT_TOKENS: (
        "gen_ai.usage.output_tokens",
        "gen_ai.usage.completion_tokens",
        "llm.token_count.completion",
        "llm.usage.completion_tokens",
    ),
    TOTAL_TOKENS: ("gen_ai.usage.total_tokens", "llm.usage.total_tokens", "llm.token_count.total"),
    CACHE_READ: (
        "gen_ai.usage.cache_read.input_tokens",  # OTel current
        "gen_ai.usage.cache_read_input_tokens",  # OpenLLMetry, older OTel drafts
        "gen_ai.usage.input_tokens.cached",  # Sentry-style alias
        "llm.token_count.prompt_details.cache_read",  # OpenInference
        "llm.usage.cache_read_input_tokens",
        "llm.token_count.prompt_details.cache_input",  # OpenInference, older name
    ),
    CACHE_WRITE: (
        "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.cache_creation_input_tokens",
        "gen_ai.usage.input_tokens.cache_write",
        "gen_ai.usage.cache_write_input_tokens",  # Strands Agents
        "llm.token_count.prompt_details.cache_write",
        "llm.usage.cache_creation_input_tokens",
    ),
    REASONING: (
        "gen_ai.usage.reasoning.output_tokens",  # OTel current
        "gen_ai.usage.reasoning_tokens",  # OpenLLMetry
        "gen_ai.usage.output_tokens.reasoning",  # Sentry-style alias
        "llm.token_count.completion_details.reasoning",  # OpenInference
        "llm.usage.reasoning_tokens",
    ),
    # Cost sent by the client, in USD.
    COST_TOTAL: ("gen_ai.usage.cost", "llm.cost.total", "gen_ai.usage.total_cost", "gen_ai.cost.usd"),
    COST_INPUT: ("gen_ai.usage.input_cost", "llm.cost.prompt"),
    COST_OUTPUT: ("gen_ai.usage.output_cost", "llm.cost.completion"),
    COST_CACHE_READ: ("llm.cost.prompt_details.cache_read",),
    COST_CACHE_WRITE: ("llm.cost.prompt_details.cache_write",),
    COST_REASONING: ("llm.cost.completion_details.reasoning",),
    USER: (
        "otelguard.user.id",
        "user.id",  # OTel general + OpenInference
        "enduser.id",  # OTel general (deprecated for user.id)
        "langfuse.user.id",
        "traceloop.association.properties.user_id",
        "gen_ai.user",  # OpenLLMetry: the OpenAI `user` request parameter
        "llm.user",
    ),
    SESSION: (
        "otelguard.session.id",
        "session.id",
        "gen_ai.conversation.id",
        "langfuse.session.id",
        "traceloop.association.properties.session_id",
        "traceloop.association.properties.thread_id",  # LangGraph's thread is the conversation
    ),
    PROMPT_NAME: (
        "otelguard.prompt.name",
        "langfuse.prompt.name",
        "langfuse.observation.prompt.name",
        "traceloop.prompt.key",
        "gen_ai.prompt.name",
    ),
    PROMPT_VERSION: (
        "otelguard.prompt.version",
        "langfuse.prompt.version",
        "langfuse.observation.prompt.version",
        "traceloop.prompt.version",
        "llm.prompt_template.version",  # OpenInference
    ),
    INPUT_MESSAGES: ("gen_ai.input.messages",),
    OUTPUT_MESSAGES: ("gen_ai.output.messages",),
    SYSTEM_INSTRUCTIONS: ("gen_ai.system_instructions",),
    INPUT_VALUE: (
        "input.value",  # OpenInference
        "traceloop.entity.input",  # OpenLLMetry workflow/task (JSON)
        "gen_ai.prompt",  # OTel deprecated single-string prompt
        "gen_ai.tool.call.arguments",  # OTel tool execution
        "langfuse.observation.input",
    ),
    OUTPUT_VALUE: (
        "output.value",
        "traceloop.entity.output",
        "gen_ai.completion",
        "gen_ai.tool.call.result",
        "langfuse.observation.output",
    ),
    ERROR_TYPE: ("error.type", "exception.type"),
    ERROR_MESSAGE: ("exception.message",),
}

TAG_KEYS: tuple[str, ...] = (
    "otelguard.tags",
    "tag.tags",  # OpenInference
    "langfuse.trace.tags",
    "traceloop.association.properties.tags",
)


def key_of(fld: int, rank: int) -> str:
    """The attribute key that fills field ``fld`` at precedence ``rank``."""
    return _PRECEDENCE[fld][rank]


def _build() -> dict[str, tuple[int, int]]:
    known: dict[str, tuple[int, int]] = {}
    for fld, keys in _PRECEDENCE.items():
        for rank, key in enumerate(keys):
            if key in known:
                raise AssertionError(f"attribute {key!r} is mapped twice")
            known[key] = (fld, rank)
    for key in TAG_KEYS:
        known[key] = (TAGS, 0)
    return known


KNOWN: dict[str, tuple[int, int]] = _build()
NO_RANK = 1 << 30

# Resource attributes: the span's own value wins over the resource's (ranks start above any span rank).
RESOURCE_KNOWN: dict[str, tuple[int, int]] = {
    "otelguard.user.id": (USER, 100),
    "user.id": (USER, 101),
    "enduser.id": (USER, 102),
    "otelguard.session.id": (SESSION, 100),
    "session.id": (SESSION, 101),
}
SERVICE_NAME_KEY = "service.name"

# Indexed message families: "<prefix><N>.<field>" (see messages.py).
GENAI_PROMPT_PREFIX = "gen_ai.prompt."  # OpenLLMetry / deprecated OTel
GENAI_COMPLETION_PREFIX = "gen_ai.completion."
OI_INPUT_PREFIX = "llm.input_messages."  # OpenInference
OI_OUTPUT_PREFIX = "llm.output_messages."
MESSAGE_PREFIXES: tuple[str, ...] = (
    GENAI_PROMPT_PREFIX,
    GENAI_COMPLETION_PREFIX,
    OI_INPUT_PREFIX,
    OI_OUTPUT_PREFIX,
)
