"""Token usage and client-sent cost, brought to one meaning whatever the provider or convention.

Canonical usage (what ``SpanRecord.usage`` holds and ``PriceTable.cost`` expects):

* ``input`` counts **all** input tokens; ``cache_read`` and ``cache_write`` are parts of it.
* ``output`` counts **all** output tokens; ``reasoning`` is a part of it.
* ``total`` is ``input + output`` unless the client sent one.

This is the OTel GenAI rule ("``gen_ai.usage.input_tokens`` SHOULD include all types of input tokens,
including cached tokens") and how each provider's API reports, or doesn't:

=============  ================================================  ======================================
provider       raw API                                           what arrives in spans
=============  ================================================  ======================================
OpenAI, Azure  ``prompt_tokens`` includes ``cached_tokens``;     already canonical
               ``completion_tokens`` includes reasoning
Anthropic      ``input_tokens`` **excludes** cache reads and     OpenLLMetry, OpenInference and OTel
(also Bedrock, writes (they are additional)                      instrumentations add them in (input =
Vertex)                                                          sum); some frameworks (e.g. Strands)
                                                                 pass the raw, additive numbers
Gemini         ``prompt_token_count`` includes cached content;   varies by instrumentation
               ``candidates_token_count`` **excludes** thoughts
DeepSeek       cache hits are part of ``prompt_tokens``;         already canonical
               reasoning is part of ``completion_tokens``
=============  ================================================  ======================================

So the rule is applied per span, not by provider name (an Anthropic span may arrive either way):
cache tokens are treated as additional, and added to ``input``, when the numbers prove it, i.e. when
``input < cache_read + cache_write`` or the client's ``total`` equals ``input + output + cache``;
likewise reasoning is added to ``output`` when ``output < reasoning`` or ``total`` equals
``input + output + reasoning``. Otherwise the OTel rule (already included) holds. Never both, so
nothing is counted twice.
"""

from __future__ import annotations


def build_usage(
    *,
    input_tokens: int | None,
    output_tokens: int | None,
    total_tokens: int | None,
    cache_read: int | None,
    cache_write: int | None,
    reasoning: int | None,
) -> dict[str, int]:
    """Canonical usage map with only the keys the span reported (plus a computed total)."""
    usage: dict[str, int] = {}
    cache = (cache_read or 0) + (cache_write or 0)
    think = reasoning or 0
    cache_additional = think_additional = False
    if total_tokens is not None and input_tokens is not None and output_tokens is not None:
        extra = total_tokens - input_tokens - output_tokens
        if extra > 0:
            if cache and think and extra == cache + think:
                cache_additional = think_additional = True
            elif cache and extra == cache:
                cache_additional = True
            elif think and extra == think:
                think_additional = True
    if input_tokens is not None and (cache_additional or cache > input_tokens):
        input_tokens += cache
    if output_tokens is not None and (think_additional or think > output_tokens):
        output_tokens += think

    if input_tokens is not None:
        usage["input"] = input_tokens
    if output_tokens is not None:
        usage["output"] = output_tokens
    if total_tokens is not None:
        usage["total"] = total_tokens
    elif input_tokens is not None or output_tokens is not None:
        usage["total"] = (input_tokens or 0) + (output_tokens or 0)
    if cache_read is not None:
        usage["cache_read"] = cache_read
    if cache_write is not None:
        usage["cache_write"] = cache_write
    if reasoning is not None:
        usage["reasoning"] = reasoning
    return usage


def client_cost(
    *,
    total: float | None,
    input_cost: float | None,
    output_cost: float | None,
    cache_read: float | None,
    cache_write: float | None,
    reasoning: float | None,
) -> dict[str, float] | None:
    """The cost the application sent (USD), or None when it sent none.

    Same meaning as the price table's cost map: ``input`` / ``output`` include their cache and
    reasoning parts (OpenInference's ``llm.cost.prompt`` is defined that way), ``total`` is sent or
    ``input + output``.
    """
    cost: dict[str, float] = {}
    if input_cost is not None:
        cost["input"] = input_cost
    if output_cost is not None:
        cost["output"] = output_cost
    if cache_read is not None:
        cost["cache_read"] = cache_read
    if cache_write is not None:
        cost["cache_write"] = cache_write
    if reasoning is not None:
        cost["reasoning"] = reasoning
    if total is None:
        if not cost:
            return None
        if input_cost is not None or output_cost is not None:
            total = (input_cost or 0.0) + (output_cost or 0.0)
        else:
            total = sum(cost.values())
    cost["total"] = total
    return cost
