"""Shared builders for the semconv tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from otelguard.model import RawEvent, RawSpan, SpanRecord, StatusCode
from otelguard.semconv import PriceTable, normalize

# 2025-09-01T00:00:00Z: after every price change the tests rely on, unless a test says otherwise.
T0 = 1_756_684_800_000_000_000


def make_span(
    attributes: dict[str, Any] | None = None,
    *,
    resource: dict[str, Any] | None = None,
    events: list[RawEvent] | None = None,
    status: StatusCode = StatusCode.UNSET,
    status_message: str = "",
    start: int = T0,
) -> RawSpan:
    return RawSpan(
        trace_id="0af7651916cd43dd8448eb211c80319c",
        span_id="b7ad6b7169203331",
        parent_span_id="00f067aa0ba902b7",
        name="span",
        otel_kind="client",
        start_time_unix_nano=start,
        end_time_unix_nano=start + 1_000_000,
        status_code=status,
        status_message=status_message,
        attributes=attributes or {},
        resource_attributes=resource or {},
        scope_name="test-scope",
        events=events or [],
    )


@pytest.fixture(scope="session")
def prices() -> PriceTable:
    return PriceTable.default()


@pytest.fixture
def norm(prices: PriceTable) -> Callable[..., SpanRecord]:
    """``norm(attrs, **make_span kwargs)`` → the normalized record (project "p1", default prices)."""

    def run(attributes: dict[str, Any] | None = None, **kwargs: Any) -> SpanRecord:
        max_bytes = kwargs.pop("max_payload_bytes", 65536)
        table = kwargs.pop("prices", prices)
        return normalize(make_span(attributes, **kwargs), "p1", prices=table, max_payload_bytes=max_bytes)

    return run


@pytest.fixture
def span() -> Callable[..., RawSpan]:
    """``span(attrs, **kwargs)`` → a RawSpan (see make_span)."""
    return make_span
