"""guardrail_events on chDB: insert, list with filters, cursor pages, project scope."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from otelguard.storage.clickhouse import (
    GuardrailEventFilter,
    InvalidCursor,
    insert_guardrail_events,
    list_guardrail_events,
    migrate,
)
from otelguard.storage.clickhouse.chdb_transport import ChdbTransport

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def event(i: int, **over: Any) -> dict[str, Any]:
    row = {
        "id": f"e{i:04d}",
        "project_id": "p1",
        "trace_id": "ab" * 16 if i % 2 else "",
        "span_id": "",
        "timestamp": T0 + timedelta(seconds=i),
        "policy": "ns/pii" if i % 3 else "ns/inj",
        "policy_version": "1",
        "rule": "r",
        "validator": "pii" if i % 3 else "prompt_injection",
        "stage": "input" if i % 4 else "output",
        "action": "sanitize,alert" if i % 3 else "block",
        "verdict": "flag" if i % 3 else "block",
        "findings": '[{"validator":"pii","entity":"EMAIL","start":1,"end":5,"score":0.9}]',
        "latency_us": 12,
        "shadow": i % 5 == 0,
    }
    row.update(over)
    return row


@pytest.fixture
def ch(chdb: ChdbTransport) -> ChdbTransport:
    migrate(chdb)
    insert_guardrail_events(chdb, [event(i) for i in range(30)])
    insert_guardrail_events(chdb, [event(100, project_id="p2")])
    return chdb


def ids(page: Any) -> list[str]:
    return [i.id for i in page.items]


def test_newest_first_with_cursor_pages(ch: ChdbTransport) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        page = list_guardrail_events(ch, "p1", GuardrailEventFilter(), cursor=cursor, limit=7)
        seen += ids(page)
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [f"e{i:04d}" for i in reversed(range(30))]
    first = list_guardrail_events(ch, "p1", GuardrailEventFilter(), limit=1).items[0]
    assert first.findings[0]["entity"] == "EMAIL" and first.timestamp == int(
        (T0 + timedelta(seconds=29)).timestamp() * 1e9
    )


def test_project_scope(ch: ChdbTransport) -> None:
    assert ids(list_guardrail_events(ch, "p2", GuardrailEventFilter())) == ["e0100"]
    assert "e0100" not in ids(list_guardrail_events(ch, "p1", GuardrailEventFilter(), limit=1000))
    assert ids(list_guardrail_events(ch, "nobody", GuardrailEventFilter())) == []


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"policy": "ns/inj"}, [i for i in range(30) if i % 3 == 0]),
        ({"validator": "pii"}, [i for i in range(30) if i % 3]),
        ({"action": "alert"}, [i for i in range(30) if i % 3]),
        ({"action": "block"}, [i for i in range(30) if i % 3 == 0]),
        ({"stage": "output"}, [i for i in range(30) if i % 4 == 0]),
        ({"shadow": True}, [i for i in range(30) if i % 5 == 0]),
        ({"shadow": False}, [i for i in range(30) if i % 5]),
        ({"verdict": "block"}, [i for i in range(30) if i % 3 == 0]),
        ({"trace_id": "ab" * 16}, [i for i in range(30) if i % 2]),
        (
            {"start_ns": int((T0 + timedelta(seconds=10)).timestamp() * 1e9),
             "end_ns": int((T0 + timedelta(seconds=13)).timestamp() * 1e9)},
            [10, 11, 12],
        ),
    ],
)  # fmt: skip
def test_filters(ch: ChdbTransport, flt: dict[str, Any], expected: list[int]) -> None:
    page = list_guardrail_events(ch, "p1", GuardrailEventFilter(**flt), limit=1000)
    assert ids(page) == [f"e{i:04d}" for i in reversed(expected)]


def test_bad_cursor(ch: ChdbTransport) -> None:
    with pytest.raises(InvalidCursor):
        list_guardrail_events(ch, "p1", GuardrailEventFilter(), cursor="garbage!")
