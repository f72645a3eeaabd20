"""The model price table: USD per 1M tokens by usage type, per model regex, provider and date.

Table shape (``prices.yaml``, and the same for per-project overrides)::

    models:
      - match: 'gpt-4o(?:-2024-08-06)?'    # regex, anchored at both ends, case-insensitive
        provider: openai                   # optional: a name or a list; any provider when absent
        prices:                            # price periods; the latest start_date <= span start wins
          - {start_date: 2024-05-13, input: 5.00, output: 15.00}
          - {start_date: 2024-10-02, input: 2.50, cache_read: 1.25, output: 10.00}

An entry may also give one period inline (``{match, start_date?, input, output, ...}``). Usage types
are ``input``, ``output``, ``cache_read``, ``cache_write`` and ``reasoning``. The first entry (in table
order, overrides first) whose regex matches and which has a period in effect at the span's start prices
the span.

``cost`` takes canonical usage (see usage.py: ``input`` includes cache reads/writes, ``output`` includes
reasoning) and charges: uncached input at ``input``, ``cache_read`` tokens at ``cache_read`` and
``cache_write`` tokens at ``cache_write`` (each defaulting to the ``input`` price), reasoning at
``reasoning`` (default ``output``) and the rest of the output at ``output``; a part larger than its
whole (raw additive numbers) is charged on top instead. The cost map has the same meaning as usage:
``input``/``output`` include their cache/reasoning parts and ``total`` is their sum.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any

import yaml

from otelguard.semconv.providers import normalize_provider

PRICE_KEYS = frozenset({"input", "output", "cache_read", "cache_write", "reasoning"})
_ENTRY_KEYS = frozenset({"match", "provider", "prices", "source", "note"})
_PERIOD_KEYS = PRICE_KEYS | {"start_date"}
_PER_TOKEN = 1e-6  # prices are per 1M tokens
_CACHE_LIMIT = 4096  # distinct (model, provider) pairs remembered per table
# Model names come from clients and override regexes from users: never run a regex on a long name.
_MAX_MODEL_NAME = 256

# Bedrock ids: optional region prefix, vendor prefix, "-vN[:M]" suffix (us.anthropic.claude-...-v1:0).
_BEDROCK_ID = re.compile(
    r"(?:[a-z]{2,7}\.)?(?:anthropic|meta|mistral|amazon|cohere|ai21|deepseek|openai|qwen|writer)\."
    r"(.+?)(?:-v\d+(?::\d+)?)?"
)


@dataclass(frozen=True, slots=True)
class PricePeriod:
    start_date: date | None  # None: in effect since the model appeared
    start_unix_nano: int
    prices: Mapping[str, float]  # usage type → USD per 1M tokens


@dataclass(frozen=True, slots=True)
class PriceEntry:
    match: str
    providers: frozenset[str]  # empty: any provider
    periods: tuple[PricePeriod, ...]  # ascending start
    pattern: re.Pattern[str] = field(repr=False, compare=False)

    def period_at(self, at_unix_nano: int) -> PricePeriod | None:
        """The period in effect at a time; the latest one for an unknown time (<= 0)."""
        if at_unix_nano <= 0:
            return self.periods[-1]
        chosen = None
        for period in self.periods:
            if period.start_unix_nano > at_unix_nano:
                break
            chosen = period
        return chosen


class PriceTable:
    """An immutable, ordered list of price entries with a per-table cache of model lookups."""

    __slots__ = ("_cache", "_entries")

    def __init__(self, entries: Iterable[PriceEntry] = ()) -> None:
        self._entries: tuple[PriceEntry, ...] = tuple(entries)
        self._cache: dict[tuple[str, str], tuple[PriceEntry, ...]] = {}

    @classmethod
    def default(cls) -> PriceTable:
        """The built-in table (package data ``prices.yaml``), loaded and validated once."""
        return _default_table()

    @classmethod
    def from_yaml(cls, text: str, *, source: str = "<yaml>") -> PriceTable:
        doc = yaml.safe_load(text)
        models = doc.get("models") if isinstance(doc, dict) else doc
        if not isinstance(models, list):
            raise ValueError(f"{source}: expected a list of models (or a mapping with 'models')")
        return cls.from_entries(models, source=source)

    @classmethod
    def from_entries(cls, entries: Iterable[Mapping[str, Any]], *, source: str = "<entries>") -> PriceTable:
        """A table from entry mappings (the YAML shape); raises ValueError on any invalid entry."""
        return cls(_parse_entry(raw, f"{source}: entry {i}") for i, raw in enumerate(entries))

    @property
    def entries(self) -> tuple[PriceEntry, ...]:
        return self._entries

    def with_overrides(self, entries: Iterable[Mapping[str, Any]] | PriceTable) -> PriceTable:
        """A table where the given (per-project) entries are tried before this table's."""
        first = entries if isinstance(entries, PriceTable) else PriceTable.from_entries(entries)
        return PriceTable(first.entries + self._entries)

    def prices_at(self, model: str, provider: str, at_unix_nano: int) -> Mapping[str, float] | None:
        """USD-per-1M-token prices for a model at a time, or None when no entry applies."""
        for entry in self._matching(model, provider):
            period = entry.period_at(at_unix_nano)
            if period is not None:
                return period.prices
        return None

    def cost(
        self, model: str, provider: str, usage: Mapping[str, int], at_unix_nano: int
    ) -> dict[str, float] | None:
        """USD cost by usage type plus ``total`` for canonical usage; None for an unknown model."""
        prices = self.prices_at(model, provider, at_unix_nano)
        return None if prices is None else compute_cost(prices, usage)

    def _matching(self, model: str, provider: str) -> tuple[PriceEntry, ...]:
        key = (model, provider)
        hit = self._cache.get(key)
        if hit is None:
            if len(model) > _MAX_MODEL_NAME:
                return ()
            canonical = normalize_provider(provider) if provider else ""
            names = model_name_candidates(model)
            hit = tuple(
                e
                for e in self._entries
                if (not e.providers or canonical in e.providers)
                and any(e.pattern.fullmatch(n) for n in names)
            )
            if len(self._cache) >= _CACHE_LIMIT:  # model names come from clients: stay bounded
                self._cache.clear()
            self._cache[key] = hit
        return hit


def model_name_candidates(model: str) -> list[str]:
    """The spellings a model name is matched under: as sent (lowercased), without a ``vendor/``
    prefix (OpenRouter, LiteLLM, ``models/`` of Gemini), with Vertex's ``@version`` as ``-version``,
    and without Bedrock's region/vendor prefix and ``-vN:M`` suffix."""
    name = model.strip().lower()
    names = [name]
    if "/" in name:
        name = name.rsplit("/", 1)[1]
        names.append(name)
    if "@" in name:
        name = name.replace("@", "-")
        names.append(name)
    m = _BEDROCK_ID.fullmatch(name)
    if m is not None:
        names.append(m.group(1))
    return names


def compute_cost(prices: Mapping[str, float], usage: Mapping[str, int]) -> dict[str, float]:
    """Cost of canonical usage at the given prices (rules in the module docstring)."""
    p_in = prices.get("input", 0.0)
    p_out = prices.get("output", 0.0)
    inp = usage.get("input", 0)
    out = usage.get("output", 0)
    cache_read = usage.get("cache_read", 0)
    cache_write = usage.get("cache_write", 0)
    reasoning = usage.get("reasoning", 0)
    # Parts larger than their whole mean the caller passed additive (raw Anthropic/Gemini) numbers:
    # then the whole is all "plain" tokens and the parts come on top, rather than going negative.
    uncached = inp - cache_read - cache_write
    if uncached < 0:
        uncached = inp
    plain_out = out - reasoning
    if plain_out < 0:
        plain_out = out

    c_read = cache_read * prices.get("cache_read", p_in) * _PER_TOKEN
    c_write = cache_write * prices.get("cache_write", p_in) * _PER_TOKEN
    c_input = uncached * p_in * _PER_TOKEN + c_read + c_write
    c_reason = reasoning * prices.get("reasoning", p_out) * _PER_TOKEN
    c_output = plain_out * p_out * _PER_TOKEN + c_reason

    cost: dict[str, float] = {}
    if "input" in usage or cache_read or cache_write:
        cost["input"] = c_input
    if "output" in usage:
        cost["output"] = c_output
    if "cache_read" in usage:
        cost["cache_read"] = c_read
    if "cache_write" in usage:
        cost["cache_write"] = c_write
    if "reasoning" in usage:
        cost["reasoning"] = c_reason
    cost["total"] = c_input + c_output
    return cost


@functools.cache
def _default_table() -> PriceTable:
    text = resources.files("otelguard.semconv").joinpath("prices.yaml").read_text(encoding="utf-8")
    return PriceTable.from_yaml(text, source="prices.yaml")


def _parse_entry(raw: object, where: str) -> PriceEntry:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected a mapping, got {type(raw).__name__}")
    match = raw.get("match")
    if not isinstance(match, str) or not match:
        raise ValueError(f"{where}: 'match' must be a non-empty regex string")
    where = f"{where} ({match!r})"
    try:
        pattern = re.compile(f"(?:{match})", re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"{where}: invalid regex: {exc}") from None

    if "prices" in raw:
        unknown = set(raw) - _ENTRY_KEYS
        periods_raw = raw["prices"]
        if not isinstance(periods_raw, list) or not periods_raw:
            raise ValueError(f"{where}: 'prices' must be a non-empty list of periods")
    else:  # one inline period
        unknown = set(raw) - _ENTRY_KEYS - _PERIOD_KEYS
        periods_raw = [{k: v for k, v in raw.items() if k in _PERIOD_KEYS}]
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")

    periods = sorted(
        (_parse_period(p, f"{where} period {i}") for i, p in enumerate(periods_raw)),
        key=lambda p: p.start_unix_nano,
    )
    starts = [p.start_unix_nano for p in periods]
    if len(set(starts)) != len(starts):
        raise ValueError(f"{where}: two price periods share a start_date")
    return PriceEntry(match, _parse_providers(raw.get("provider"), where), tuple(periods), pattern)


def _parse_providers(value: object, where: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(p, str) and p for p in items):
        raise ValueError(f"{where}: 'provider' must be a name or a list of names")
    return frozenset(normalize_provider(p) for p in items)


def _parse_period(raw: object, where: str) -> PricePeriod:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected a mapping")
    unknown = set(raw) - _PERIOD_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)} (prices: {sorted(PRICE_KEYS)})")
    prices: dict[str, float] = {}
    for key in PRICE_KEYS & set(raw):
        value = raw[key]
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError(f"{where}: price {key!r} must be a number, got {value!r}")
        if value < 0:
            raise ValueError(f"{where}: price {key!r} must not be negative, got {value!r}")
        prices[key] = float(value)
    if not prices:
        raise ValueError(f"{where}: no prices given")
    start = _parse_date(raw.get("start_date"), where)
    if start is None:
        return PricePeriod(None, -1, prices)
    midnight = datetime(start.year, start.month, start.day, tzinfo=UTC)
    return PricePeriod(start, int(midnight.timestamp()) * 10**9, prices)


def _parse_date(value: object, where: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{where}: start_date must be a YYYY-MM-DD date, got {value!r}")
