"""Small builders for hand-made spans in storage tests."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from otelguard.model import SpanRecord
from otelguard.storage.clickhouse import ClickHouseTransport
from otelguard.storage.clickhouse.spans import SPAN_FIELDS

_HOUR_NS = 3600 * 10**9
# The start of the current hour: recent enough that no retention TTL in the tests expires test data.
BASE_NS = time.time_ns() // _HOUR_NS * _HOUR_NS


def span(**overrides: Any) -> SpanRecord:
    values: dict[str, Any] = {
        "project_id": "proj-a",
        "trace_id": "0" * 31 + "1",
        "span_id": "a" * 16,
        "parent_span_id": "",
        "start_time": BASE_NS,
        "end_time": BASE_NS + 1_500_000_000,
        "name": "agent",
        "kind": "agent",
        "otel_kind": "internal",
        "status_code": "ok",
        "status_message": "",
        "service_name": "svc",
        "scope_name": "scope",
        "provider": "",
        "model": "",
        "request_model": "",
        "usage": {},
        "cost": {},
        "input_tokens": 0,
        "output_tokens": 0,
        "total_tokens": 0,
        "total_cost": 0.0,
        "cost_source": "",
        "user_id": "",
        "session_id": "",
        "tags": [],
        "prompt_name": "",
        "prompt_version": 0,
        "input": "",
        "output": "",
        "input_size": 0,
        "output_size": 0,
        "input_truncated": False,
        "output_truncated": False,
        "error_type": "",
        "error_message": "",
        "attributes": {},
        "resource_attributes": {},
        "events": "[]",
    }
    unknown = set(overrides) - set(values)
    if unknown:
        raise TypeError(f"unknown SpanRecord fields: {sorted(unknown)}")
    values.update(overrides)
    return SpanRecord(**values)


def llm_span(trace_id: str, span_id: str, parent: str, start: int, **overrides: Any) -> SpanRecord:
    values: dict[str, Any] = {
        "trace_id": trace_id,
        "span_id": span_id,
        "parent_span_id": parent,
        "start_time": start,
        "end_time": start + 800_000_000,
        "name": "chat",
        "kind": "llm",
        "otel_kind": "client",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "request_model": "gpt-4o-mini",
        "usage": {"input": 100, "output": 20, "total": 120},
        "cost": {"input": 0.0001, "output": 0.00002, "total": 0.00012},
        "input_tokens": 100,
        "output_tokens": 20,
        "total_tokens": 120,
        "total_cost": 0.00012,
        "cost_source": "price_table",
    }
    values.update(overrides)
    return span(**values)


def read_spans(
    transport: ClickHouseTransport, where: str = "1", params: dict[str, Any] | None = None
) -> list[SpanRecord]:
    """Every stored span (raw rows, no de-duplication) as SpanRecords, ordered by (trace_id, span_id)."""
    cols = ", ".join(
        f"toUnixTimestamp64Nano({f}) AS {f}" if f in ("start_time", "end_time") else f for f in SPAN_FIELDS
    )
    rows = transport.query(
        f"SELECT {cols} FROM {transport.database}.spans WHERE {where} ORDER BY trace_id, span_id", params
    )
    return [SpanRecord(**row) for row in rows]


def replace(record: SpanRecord, **changes: Any) -> SpanRecord:
    return dataclasses.replace(record, **changes)
