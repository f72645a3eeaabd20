"""Seeding chDB for the prompt usage and regression tests: spans linked to prompt versions, guardrail
events and scores on them (the real tables, written the way the collector, guard service and eval
workers write them)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from integration.storage.ch_factories import llm_span, span
from otelguard.model import SpanRecord
from otelguard.storage.clickhouse import ClickHouseTransport, insert_guardrail_events, insert_spans

_ids = itertools.count(1)
_MS = 1_000_000


def new_trace() -> str:
    return f"{next(_ids):032x}"


def new_span_id() -> str:
    return f"{next(_ids):016x}"


def prompt_spans(
    start_ns: int,
    latencies_ms: Sequence[float],
    *,
    name: str = "triage",
    version: int,
    project: str = "p1",
    step_ns: int = _MS,
    errors: Iterable[int] = (),
    cost: float = 0.001,
    kind: str = "llm",
) -> list[SpanRecord]:
    """One span per latency, each in its own trace, ``step_ns`` apart from ``start_ns``; the spans at
    the indexes in ``errors`` have status error."""
    failed = set(errors)
    out = []
    for i, latency in enumerate(latencies_ms):
        start = start_ns + i * step_ns
        values: dict[str, Any] = {
            "project_id": project,
            "end_time": start + int(latency * _MS),
            "prompt_name": name,
            "prompt_version": version,
            "status_code": "error" if i in failed else "ok",
            "total_cost": cost,
            "input_tokens": 100,
            "output_tokens": 20,
            "total_tokens": 120,
        }
        if kind == "llm":
            out.append(llm_span(new_trace(), new_span_id(), "", start, **values))
        else:
            out.append(
                span(trace_id=new_trace(), span_id=new_span_id(), start_time=start, kind=kind, **values)
            )
    return out


def seed_spans(ch: ClickHouseTransport, records: Sequence[SpanRecord]) -> None:
    insert_spans(ch, records)


def guardrail_event(
    record: SpanRecord, *, trace_level: bool = False, project: str | None = None
) -> dict[str, Any]:
    """A failed rule about ``record`` (or about its whole trace, without a span id)."""
    return {
        "id": f"ev-{next(_ids)}",
        "project_id": project or record.project_id,
        "trace_id": record.trace_id,
        "span_id": "" if trace_level else record.span_id,
        "timestamp": datetime.fromtimestamp(record.start_time / 1e9, UTC),
        "policy": "default/pii",
        "policy_version": "1",
        "rule": "pii",
        "validator": "pii",
        "stage": "output",
        "action": "sanitize",
        "verdict": "flag",
        "findings": "[]",
        "latency_us": 10,
        "shadow": False,
    }


def seed_events(ch: ClickHouseTransport, rows: Sequence[dict[str, Any]]) -> None:
    insert_guardrail_events(ch, rows)


_SCORE_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("project_id", pa.string()),
        ("trace_id", pa.string()),
        ("span_id", pa.string()),
        ("session_id", pa.string()),
        ("name", pa.string()),
        ("value", pa.float64()),
        ("string_value", pa.string()),
        ("data_type", pa.string()),
        ("source", pa.string()),
        ("comment", pa.string()),
        ("evaluator_name", pa.string()),
        ("evaluator_version", pa.string()),
        ("timestamp", pa.timestamp("ns", tz="UTC")),
    ]
)


def score(
    record: SpanRecord,
    name: str,
    value: float,
    *,
    trace_level: bool = False,
    data_type: str = "numeric",
    project: str | None = None,
    score_id: str | None = None,
) -> dict[str, Any]:
    return {
        "id": score_id or f"sc-{next(_ids)}",
        "project_id": project or record.project_id,
        "trace_id": record.trace_id,
        "span_id": "" if trace_level else record.span_id,
        "session_id": "",
        "name": name,
        "value": value,
        "string_value": "",
        "data_type": data_type,
        "source": "eval",
        "comment": "",
        "evaluator_name": "judge",
        "evaluator_version": "1",
        "timestamp": datetime.fromtimestamp(record.end_time / 1e9 + 1, UTC),
    }


def seed_scores(ch: ClickHouseTransport, rows: Sequence[dict[str, Any]]) -> None:
    """Rows into ``scores`` as an eval worker writes them (``ingested_at`` filled by ClickHouse)."""
    table = pa.Table.from_pylist(list(rows), schema=_SCORE_SCHEMA)
    ch.insert_arrow(f"{ch.database}.scores", table)
