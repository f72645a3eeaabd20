"""Usage canonicalization: cache and reasoning tokens are never counted twice."""

from __future__ import annotations

import pytest

from otelguard.semconv.usage import build_usage


def usage(**kw: int) -> dict[str, int]:
    args: dict[str, int | None] = {
        k: None
        for k in ("input_tokens", "output_tokens", "total_tokens", "cache_read", "cache_write", "reasoning")
    }
    args.update(kw)
    return build_usage(**args)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        # OpenAI / OTel rule: cached tokens are part of input, reasoning part of output.
        (
            {"input_tokens": 1000, "output_tokens": 300, "cache_read": 800, "reasoning": 200},
            {"input": 1000, "output": 300, "total": 1300, "cache_read": 800, "reasoning": 200},
        ),
        # Raw Anthropic numbers: input < cache proves the cache tokens are additional.
        (
            {"input_tokens": 10, "output_tokens": 50, "cache_read": 5000, "cache_write": 100},
            {"input": 5110, "output": 50, "total": 5160, "cache_read": 5000, "cache_write": 100},
        ),
        # Raw Anthropic numbers with a sent total that includes the cache (e.g. Strands Agents).
        (
            {
                "input_tokens": 4299,
                "output_tokens": 631,
                "total_tokens": 58291,
                "cache_read": 35574,
                "cache_write": 17787,
            },
            {"input": 57660, "output": 631, "total": 58291, "cache_read": 35574, "cache_write": 17787},
        ),
        # Inclusive numbers with a consistent total stay as they are.
        (
            {
                "input_tokens": 5110,
                "output_tokens": 50,
                "total_tokens": 5160,
                "cache_read": 5000,
                "cache_write": 100,
            },
            {"input": 5110, "output": 50, "total": 5160, "cache_read": 5000, "cache_write": 100},
        ),
        # Gemini-style: thoughts outside the candidates count, proven by the total.
        (
            {"input_tokens": 100, "output_tokens": 20, "total_tokens": 180, "reasoning": 60},
            {"input": 100, "output": 80, "total": 180, "reasoning": 60},
        ),
        # ... or by reasoning exceeding output.
        (
            {"input_tokens": 100, "output_tokens": 20, "reasoning": 60},
            {"input": 100, "output": 80, "total": 180, "reasoning": 60},
        ),
        # Both additional at once.
        (
            {
                "input_tokens": 100,
                "output_tokens": 20,
                "total_tokens": 250,
                "cache_read": 70,
                "reasoning": 60,
            },
            {"input": 170, "output": 80, "total": 250, "cache_read": 70, "reasoning": 60},
        ),
        # Zero cache counts (OpenLLMetry always sends them) change nothing.
        (
            {"input_tokens": 100, "output_tokens": 20, "cache_read": 0, "cache_write": 0},
            {"input": 100, "output": 20, "total": 120, "cache_read": 0, "cache_write": 0},
        ),
        ({}, {}),
        ({"cache_read": 5}, {"cache_read": 5}),
    ],
)
def test_build_usage(given: dict[str, int], expected: dict[str, int]) -> None:
    assert usage(**given) == expected
