"""The price table: matching, effective dates, overrides, validation and cost rules."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from otelguard.model import SpanRecord
from otelguard.semconv import PriceTable
from otelguard.semconv.prices import model_name_candidates

Norm = Callable[..., SpanRecord]


def ns(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp()) * 10**9


NOW = ns("2025-09-01")


@pytest.mark.parametrize(
    ("model", "provider", "input_price", "output_price"),
    [
        ("gpt-4o", "openai", 2.50, 10.00),
        ("gpt-4o-2024-08-06", "openai", 2.50, 10.00),
        ("gpt-4o-2024-05-13", "openai", 5.00, 15.00),
        ("gpt-4o-mini-2024-07-18", "azure.ai.openai", 0.15, 0.60),
        ("gpt-4.1", "openai", 2.00, 8.00),
        ("gpt-4.1-mini-2025-04-14", "openai", 0.40, 1.60),
        ("gpt-4.1-nano", "openai", 0.10, 0.40),
        ("o1", "openai", 15.00, 60.00),
        ("o3", "openai", 2.00, 8.00),
        ("o3-mini", "openai", 1.10, 4.40),
        ("o4-mini-2025-04-16", "openai", 1.10, 4.40),
        ("gpt-5", "openai", 1.25, 10.00),
        ("gpt-5-mini", "openai", 0.25, 2.00),
        ("gpt-5-nano-2025-08-07", "openai", 0.05, 0.40),
        ("text-embedding-3-small", "openai", 0.02, None),
        ("text-embedding-3-large", "openai", 0.13, None),
        ("openai/gpt-4o", "openrouter", 2.50, 10.00),
        ("claude-3-5-sonnet-20241022", "anthropic", 3.00, 15.00),
        ("claude-3-7-sonnet-latest", "anthropic", 3.00, 15.00),
        ("claude-sonnet-4-20250514", "anthropic", 3.00, 15.00),
        ("claude-sonnet-4-5", "anthropic", 3.00, 15.00),
        ("claude-opus-4-1-20250805", "anthropic", 15.00, 75.00),
        ("claude-3-opus-20240229", "anthropic", 15.00, 75.00),
        ("claude-3-5-haiku-20241022", "anthropic", 0.80, 4.00),
        ("claude-3-haiku-20240307", "anthropic", 0.25, 1.25),
        ("us.anthropic.claude-sonnet-4-20250514-v1:0", "aws.bedrock", 3.00, 15.00),
        ("anthropic.claude-3-5-sonnet-20241022-v2:0", "aws.bedrock", 3.00, 15.00),
        ("claude-3-5-sonnet-v2@20241022", "gcp.vertex_ai", 3.00, 15.00),
        ("Claude-3-5-Sonnet-20241022", "anthropic", 3.00, 15.00),  # case-insensitive
        ("gemini-1.5-pro-002", "gcp.vertex_ai", 1.25, 5.00),
        ("gemini-1.5-flash", "gcp.gemini", 0.075, 0.30),
        ("gemini-2.0-flash-001", "gcp.gemini", 0.10, 0.40),
        ("models/gemini-2.5-pro", "gcp.gemini", 1.25, 10.00),
        ("gemini-2.5-flash", "gcp.gemini", 0.30, 2.50),
        ("gemini-2.5-flash-lite", "gcp.gemini", 0.10, 0.40),
        ("mistral-large-latest", "mistral_ai", 2.00, 6.00),
        ("mistral-small-2503", "mistral_ai", 0.10, 0.30),
        ("codestral-latest", "mistral_ai", 0.30, 0.90),
        ("mistral-embed", "mistral_ai", 0.10, None),
        ("llama-3.3-70b-versatile", "groq", 0.59, 0.79),
        ("meta-llama/Llama-3.3-70B-Instruct-Turbo", "together_ai", 0.88, 0.88),
        ("meta.llama3-3-70b-instruct-v1:0", "aws.bedrock", 0.72, 0.72),
    ],
)
def test_builtin_prices(
    prices: PriceTable, model: str, provider: str, input_price: float, output_price: float | None
) -> None:
    found = prices.prices_at(model, provider, NOW)
    assert found is not None, model
    assert found["input"] == input_price
    assert found.get("output") == output_price


@pytest.mark.parametrize(
    ("model", "provider"),
    [
        ("my-finetune", "openai"),
        ("gpt-4o-mini-tts", "openai"),  # anchored: a known prefix is not enough
        ("llama-3.3-70b-versatile", "together_ai"),  # a groq model name at another host
        ("llama-3.3-70b-versatile", ""),  # provider-specific entries need the provider
        ("", ""),
        ("gpt-4o" + " " * 300, "openai"),  # over-long names are never matched
    ],
)
def test_unknown_models(prices: PriceTable, model: str, provider: str) -> None:
    assert prices.cost(model, provider, {"input": 1}, NOW) is None


@pytest.mark.parametrize(
    ("model", "day", "input_price"),
    [
        ("gpt-4o", "2024-06-01", 5.00),
        ("gpt-4o", "2024-10-01", 5.00),
        ("gpt-4o", "2024-10-02", 2.50),
        ("o3", "2025-05-01", 10.00),
        ("o3", "2025-06-10", 2.00),
        ("gemini-1.5-pro", "2024-09-30", 3.50),
        ("gemini-1.5-pro", "2024-10-01", 1.25),
    ],
)
def test_effective_dates(prices: PriceTable, model: str, day: str, input_price: float) -> None:
    found = prices.prices_at(model, "", ns(day))
    assert found is not None
    assert found["input"] == input_price


def test_before_first_price_and_unknown_time(prices: PriceTable) -> None:
    assert prices.prices_at("gpt-5", "openai", ns("2025-01-01")) is None  # not released yet
    latest = prices.prices_at("o3", "openai", 0)  # unknown start time: the current price
    assert latest is not None
    assert latest["input"] == 2.00


def test_overrides_win_and_respect_their_dates(prices: PriceTable) -> None:
    table = prices.with_overrides(
        [
            {"match": "gpt-4o", "provider": "azure", "start_date": "2025-01-01", "input": 1.0, "output": 2.0},
            {"match": "my-finetune-.*", "prices": [{"input": 3.0, "output": 6.0}]},
        ]
    )
    assert table.cost("gpt-4o", "azure.ai.openai", {"input": 10**6}, NOW) == {"input": 1.0, "total": 1.0}
    # other providers, and times before the override, still use the built-in price
    assert table.cost("gpt-4o", "openai", {"input": 10**6}, NOW) == {"input": 2.5, "total": 2.5}
    assert table.cost("gpt-4o", "azure.ai.openai", {"input": 10**6}, ns("2024-12-01")) == {
        "input": 2.5,
        "total": 2.5,
    }
    assert table.cost("my-finetune-v2", "", {"output": 10**6}, NOW) == {"output": 6.0, "total": 6.0}
    # the base table is unchanged
    assert prices.cost("my-finetune-v2", "", {"output": 1}, NOW) is None


def test_overrides_from_yaml_table(prices: PriceTable) -> None:
    project = PriceTable.from_yaml("models:\n  - {match: 'gpt-4o', input: 0.5}\n", source="project")
    assert prices.with_overrides(project).cost("gpt-4o", "", {"input": 2 * 10**6}, NOW) == {
        "input": 1.0,
        "total": 1.0,
    }


def test_cost_openai_cached_subset_and_reasoning_inside_output(prices: PriceTable) -> None:
    usage = {"input": 10_000, "cache_read": 4_000, "output": 2_000, "reasoning": 1_500, "total": 12_000}
    cost = prices.cost("o4-mini", "openai", usage, NOW)
    assert cost is not None
    assert cost["cache_read"] == pytest.approx(4_000 * 0.275e-6)
    assert cost["input"] == pytest.approx(6_000 * 1.10e-6 + 4_000 * 0.275e-6)
    assert cost["reasoning"] == pytest.approx(1_500 * 4.40e-6)
    assert cost["output"] == pytest.approx(2_000 * 4.40e-6)  # reasoning is not charged twice
    assert cost["total"] == pytest.approx(cost["input"] + cost["output"])


def test_cost_anthropic_cache_read_and_write(prices: PriceTable) -> None:
    usage = {"input": 10 + 3_000 + 500, "cache_read": 3_000, "cache_write": 500, "output": 100}
    cost = prices.cost("claude-sonnet-4-20250514", "anthropic", usage, NOW)
    assert cost is not None
    assert cost["input"] == pytest.approx((10 * 3.00 + 3_000 * 0.30 + 500 * 3.75) / 1e6)
    assert cost["cache_write"] == pytest.approx(500 * 3.75e-6)
    assert cost["total"] == pytest.approx(cost["input"] + 100 * 15e-6)


def test_cost_tolerates_additive_usage(prices: PriceTable) -> None:
    # Raw Anthropic numbers (cache on top of input) passed straight to cost(): nothing goes negative.
    cost = prices.cost("claude-3-5-haiku", "anthropic", {"input": 10, "cache_read": 5000, "output": 5}, NOW)
    assert cost is not None
    assert cost["input"] == pytest.approx((10 * 0.80 + 5000 * 0.08) / 1e6)
    cost = prices.cost("o3-mini", "openai", {"output": 10, "reasoning": 30}, NOW)
    assert cost is not None
    assert cost["output"] == pytest.approx(40 * 4.40e-6)


def test_cost_defaults_for_missing_cache_and_reasoning_prices(prices: PriceTable) -> None:
    # gpt-4o-2024-05-13 has no cache price: cached tokens cost the input price.
    cost = prices.cost("gpt-4o-2024-05-13", "openai", {"input": 1000, "cache_read": 400}, NOW)
    assert cost is not None
    assert cost["input"] == pytest.approx(1000 * 5e-6)
    # A reasoning price, where one exists, applies to the reasoning part only.
    cost = prices.cost("gemini-2.5-flash-preview-04-17", "", {"output": 1000, "reasoning": 600}, NOW)
    assert cost is not None
    assert cost["output"] == pytest.approx(400 * 0.60e-6 + 600 * 3.50e-6)


def test_model_name_candidates() -> None:
    assert model_name_candidates("us.anthropic.claude-sonnet-4-20250514-v1:0") == [
        "us.anthropic.claude-sonnet-4-20250514-v1:0",
        "claude-sonnet-4-20250514",
    ]
    assert model_name_candidates("openrouter/Anthropic/Claude-3-Haiku") == [
        "openrouter/anthropic/claude-3-haiku",
        "claude-3-haiku",
    ]
    assert model_name_candidates("claude-sonnet-4@20250514") == [
        "claude-sonnet-4@20250514",
        "claude-sonnet-4-20250514",
    ]


def test_default_table_is_cached_and_valid() -> None:
    assert PriceTable.default() is PriceTable.default()
    assert len(PriceTable.default().entries) > 50


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"match": "gpt-(4", "input": 1}, "invalid regex"),
        ({"match": "m", "input": -1}, "must not be negative"),
        ({"match": "m", "prices": [{"output": -0.5}]}, "must not be negative"),
        ({"match": "m", "input": "1.0"}, "must be a number"),
        ({"match": "m", "input": True}, "must be a number"),
        ({"match": "m", "input": float("nan")}, "must be a number"),
        ({"match": "m", "cache_reads": 1}, "unknown keys"),
        ({"match": "m", "prices": [{"input": 1, "cached": 1}]}, "unknown keys"),
        ({"match": "m"}, "no prices"),
        ({"match": "m", "prices": []}, "non-empty list"),
        ({"input": 1}, "'match'"),
        ({"match": "m", "input": 1, "start_date": "yesterday"}, "start_date"),
        ({"match": "m", "provider": 5, "input": 1}, "'provider'"),
        (
            {
                "match": "m",
                "prices": [
                    {"start_date": "2025-01-01", "input": 1},
                    {"start_date": "2025-01-01", "input": 2},
                ],
            },
            "share a start_date",
        ),
    ],
)
def test_validation(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PriceTable.from_entries([entry])


def test_validation_names_the_entry() -> None:
    with pytest.raises(ValueError, match=r"overrides: entry 1 \('bad\(' *\)"):
        PriceTable.from_entries(
            [{"match": "ok", "input": 1}, {"match": "bad(", "input": 1}], source="overrides"
        )
    with pytest.raises(ValueError, match="expected a list"):
        PriceTable.from_yaml("models: 3")


def test_normalize_uses_price_table(norm: Norm) -> None:
    rec = norm(
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
            "gen_ai.usage.input_tokens": 2_000,
            "gen_ai.usage.cache_read.input_tokens": 1_000,
            "gen_ai.usage.output_tokens": 100,
        }
    )
    assert rec.cost_source == "price_table"
    assert rec.total_cost == pytest.approx((1_000 * 0.15 + 1_000 * 0.075 + 100 * 0.60) / 1e6)
    assert set(rec.cost) == {"input", "output", "cache_read", "total"}


def test_normalize_falls_back_to_request_model_price(norm: Norm) -> None:
    rec = norm(
        {
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.model": "gpt-4o-custom",
            "gen_ai.usage.input_tokens": 10,
        }
    )
    assert (rec.model, rec.cost_source) == ("gpt-4o-custom", "price_table")


def test_normalize_unknown_model_has_no_cost(norm: Norm) -> None:
    rec = norm({"gen_ai.request.model": "my-model", "gen_ai.usage.input_tokens": 10})
    assert (rec.cost, rec.total_cost, rec.cost_source) == ({}, 0.0, "")


def test_normalize_prices_only_model_calls(norm: Norm) -> None:
    # An agent span reporting its children's usage must not be charged a second time.
    rec = norm(
        {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 9,
        }
    )
    assert (rec.kind, rec.usage["input"], rec.cost_source) == ("agent", 9, "")
    rec = norm(
        {
            "gen_ai.operation.name": "embeddings",
            "gen_ai.request.model": "text-embedding-3-small",
            "gen_ai.usage.input_tokens": 10**6,
        }
    )
    assert rec.kind == "embedding"
    assert rec.total_cost == pytest.approx(0.02)


def test_normalize_with_project_overrides(prices: PriceTable, norm: Norm) -> None:
    table = prices.with_overrides([{"match": "gpt-4o", "input": 100.0}])
    rec = norm({"gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 10**4}, prices=table)
    assert rec.total_cost == pytest.approx(1.0)
