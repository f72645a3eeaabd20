"""Semantic-convention mapping and model prices.

``normalize`` turns a decoded OTLP span into a ``spans`` row, reading the OTel GenAI conventions
(current and deprecated), OpenInference, OpenLLMetry/Traceloop and OTelGuard's own ``otelguard.*``
attributes; ``PriceTable`` prices token usage from the built-in ``prices.yaml`` plus per-project entries.
"""

from otelguard.semconv.normalize import normalize
from otelguard.semconv.prices import PriceEntry, PricePeriod, PriceTable
from otelguard.semconv.providers import normalize_provider

__all__ = ["PriceEntry", "PricePeriod", "PriceTable", "normalize", "normalize_provider"]
