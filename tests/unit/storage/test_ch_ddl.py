"""DDL text for a single node and for a cluster (no cluster runs here, so the text is the contract)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from otelguard.model import SpanRecord
from otelguard.storage.clickhouse import Retention, render_ddl
from otelguard.storage.clickhouse.ddl import (
    SPANS_COLUMNS,
    TABLES,
    parse_ttl_days,
    ttl_statement,
    ttl_targets,
)

R = Retention(spans_days=30, scores_days=90, guardrail_events_days=14)


def _by_table(statements: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for s in statements:
        m = re.match(r"CREATE (?:TABLE|MATERIALIZED VIEW|DATABASE) IF NOT EXISTS (`[^`]+`(?:\.`[^`]+`)?)", s)
        assert m, s
        out[m.group(1).replace("`", "")] = s
    return out


def test_spans_columns_are_span_record_fields_in_order() -> None:
    names = [n for n, _ in SPANS_COLUMNS]
    assert names[:-1] == [f.name for f in dataclasses.fields(SpanRecord)]
    assert names[-1] == "ingested_at"


def test_single_node_ddl() -> None:
    statements = render_ddl(database="otelguard", retention=R, cluster=None)
    tables = _by_table(statements)
    assert list(tables) == [
        "otelguard",
        "otelguard.schema_migrations",
        "otelguard.spans",
        "otelguard.traces",
        "otelguard.traces_mv",
        "otelguard.scores",
        "otelguard.guardrail_events",
        "otelguard.trace_index",
        "otelguard.trace_index_mv",
    ]
    assert not any("ON CLUSTER" in s or "Replicated" in s or "Distributed" in s for s in statements)

    spans = tables["otelguard.spans"]
    for fragment in (
        "`project_id` LowCardinality(String)",
        "`kind` LowCardinality(String)",
        "`status_code` LowCardinality(String)",
        "`provider` LowCardinality(String)",
        "`service_name` LowCardinality(String)",
        "`otel_kind` LowCardinality(String)",
        "`cost_source` LowCardinality(String)",
        "`start_time` DateTime64(9, 'UTC')",
        "`end_time` DateTime64(9, 'UTC')",
        "`usage` Map(LowCardinality(String), UInt64)",
        "`cost` Map(LowCardinality(String), Float64)",
        "`tags` Array(String)",
        "`attributes` Map(String, String) CODEC(ZSTD(3))",
        "`input` String CODEC(ZSTD(3))",
        "`output` String CODEC(ZSTD(3))",
        "`ingested_at` DateTime64(3, 'UTC') DEFAULT now64(3)",
        "INDEX idx_trace_id trace_id TYPE bloom_filter",
        "INDEX idx_user_id user_id TYPE bloom_filter",
        "INDEX idx_session_id session_id TYPE bloom_filter",
        "INDEX idx_input input TYPE text(tokenizer = splitByNonAlpha, preprocessor = lower(input))",
        "INDEX idx_output output TYPE text(",
        "ENGINE = ReplacingMergeTree(ingested_at)",
        "PARTITION BY toDate(start_time)",
        "ORDER BY (project_id, toStartOfHour(start_time), trace_id, span_id)",
        "TTL toDateTime(start_time) + INTERVAL 30 DAY",
        "non_replicated_deduplication_window = 10000",
    ):
        assert fragment in spans, fragment

    traces = tables["otelguard.traces"]
    assert "ENGINE = AggregatingMergeTree\n" in traces
    assert "ORDER BY (project_id, trace_id)" in traces
    assert "TTL toDateTime(start_time) + INTERVAL 30 DAY" in traces
    mv = tables["otelguard.traces_mv"]
    assert "TO `otelguard`.`traces`" in mv and "FROM `otelguard`.`spans`" in mv
    assert "GROUP BY project_id, trace_id" in mv

    assert "TTL toDateTime(timestamp) + INTERVAL 90 DAY" in tables["otelguard.scores"]
    assert "TTL toDateTime(timestamp) + INTERVAL 14 DAY" in tables["otelguard.guardrail_events"]
    for name in ("scores", "guardrail_events"):
        assert "ORDER BY (project_id, " in tables[f"otelguard.{name}"]
    for column in (
        "id",
        "project_id",
        "trace_id",
        "span_id",
        "session_id",
        "name",
        "value",
        "string_value",
        "data_type",
        "source",
        "comment",
        "evaluator_name",
        "evaluator_version",
        "timestamp",
    ):
        assert f"`{column}` " in tables["otelguard.scores"], column
    for column in (
        "id",
        "policy",
        "policy_version",
        "rule",
        "validator",
        "stage",
        "action",
        "verdict",
        "findings",
        "latency_us",
        "shadow",
    ):
        assert f"`{column}` " in tables["otelguard.guardrail_events"], column
    assert all(s.startswith("CREATE ") and " IF NOT EXISTS " in s for s in statements)


def test_zero_retention_means_no_ttl() -> None:
    statements = render_ddl(database="db1", retention=Retention(), cluster=None)
    assert not any("TTL " in s for s in statements)
    assert any("`db1`.`spans`" in s for s in statements)


def test_cluster_ddl() -> None:
    statements = render_ddl(database="otelguard", retention=R, cluster="prod")
    assert all(" ON CLUSTER `prod`" in s for s in statements)
    tables = _by_table(statements)
    assert list(tables) == [
        "otelguard",
        "otelguard.schema_migrations",
        "otelguard.spans_local",
        "otelguard.spans",
        "otelguard.traces_local",
        "otelguard.traces",
        "otelguard.traces_mv",
        "otelguard.scores_local",
        "otelguard.scores",
        "otelguard.guardrail_events_local",
        "otelguard.guardrail_events",
        "otelguard.trace_index_local",
        "otelguard.trace_index",
        "otelguard.trace_index_mv",
    ]
    path = "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'"
    assert f"ENGINE = ReplicatedReplacingMergeTree({path}, ingested_at)" in tables["otelguard.spans_local"]
    assert f"ENGINE = ReplicatedAggregatingMergeTree({path})" in tables["otelguard.traces_local"]
    assert f"ENGINE = ReplicatedReplacingMergeTree({path}, ingested_at)" in tables["otelguard.scores_local"]
    assert (
        f"ENGINE = ReplicatedReplacingMergeTree({path}, applied_at)" in tables["otelguard.schema_migrations"]
    )
    assert "replicated_deduplication_window = 10000" in tables["otelguard.spans_local"]
    assert "non_replicated" not in tables["otelguard.spans_local"]
    assert "TTL toDateTime(start_time) + INTERVAL 30 DAY" in tables["otelguard.spans_local"]
    assert tables["otelguard.spans"].endswith(
        "AS `otelguard`.`spans_local`\n"
        "ENGINE = Distributed('prod', 'otelguard', 'spans_local', cityHash64(trace_id))"
    )
    assert (
        "Distributed('prod', 'otelguard', 'traces_local', cityHash64(trace_id))" in tables["otelguard.traces"]
    )
    assert "Distributed('prod', 'otelguard', 'scores_local', rand())" in tables["otelguard.scores"]
    mv = tables["otelguard.traces_mv"]
    assert "TO `otelguard`.`traces_local`" in mv and "FROM `otelguard`.`spans_local`" in mv
    # Every statement that creates rows storage is Replicated; Distributed ones have no TTL.
    for name, text in tables.items():
        if name.endswith("_local"):
            assert "ENGINE = Replicated" in text
        if "Distributed(" in text:
            assert "TTL" not in text


def test_ttl_statements() -> None:
    by_table = {t.table: t for t in ttl_targets(None)}
    assert set(by_table) == {"spans", "traces", "scores", "guardrail_events", "trace_index"}
    assert (
        ttl_statement(by_table["spans"], database="og", retention=R, cluster=None)
        == "ALTER TABLE `og`.`spans` MODIFY TTL toDateTime(start_time) + INTERVAL 30 DAY"
    )
    assert (
        ttl_statement(by_table["scores"], database="og", retention=Retention(), cluster=None)
        == "ALTER TABLE `og`.`scores` REMOVE TTL"
    )
    local = {t.table: t for t in ttl_targets("c1")}
    assert set(local) == {
        "spans_local",
        "traces_local",
        "scores_local",
        "guardrail_events_local",
        "trace_index_local",
    }
    assert (
        ttl_statement(local["guardrail_events_local"], database="og", retention=R, cluster="c1")
        == "ALTER TABLE `og`.`guardrail_events_local` ON CLUSTER `c1` "
        "MODIFY TTL toDateTime(timestamp) + INTERVAL 14 DAY"
    )


def test_parse_ttl_days() -> None:
    assert parse_ttl_days("MergeTree ORDER BY x TTL toDateTime(t) + toIntervalDay(30) SETTINGS a = 1") == 30
    assert parse_ttl_days("MergeTree ORDER BY x SETTINGS ttl_only_drop_parts = 1") == 0
    assert parse_ttl_days("MergeTree ORDER BY x TTL t + toIntervalMonth(1)") is None


@pytest.mark.parametrize("database", ["", "1abc", "a-b", "a.b", "a`b", "x" * 129, "a b"])
def test_bad_database_names(database: str) -> None:
    with pytest.raises(ValueError):
        render_ddl(database=database, retention=R, cluster=None)


@pytest.mark.parametrize("cluster", ["", "a b", "a`b", "a'b", "-x"])
def test_bad_cluster_names(cluster: str) -> None:
    with pytest.raises(ValueError):
        render_ddl(database="og", retention=R, cluster=cluster)


@pytest.mark.parametrize("days", [-1, 36501, True, 1.5, "3"])
def test_bad_retention(days: object) -> None:
    with pytest.raises(ValueError):
        Retention(spans_days=days)  # type: ignore[arg-type]


def test_every_table_is_project_led() -> None:
    for spec in TABLES.values():
        assert spec.order_by.startswith("(project_id,"), spec.name
