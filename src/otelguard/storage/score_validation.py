"""Score values checked against their score config (pure: no I/O).

A score is numeric (a finite number), boolean (stored as 1/0 with string value ``true``/``false``) or
categorical (a string value; with a config, one of its categories, and the value is the category's
index so ordinal categories can be averaged). A config fixes a name's data type and bounds; a score
whose name has no config is accepted as sent, its data type given or inferred from the value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "MAX_STRING_VALUE",
    "SCORE_DATA_TYPES",
    "SCORE_NAME_PATTERN",
    "SCORE_SOURCES",
    "DataType",
    "NormalizedScore",
    "ScoreConfig",
    "ScoreSource",
    "ScoreValueError",
    "check_text",
    "normalize_score_value",
]

DataType = Literal["numeric", "boolean", "categorical"]
ScoreSource = Literal["evaluator", "api", "feedback", "annotation"]
SCORE_DATA_TYPES: tuple[str, ...] = get_args(DataType)
SCORE_SOURCES: tuple[str, ...] = get_args(ScoreSource)
# Printable, no leading/trailing blanks: names appear in URLs, charts and ClickHouse LowCardinality keys.
SCORE_NAME_PATTERN = r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]{0,198}[^\s\x00-\x1f\x7f])?$"
MAX_STRING_VALUE = 1000
_MAX_CATEGORIES = 100
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


def check_text(value: str) -> str:
    """``value`` if Postgres and Arrow can store it: no NUL character, no lone UTF-16 surrogate."""
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return value


class ScoreValueError(ValueError):
    """A score's value does not fit its data type or config; ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class ScoreConfig(BaseModel):
    """What a score name may hold; written with ``POST /api/v1/score-configs``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, pattern=SCORE_NAME_PATTERN)
    data_type: DataType
    min_value: float | None = Field(None, description="numeric: smallest allowed value (inclusive)")
    max_value: float | None = Field(None, description="numeric: largest allowed value (inclusive)")
    categories: list[str] = Field(
        default_factory=list,
        max_length=_MAX_CATEGORIES,
        description="categorical: the allowed string values; a score's value is its category's index",
    )
    description: str = Field("", max_length=2000)

    @field_validator("min_value", "max_value")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v

    @field_validator("name", "description")
    @classmethod
    def _text(cls, v: str) -> str:
        return check_text(v)

    @field_validator("categories")
    @classmethod
    def _categories(cls, v: list[str]) -> list[str]:
        for c in v:
            if not c or len(c) > 200:
                raise ValueError("every category is 1-200 characters")
            check_text(c)
        if len(set(v)) != len(v):
            raise ValueError("categories must be unique")
        return v

    @model_validator(mode="after")
    def _consistent(self) -> ScoreConfig:
        bounded = self.min_value is not None or self.max_value is not None
        if self.data_type != "numeric" and bounded:
            raise ValueError("min_value/max_value apply to numeric scores only")
        if self.data_type != "categorical" and self.categories:
            raise ValueError("categories apply to categorical scores only")
        if self.data_type == "categorical" and not self.categories:
            raise ValueError("a categorical score config needs at least one category")
        if self.min_value is not None and self.max_value is not None and self.min_value > self.max_value:
            raise ValueError("min_value must not be greater than max_value")
        return self


@dataclass(frozen=True, slots=True)
class NormalizedScore:
    value: float
    string_value: str
    data_type: str


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _infer(value: Any, string_value: str | None) -> str:
    if isinstance(value, bool):
        return "boolean"
    if string_value is not None:
        return "categorical"  # a value beside it is the category's ordinal
    if value is not None:
        return "numeric"
    raise ScoreValueError("value", "a score needs a value (numeric, boolean) or a string_value (categorical)")


def _boolean(value: Any, string_value: str | None) -> NormalizedScore:
    raw = value if value is not None else string_value
    if isinstance(raw, bool):
        flag = raw
    elif isinstance(raw, (int, float)) and raw in (0, 1):
        flag = bool(raw)
    elif isinstance(raw, str) and raw.strip().lower() in _TRUE | _FALSE:
        flag = raw.strip().lower() in _TRUE
    else:
        raise ScoreValueError("value", f"a boolean score is true/false or 1/0, got {raw!r}")
    return NormalizedScore(1.0 if flag else 0.0, "true" if flag else "false", "boolean")


def _numeric(value: Any, string_value: str | None, config: ScoreConfig | None) -> NormalizedScore:
    if string_value is not None:
        raise ScoreValueError("string_value", "string_value applies to categorical scores only")
    number = _number(value)
    if number is None:
        raise ScoreValueError("value", f"a numeric score needs a finite number, got {value!r}")
    if config is not None:
        if config.min_value is not None and number < config.min_value:
            raise ScoreValueError(
                "value", f"{number:g} is below the minimum {config.min_value:g} of score '{config.name}'"
            )
        if config.max_value is not None and number > config.max_value:
            raise ScoreValueError(
                "value", f"{number:g} is above the maximum {config.max_value:g} of score '{config.name}'"
            )
    return NormalizedScore(number, "", "numeric")


def _categorical(value: Any, string_value: str | None, config: ScoreConfig | None) -> NormalizedScore:
    if string_value is None or string_value == "":
        raise ScoreValueError("string_value", "a categorical score needs a non-empty string_value")
    if len(string_value) > MAX_STRING_VALUE:
        raise ScoreValueError("string_value", f"string_value is longer than {MAX_STRING_VALUE} characters")
    if config is not None:
        if string_value not in config.categories:
            allowed = ", ".join(config.categories[:20])
            raise ScoreValueError(
                "string_value",
                f"{string_value!r} is not a category of score '{config.name}' (one of: {allowed})",
            )
        return NormalizedScore(float(config.categories.index(string_value)), string_value, "categorical")
    if value is None:
        return NormalizedScore(0.0, string_value, "categorical")
    number = _number(value)
    if number is None:
        raise ScoreValueError("value", f"value must be a finite number when given, got {value!r}")
    return NormalizedScore(number, string_value, "categorical")


def normalize_score_value(
    *, value: Any, string_value: str | None, data_type: str | None, config: ScoreConfig | None
) -> NormalizedScore:
    """The stored ``(value, string_value, data_type)`` of a score, or ScoreValueError saying why not."""
    if data_type is not None and data_type not in SCORE_DATA_TYPES:
        raise ScoreValueError("data_type", f"data_type must be one of {', '.join(SCORE_DATA_TYPES)}")
    if config is not None:
        if data_type is not None and data_type != config.data_type:
            raise ScoreValueError(
                "data_type",
                f"score '{config.name}' is configured as {config.data_type}, not {data_type}",
            )
        data_type = config.data_type
    kind = data_type or _infer(value, string_value)
    if kind == "boolean":
        return _boolean(value, string_value)
    if kind == "numeric":
        return _numeric(value, string_value, config)
    return _categorical(value, string_value, config)
