"""Writing spans through Arrow into real chDB and reading every field back."""

from __future__ import annotations

import json

import pyarrow as pa
from ch_factories import BASE_NS, read_spans, replace, span

from otelguard.model import SpanKind, SpanRecord
from otelguard.storage.clickhouse import SPANS_ARROW_SCHEMA, ClickHouseTransport, insert_spans, spans_to_arrow
from otelguard.storage.clickhouse.spans import SPAN_FIELDS

U64_MAX = 2**64 - 1

WEIRD = (
    "héllo ☃ 😀 中文 עברית \\ 'q' \"dq\" `bt` \t tab \n nl \r cr \x00 nul \x01 ctl \u2028 ls {x:String} %s"
)


def _full_span() -> SpanRecord:
    return span(
        trace_id="4bf92f3577b34da6a3ce929d0e0e4736",
        span_id="00f067aa0ba902b7",
        parent_span_id="",
        start_time=BASE_NS + 123_456_789,
        end_time=BASE_NS + 2_987_654_321,
        name="chat gpt-4o ✨",
        kind=SpanKind.LLM.value,
        otel_kind="client",
        status_code="error",
        status_message=WEIRD,
        service_name="svc-ü",
        scope_name="opentelemetry.instrumentation.openai",
        provider="openai",
        model="gpt-4o-2024-08-06",
        request_model="gpt-4o",
        usage={"input": U64_MAX, "output": 0, "total": 2**53 + 1, "cache_read": 7},
        cost={"input": 1e-12, "output": 0.1 + 0.2, "total": 12345.678901234567},
        input_tokens=U64_MAX,
        output_tokens=2**63,
        total_tokens=2**53 + 1,
        total_cost=0.30000000000000004,
        cost_source="client",
        user_id="user 😀",
        session_id="sess\\1",
        tags=["prod", "", "ünï", WEIRD],
        prompt_name="greeting",
        prompt_version=2**32 - 1,
        input=json.dumps([{"role": "user", "content": WEIRD}]),
        output=WEIRD * 50,
        input_size=U64_MAX,
        output_size=123,
        input_truncated=True,
        output_truncated=False,
        error_type="RateLimitError",
        error_message=WEIRD,
        attributes={"gen_ai.system": "openai", "k ☃": WEIRD, "": "empty key", "n": "1"},
        resource_attributes={"service.name": "svc-ü"},
        events=json.dumps([{"name": "exception", "time_unix_nano": BASE_NS, "attributes": {"m": WEIRD}}]),
    )


def test_arrow_schema_matches_span_record() -> None:
    assert tuple(SPANS_ARROW_SCHEMA.names) == SPAN_FIELDS
    table = spans_to_arrow([_full_span(), span()])
    assert table.schema == SPANS_ARROW_SCHEMA
    assert table.num_rows == 2
    assert spans_to_arrow([]).num_rows == 0
    assert table.column("start_time").type == pa.timestamp("ns", tz="UTC")


def test_every_field_round_trips(ch: ClickHouseTransport) -> None:
    records = [
        _full_span(),
        span(trace_id="1" * 32, span_id="2" * 16),  # empty maps, empty strings, zeros
        span(trace_id="1" * 32, span_id="3" * 16, parent_span_id="2" * 16, kind=SpanKind.TOOL),  # enum value
    ]
    insert_spans(ch, records)
    stored = read_spans(ch)
    expected = sorted(records, key=lambda r: (r.trace_id, r.span_id))
    expected = [replace(r, kind="tool") if r.kind is SpanKind.TOOL else r for r in expected]
    assert stored == expected
    for got, want in zip(stored, expected, strict=True):  # the types, too (== would accept 1 == 1.0 == True)
        for name in SPAN_FIELDS:
            assert type(getattr(got, name)) is type(getattr(want, name)) or name.endswith("cost"), name


def test_ingested_at_is_filled(ch: ClickHouseTransport) -> None:
    insert_spans(ch, [span()])
    rows = ch.query(f"SELECT toUnixTimestamp64Milli(ingested_at) AS ms FROM {ch.database}.spans")
    assert rows[0]["ms"] > 1_600_000_000_000


def test_dedup_token_makes_replay_a_no_op(ch: ClickHouseTransport) -> None:
    batch = [span(span_id=f"{i:016x}", start_time=BASE_NS + i) for i in range(50)]
    insert_spans(ch, batch, dedup_token="batch-000001")
    insert_spans(ch, batch, dedup_token="batch-000001")  # replay after a crash
    insert_spans(ch, batch[:10], dedup_token="batch-000001")  # same token, other data: still dropped
    assert len(read_spans(ch)) == 50
    # The materialized view saw the batch once, too.
    rows = ch.query(f"SELECT sum(span_count) AS n FROM {ch.database}.traces")
    assert rows[0]["n"] == 50
    insert_spans(ch, [span(span_id="f" * 16, start_time=BASE_NS + 99)], dedup_token="batch-000002")
    assert len(read_spans(ch)) == 51


def test_resent_span_is_read_once(ch: ClickHouseTransport) -> None:
    from otelguard.storage.clickhouse import get_trace

    first = span(output="first")
    insert_spans(ch, [first], dedup_token="a")
    insert_spans(ch, [replace(first, output="second")], dedup_token="b")  # an SDK retry, new batch
    trace = get_trace(ch, "proj-a", first.trace_id)
    assert trace is not None
    assert [s.output for s in trace.spans] == ["second"]


def test_insert_nothing_is_a_no_op(ch: ClickHouseTransport) -> None:
    insert_spans(ch, [])
    insert_spans(ch, [], dedup_token="x")
    assert read_spans(ch) == []


def test_text_index_serves_token_search(ch: ClickHouseTransport) -> None:
    insert_spans(
        ch,
        [
            span(span_id="1" * 16, input="What is the refund policy?", output="Refunds within 30 days."),
            span(span_id="2" * 16, input="Where is my parcel?", output="It shipped yesterday."),
        ],
    )
    rows = ch.query(
        f"SELECT span_id FROM {ch.database}.spans WHERE hasAnyTokens(input, {{q:String}}) "
        "OR hasAnyTokens(output, {q:String})",
        {"q": "REFUND"},
    )
    assert [r["span_id"] for r in rows] == ["1" * 16]
    indexes = ch.query(
        "SELECT name, type FROM system.data_skipping_indices "
        "WHERE database = {db:String} AND table = 'spans'",
        {"db": ch.database},
    )
    assert {(r["name"], r["type"]) for r in indexes} >= {
        ("idx_input", "text"),
        ("idx_trace_id", "bloom_filter"),
    }
