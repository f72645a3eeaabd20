"""Provider names, normalized to one lowercase canonical spelling.

Canonical names are the OTel GenAI ``gen_ai.provider.name`` registry values (``openai``, ``anthropic``,
``aws.bedrock``, ``azure.ai.openai``, ``gcp.vertex_ai``, ``gcp.gemini``, ...): new instrumentations emit
them already, so keeping OTel's spelling means no rewrite for current data. Deprecated OTel values
(``az.ai.openai``, ``vertex_ai``, ``gemini``, ``xai``), OpenLLMetry's display names (``Anthropic``,
``Vertex AI``) and OpenInference's ``llm.provider`` values (``azure``, ``google``, ``mistralai``) map
onto them. Providers OTel has no value for keep a snake_case form (``together_ai``, ``fireworks_ai``).
"""

from __future__ import annotations

_ALIASES: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    # Azure OpenAI
    "azure.ai.openai": "azure.ai.openai",
    "az.ai.openai": "azure.ai.openai",
    "azure": "azure.ai.openai",
    "azure_openai": "azure.ai.openai",
    "azureopenai": "azure.ai.openai",
    "azure.openai": "azure.ai.openai",
    "azure.ai.inference": "azure.ai.inference",
    "az.ai.inference": "azure.ai.inference",
    # AWS
    "aws.bedrock": "aws.bedrock",
    "aws": "aws.bedrock",
    "bedrock": "aws.bedrock",
    "aws_bedrock": "aws.bedrock",
    "amazon_bedrock": "aws.bedrock",
    # Google: "gemini" is the AI Studio API, "vertex_ai" the Vertex API, "google" either one.
    "gcp.gemini": "gcp.gemini",
    "gemini": "gcp.gemini",
    "google_genai": "gcp.gemini",
    "google.genai": "gcp.gemini",
    "google_ai_studio": "gcp.gemini",
    "gcp.vertex_ai": "gcp.vertex_ai",
    "vertex_ai": "gcp.vertex_ai",
    "vertexai": "gcp.vertex_ai",
    "vertex": "gcp.vertex_ai",
    "google_vertex_ai": "gcp.vertex_ai",
    "gcp.gen_ai": "gcp.gen_ai",
    "google": "gcp.gen_ai",
    # Others in the OTel registry
    "cohere": "cohere",
    "mistral_ai": "mistral_ai",
    "mistralai": "mistral_ai",
    "mistral": "mistral_ai",
    "groq": "groq",
    "deepseek": "deepseek",
    "perplexity": "perplexity",
    "x_ai": "x_ai",
    "xai": "x_ai",
    "ibm.watsonx.ai": "ibm.watsonx.ai",
    "watsonx": "ibm.watsonx.ai",
    "ibm_watsonx_ai": "ibm.watsonx.ai",
    # Not in the OTel registry
    "together": "together_ai",
    "togetherai": "together_ai",
    "together_ai": "together_ai",
    "fireworks": "fireworks_ai",
    "fireworks_ai": "fireworks_ai",
    "fireworksai": "fireworks_ai",
    "ollama": "ollama",
    "openrouter": "openrouter",
    "huggingface": "huggingface",
    "hugging_face": "huggingface",
    "replicate": "replicate",
}

_MEMO_LIMIT = 1024
_memo: dict[str, str] = {}


def normalize_provider(value: str) -> str:
    """The canonical provider name for a raw ``gen_ai.provider.name`` / ``gen_ai.system`` /
    ``llm.provider`` value; unknown names are lowercased, with spaces and dashes as ``_``."""
    hit = _memo.get(value)
    if hit is not None:
        return hit
    key = value.strip().lower().replace(" ", "_").replace("-", "_")
    canonical = _ALIASES.get(key, key)
    # Bounded: provider values come from clients, so never let them grow memory without limit.
    if len(_memo) >= _MEMO_LIMIT:
        _memo.clear()
    _memo[value] = canonical
    return canonical
