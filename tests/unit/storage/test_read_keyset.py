"""Keyset cursors for sorted listings, and the metric query's validation and SQL (no database)."""

from __future__ import annotations

import base64
import json

import pytest

from otelguard.storage.clickhouse import InvalidCursor, MetricQuery, MetricQueryError
from otelguard.storage.clickhouse.keyset import check_value, decode_keyset, encode_keyset
from otelguard.storage.clickhouse.metrics_query import AGGREGATIONS, DIMENSIONS, build_metric_sql


def test_round_trip_and_scope() -> None:
    cursor = encode_keyset("traces", "cost", "desc", "0.25", "ab" * 16)
    assert decode_keyset(cursor, scope="traces", sort="cost", order="desc", ties=1) == ("0.25", "ab" * 16)
    for scope, sort, order in [
        ("sessions", "cost", "desc"),
        ("traces", "latency", "desc"),
        ("traces", "cost", "asc"),
    ]:
        with pytest.raises(InvalidCursor, match="another listing"):
            decode_keyset(cursor, scope=scope, sort=sort, order=order, ties=1)
    with pytest.raises(InvalidCursor):
        decode_keyset(cursor, scope="traces", sort="cost", order="desc", ties=2)


def _raw(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "!!!",
        "a" * 3000,
        "bm90IGpzb24",  # "not json"
        _raw({"a": 1}),
        _raw([1, "traces", "cost", "desc", "1", "x"]),  # version 1 is the start-time cursor
        _raw([2, "traces", "cost", "desc", 1, "x"]),  # value not text
        _raw([2, "traces", "cost", "desc", "1", ""]),  # empty id
        _raw([2, "traces", "cost", "desc", "1", "x" * 600]),
        _raw([True, "traces", "cost", "desc", "1", "x"]),
    ],
)
def test_malformed(cursor: str) -> None:
    with pytest.raises(InvalidCursor):
        decode_keyset(cursor, scope="traces", sort="cost", order="desc", ties=1)


@pytest.mark.parametrize(
    ("value", "ch_type", "ok"),
    [
        ("12", "Int64", True),
        ("-12", "Int64", True),
        ("9223372036854775808", "Int64", False),
        ("-1", "UInt64", False),
        ("18446744073709551615", "UInt64", False),  # 20 digits: refused before parsing
        ("1e5", "Int64", False),
        ("0.000120000001", "Decimal128(12)", True),
        ("1e-5", "Decimal128(12)", False),
        ("1.0000000000001", "Decimal128(12)", False),
        ("'; DROP", "String", True),  # strings are bound as parameters
    ],
)
def test_check_value(value: str, ch_type: str, ok: bool) -> None:
    if ok:
        assert check_value(value, ch_type) == value
    else:
        with pytest.raises(InvalidCursor):
            check_value(value, ch_type)


class _NoTransport:
    database = "otelguard"


def test_metric_sql_uses_only_whitelisted_fragments() -> None:
    for scope, dims in DIMENSIONS.items():
        for metric, aggs in AGGREGATIONS.items():
            for agg in aggs:
                q = MetricQuery(
                    metric=metric,  # type: ignore[arg-type]
                    agg=agg,  # type: ignore[arg-type]
                    scope=scope,  # type: ignore[arg-type]
                    group_by=tuple(list(dims)[:2]),  # type: ignore[arg-type]
                    start_ns=0,
                    end_ns=86_400 * 10**9,
                )
                sql, params = build_metric_sql(_NoTransport(), "proj'; --", q)  # type: ignore[arg-type]
                assert "'; --" not in sql and params["project_id"] == "proj'; --"
                assert "{project_id:String}" in sql


def test_metric_models_refuse_unknown_names() -> None:
    with pytest.raises(ValueError):
        MetricQuery(metric="latency; DROP", agg="p50", start_ns=0, end_ns=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        MetricQuery(metric="latency", agg="p50", group_by=("model", "user", "tag"), start_ns=0, end_ns=1)
    with pytest.raises(MetricQueryError):
        build_metric_sql(
            _NoTransport(),  # type: ignore[arg-type]
            "p",
            MetricQuery(metric="requests", agg="count", group_by=("provider",), start_ns=0, end_ns=1),
        )
