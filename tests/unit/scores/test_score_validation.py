"""Score values against their configs, score configs themselves, and the feedback rate limiter."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import ValidationError

from otelguard.storage.score_validation import ScoreConfig, ScoreValueError, normalize_score_value
from otelguard.webui.rate_limit import TokenBuckets
from otelguard.webui.routers.feedback import FeedbackConfig

RANGE = ScoreConfig(name="quality", data_type="numeric", min_value=0, max_value=1)
FLAG = ScoreConfig(name="toxic", data_type="boolean")
TONE = ScoreConfig(name="tone", data_type="categorical", categories=["polite", "neutral", "rude"])


def norm(value: Any = None, string_value: str | None = None, data_type: str | None = None,
         config: ScoreConfig | None = None) -> tuple[float, str, str]:  # fmt: skip
    n = normalize_score_value(value=value, string_value=string_value, data_type=data_type, config=config)
    return n.value, n.string_value, n.data_type


def test_without_config_the_type_is_given_or_inferred() -> None:
    assert norm(0.7) == (0.7, "", "numeric")
    assert norm(3) == (3.0, "", "numeric")
    assert norm(True) == (1.0, "true", "boolean")
    assert norm(string_value="good") == (0.0, "good", "categorical")
    assert norm(2, string_value="good") == (2.0, "good", "categorical")
    assert norm(1, data_type="boolean") == (1.0, "true", "boolean")
    assert norm("false", data_type="boolean") == (0.0, "false", "boolean")
    assert norm(string_value="TRUE", data_type="boolean") == (1.0, "true", "boolean")


@pytest.mark.parametrize(
    ("kwargs", "field", "message"),
    [
        ({}, "value", "needs a value"),
        ({"value": math.nan}, "value", "finite"),
        ({"value": math.inf}, "value", "finite"),
        ({"value": "0.5"}, "value", "finite number"),
        ({"value": 2, "data_type": "boolean"}, "value", "true/false"),
        ({"value": "yes", "data_type": "boolean"}, "value", "true/false"),
        (
            {"value": 1.0, "string_value": "x", "data_type": "numeric"},
            "string_value",
            "categorical scores only",
        ),
        ({"string_value": "", "data_type": "categorical"}, "string_value", "non-empty"),
        ({"string_value": "x" * 1001}, "string_value", "longer"),
        ({"value": 1, "data_type": "text"}, "data_type", "one of"),
        ({"value": 1.5, "config": RANGE}, "value", "above the maximum 1"),
        ({"value": -0.1, "config": RANGE}, "value", "below the minimum 0"),
        ({"value": 0.5, "data_type": "boolean", "config": RANGE}, "data_type", "configured as numeric"),
        ({"value": 0.5, "config": FLAG}, "value", "true/false"),
        ({"string_value": "angry", "config": TONE}, "string_value", "not a category"),
        ({"value": 1, "config": TONE}, "string_value", "non-empty"),
    ],
)
def test_bad_values_name_the_field(kwargs: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(ScoreValueError, match=message) as info:
        norm(**kwargs)
    assert info.value.field == field


def test_configs_fix_type_bounds_and_category_values() -> None:
    assert norm(0, config=RANGE) == (0.0, "", "numeric") and norm(1, config=RANGE)[0] == 1.0
    assert norm(True, config=FLAG) == (1.0, "true", "boolean")
    assert norm(string_value="rude", config=TONE) == (2.0, "rude", "categorical")  # value = index
    assert norm(7, string_value="neutral", config=TONE)[0] == 1.0


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"data_type": "categorical"}, "at least one category"),
        ({"data_type": "numeric", "categories": ["a"]}, "categorical scores only"),
        ({"data_type": "boolean", "min_value": 0}, "numeric scores only"),
        ({"data_type": "numeric", "min_value": 2, "max_value": 1}, "not be greater"),
        ({"data_type": "numeric", "max_value": math.inf}, "finite"),
        ({"data_type": "categorical", "categories": ["a", "a"]}, "unique"),
        ({"data_type": "categorical", "categories": [""]}, "1-200"),
        ({"data_type": "numeric", "name": " padded"}, "pattern"),
        ({"data_type": "numeric", "extra": 1}, "Extra inputs"),
    ],
)
def test_inconsistent_configs_are_refused(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ScoreConfig.model_validate({"name": "q", **config})


def test_token_buckets_burst_then_refill() -> None:
    now = [0.0]
    buckets = TokenBuckets(rate=2.0, burst=3, clock=lambda: now[0])
    assert [buckets.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("k") == pytest.approx(0.5)  # empty: one token per 0.5 s
    assert buckets.take("other") == 0.0  # keys are independent
    now[0] += 0.5
    assert buckets.take("k") == 0.0
    assert buckets.take("k") > 0
    now[0] += 100
    assert [buckets.take("k") for _ in range(4)][:3] == [0.0, 0.0, 0.0]  # refills only up to the burst


def test_token_buckets_stay_bounded() -> None:
    now = [0.0]
    buckets = TokenBuckets(rate=1.0, burst=1, max_keys=100, clock=lambda: now[0])
    for i in range(1000):
        buckets.take(i)
    assert len(buckets._buckets) <= 100
    assert buckets.take(999) > 0  # the newest keys are kept


def test_feedback_config_from_env() -> None:
    assert FeedbackConfig.from_env({}) == FeedbackConfig(origins=None, rate_per_s=1.0, burst=10)
    config = FeedbackConfig.from_env(
        {"OTELGUARD_FEEDBACK_ORIGINS": "https://a.example, https://b.example/",
         "OTELGUARD_FEEDBACK_RATE": "0.5", "OTELGUARD_FEEDBACK_BURST": "3"}
    )  # fmt: skip
    assert config.origins == frozenset({"https://a.example", "https://b.example"})
    assert (config.rate_per_s, config.burst) == (0.5, 3)
    bad = FeedbackConfig.from_env({"OTELGUARD_FEEDBACK_RATE": "fast", "OTELGUARD_FEEDBACK_BURST": "0"})
    assert (bad.rate_per_s, bad.burst) == (1.0, 10)
