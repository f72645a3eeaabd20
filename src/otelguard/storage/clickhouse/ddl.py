"""ClickHouse DDL for OTelGuard's tables, rendered for a single node or a cluster.

Single node: tables under their public names (``spans``, ``traces``, ``scores``, ``guardrail_events``).
Cluster (``cluster="name"``): every statement ``ON CLUSTER``; the data lives in ``*_local`` tables
(``Replicated*MergeTree`` at ``/clickhouse/tables/{shard}/{database}/{table}``) and the public names are
``Distributed`` tables over them. Spans and traces are sharded by ``cityHash64(trace_id)`` so every span
of a trace — and so its whole aggregate row — lives on one shard.

Design of the span table (one wide row per span):
- ``ORDER BY (project_id, toStartOfHour(start_time), trace_id, span_id)`` with daily partitions: a
  project's time range is a contiguous key range; within an hour a trace's spans are adjacent (fetching a
  trace reads a granule or two, and ids/texts of one trace compress together). A trace is found by id
  through the ``traces`` table (exact time bounds) plus a bloom filter on ``trace_id``.
- ``index_granularity = 1024`` rather than 8192: showing a trace decompresses the granule holding its
  spans in each of the ~40 columns, so a smaller granule is less work (at 1M spans 1,024 rows and
  1.4 MB read instead of 8,000 and 10.8 MB; trace detail p50 ~20 → ~14 ms); scans over hours of spans
  see more marks at no measurable cost. A table created with the default is rebuilt by migration
  ``0006`` (``rebuild.py``).
- ``ReplacingMergeTree(ingested_at)``: a span re-sent by an SDK retry collapses to one row on merge
  (readers also de-duplicate by ``span_id``); collector replays are dropped at insert by dedup tokens
  (``non_replicated_deduplication_window``).
- ``traces`` is an ``AggregatingMergeTree`` fed by a materialized view: one small row per trace and
  insert block, merged in the background, so listing traces scans ~1/N of the span rows and never
  touches the wide text columns. See ``traces.py`` for how it is queried.
- ``trace_index`` holds each trace's exact time bounds, ordered by ``(project_id, trace_id)`` in monthly
  partitions: finding a trace by id is a primary-key lookup in a few parts, where ``traces`` (daily
  partitions) would probe every day of history. Fed by its own materialized view; dropped by the spans
  retention a whole month at a time, so it always outlives the spans it points at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from otelguard.storage.clickhouse.transport import quote_identifier, quote_string, validate_identifier

__all__ = [
    "MAX_RETENTION_DAYS",
    "SPANS",
    "SPANS_COLUMNS",
    "SPANS_INDEX_GRANULARITY",
    "TABLES",
    "Retention",
    "TableSpec",
    "TtlTarget",
    "backfill_trace_index",
    "create_database",
    "create_schema_migrations",
    "create_table",
    "create_trace_index_mv",
    "create_traces_mv",
    "parse_ttl_days",
    "ttl_statement",
    "ttl_targets",
]

MAX_RETENTION_DAYS = 36500
SPANS_INDEX_GRANULARITY = 1024
_CLUSTER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*\Z")
_TS = "DateTime64(9, 'UTC')"


@dataclass(frozen=True, slots=True)
class Retention:
    """Days to keep each kind of data; 0 keeps it forever (no TTL)."""

    spans_days: int = 0
    scores_days: int = 0
    guardrail_events_days: int = 0

    def __post_init__(self) -> None:
        for name in ("spans_days", "scores_days", "guardrail_events_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_RETENTION_DAYS:
                raise ValueError(
                    f"Retention.{name} must be an integer in [0, {MAX_RETENTION_DAYS}], got {value!r}"
                )

    def days(self, field_name: str) -> int:
        value: int = getattr(self, field_name)
        return value


# The spans table: SpanRecord's fields in order (same names), then columns filled by ClickHouse.
SPANS_COLUMNS: tuple[tuple[str, str], ...] = (
    ("project_id", "LowCardinality(String)"),
    ("trace_id", "String CODEC(ZSTD(1))"),
    ("span_id", "String CODEC(ZSTD(1))"),
    ("parent_span_id", "String CODEC(ZSTD(1))"),
    ("start_time", f"{_TS} CODEC(Delta(8), ZSTD(1))"),
    ("end_time", f"{_TS} CODEC(Delta(8), ZSTD(1))"),
    ("name", "LowCardinality(String)"),
    ("kind", "LowCardinality(String)"),
    ("otel_kind", "LowCardinality(String)"),
    ("status_code", "LowCardinality(String)"),
    ("status_message", "String CODEC(ZSTD(3))"),
    ("service_name", "LowCardinality(String)"),
    ("scope_name", "LowCardinality(String)"),
    ("provider", "LowCardinality(String)"),
    ("model", "LowCardinality(String)"),
    ("request_model", "LowCardinality(String)"),
    ("usage", "Map(LowCardinality(String), UInt64) CODEC(ZSTD(1))"),
    ("cost", "Map(LowCardinality(String), Float64) CODEC(ZSTD(1))"),
    ("input_tokens", "UInt64 CODEC(T64, ZSTD(1))"),
    ("output_tokens", "UInt64 CODEC(T64, ZSTD(1))"),
    ("total_tokens", "UInt64 CODEC(T64, ZSTD(1))"),
    ("total_cost", "Float64 CODEC(ZSTD(1))"),
    ("cost_source", "LowCardinality(String)"),
    ("user_id", "String CODEC(ZSTD(1))"),
    ("session_id", "String CODEC(ZSTD(1))"),
    ("tags", "Array(String) CODEC(ZSTD(1))"),
    ("prompt_name", "LowCardinality(String)"),
    ("prompt_version", "UInt32"),
    ("input", "String CODEC(ZSTD(3))"),
    ("output", "String CODEC(ZSTD(3))"),
    ("input_size", "UInt64 CODEC(T64, ZSTD(1))"),
    ("output_size", "UInt64 CODEC(T64, ZSTD(1))"),
    ("input_truncated", "Bool"),
    ("output_truncated", "Bool"),
    ("error_type", "LowCardinality(String)"),
    ("error_message", "String CODEC(ZSTD(3))"),
    ("attributes", "Map(String, String) CODEC(ZSTD(3))"),
    ("resource_attributes", "Map(String, String) CODEC(ZSTD(3))"),
    ("events", "String CODEC(ZSTD(3))"),
    ("ingested_at", "DateTime64(3, 'UTC') DEFAULT now64(3) CODEC(Delta(8), ZSTD(1))"),
)

_TEXT_INDEX = "TYPE text(tokenizer = splitByNonAlpha, preprocessor = lower({col}))"


@dataclass(frozen=True, slots=True)
class TableSpec:
    """One MergeTree-family table (rendered as ``name`` or ``name_local`` + Distributed ``name``)."""

    name: str
    columns: tuple[tuple[str, str], ...]
    engine: str  # MergeTree, ReplacingMergeTree, AggregatingMergeTree
    order_by: str
    partition_by: str
    sharding_key: str
    engine_args: tuple[str, ...] = ()
    indexes: tuple[str, ...] = ()
    ttl_expr: str | None = None  # the DateTime expression the TTL counts from
    retention_field: str | None = None  # the Retention field giving the TTL's days
    settings: tuple[tuple[str, str], ...] = field(default=())


SPANS = TableSpec(
    name="spans",
    columns=SPANS_COLUMNS,
    engine="ReplacingMergeTree",
    engine_args=("ingested_at",),
    indexes=(
        "INDEX idx_trace_id trace_id TYPE bloom_filter(0.001) GRANULARITY 1",
        "INDEX idx_user_id user_id TYPE bloom_filter(0.01) GRANULARITY 1",
        "INDEX idx_session_id session_id TYPE bloom_filter(0.01) GRANULARITY 1",
        "INDEX idx_input input " + _TEXT_INDEX.format(col="input"),
        "INDEX idx_output output " + _TEXT_INDEX.format(col="output"),
    ),
    partition_by="toDate(start_time)",
    order_by="(project_id, toStartOfHour(start_time), trace_id, span_id)",
    ttl_expr="toDateTime(start_time)",
    retention_field="spans_days",
    settings=(("ttl_only_drop_parts", "1"), ("index_granularity", str(SPANS_INDEX_GRANULARITY))),
    sharding_key="cityHash64(trace_id)",
)

TRACES = TableSpec(
    name="traces",
    columns=(
        ("project_id", "LowCardinality(String)"),
        ("trace_id", "String"),
        ("start_time", f"SimpleAggregateFunction(min, {_TS})"),
        ("end_time", f"SimpleAggregateFunction(max, {_TS})"),
        ("root_name", "SimpleAggregateFunction(max, String)"),
        ("first_name", f"AggregateFunction(argMin, String, {_TS})"),
        ("user_id", "SimpleAggregateFunction(max, String)"),
        ("session_id", "SimpleAggregateFunction(max, String)"),
        ("models", "SimpleAggregateFunction(groupUniqArrayArray, Array(String))"),
        ("tags", "SimpleAggregateFunction(groupUniqArrayArray, Array(String))"),
        ("input_tokens", "SimpleAggregateFunction(sum, UInt64)"),
        ("output_tokens", "SimpleAggregateFunction(sum, UInt64)"),
        ("total_tokens", "SimpleAggregateFunction(sum, UInt64)"),
        ("total_cost", "SimpleAggregateFunction(sum, Float64)"),
        ("span_count", "SimpleAggregateFunction(sum, UInt64)"),
        ("error_count", "SimpleAggregateFunction(sum, UInt64)"),
    ),
    engine="AggregatingMergeTree",
    indexes=("INDEX idx_start_time start_time TYPE minmax GRANULARITY 1",),
    partition_by="toDate(start_time)",
    order_by="(project_id, trace_id)",
    ttl_expr="toDateTime(start_time)",
    retention_field="spans_days",
    settings=(("ttl_only_drop_parts", "1"),),
    sharding_key="cityHash64(trace_id)",
)

TRACE_INDEX = TableSpec(
    name="trace_index",
    columns=(
        ("project_id", "LowCardinality(String)"),
        ("trace_id", "String"),
        ("start_time", f"SimpleAggregateFunction(min, {_TS})"),
        ("end_time", f"SimpleAggregateFunction(max, {_TS})"),
    ),
    engine="AggregatingMergeTree",
    partition_by="toYYYYMM(start_time)",
    order_by="(project_id, trace_id)",
    ttl_expr="toDateTime(start_time)",
    retention_field="spans_days",
    settings=(("ttl_only_drop_parts", "1"),),
    sharding_key="cityHash64(trace_id)",
)

SCORES = TableSpec(
    name="scores",
    columns=(
        ("id", "String"),
        ("project_id", "LowCardinality(String)"),
        ("trace_id", "String"),
        ("span_id", "String"),
        ("session_id", "String"),
        ("name", "LowCardinality(String)"),
        ("value", "Float64"),
        ("string_value", "String"),
        ("data_type", "LowCardinality(String)"),
        ("source", "LowCardinality(String)"),
        ("comment", "String CODEC(ZSTD(3))"),
        ("evaluator_name", "LowCardinality(String)"),
        ("evaluator_version", "LowCardinality(String)"),
        ("timestamp", f"{_TS} CODEC(Delta(8), ZSTD(1))"),
        ("ingested_at", "DateTime64(3, 'UTC') DEFAULT now64(3)"),
    ),
    engine="ReplacingMergeTree",
    engine_args=("ingested_at",),
    indexes=(
        "INDEX idx_id id TYPE bloom_filter(0.01) GRANULARITY 1",
        "INDEX idx_trace_id trace_id TYPE bloom_filter(0.01) GRANULARITY 1",
        "INDEX idx_session_id session_id TYPE bloom_filter(0.01) GRANULARITY 1",
    ),
    partition_by="toYYYYMM(timestamp)",
    order_by="(project_id, toDate(timestamp), name, id)",
    ttl_expr="toDateTime(timestamp)",
    retention_field="scores_days",
    sharding_key="rand()",
)

GUARDRAIL_EVENTS = TableSpec(
    name="guardrail_events",
    columns=(
        ("id", "String"),
        ("project_id", "LowCardinality(String)"),
        ("trace_id", "String"),
        ("span_id", "String"),
        ("timestamp", f"{_TS} CODEC(Delta(8), ZSTD(1))"),
        ("policy", "LowCardinality(String)"),
        ("policy_version", "LowCardinality(String)"),
        ("rule", "LowCardinality(String)"),
        ("validator", "LowCardinality(String)"),
        ("stage", "LowCardinality(String)"),
        ("action", "LowCardinality(String)"),
        ("verdict", "LowCardinality(String)"),
        ("findings", "String CODEC(ZSTD(3))"),  # JSON text
        ("latency_us", "UInt64 CODEC(T64, ZSTD(1))"),
        ("shadow", "Bool"),
        ("ingested_at", "DateTime64(3, 'UTC') DEFAULT now64(3)"),
    ),
    engine="ReplacingMergeTree",
    engine_args=("ingested_at",),
    indexes=(
        "INDEX idx_trace_id trace_id TYPE bloom_filter(0.01) GRANULARITY 1",
        "INDEX idx_verdict verdict TYPE set(64) GRANULARITY 4",
    ),
    partition_by="toDate(timestamp)",
    order_by="(project_id, toStartOfHour(timestamp), policy, id)",
    ttl_expr="toDateTime(timestamp)",
    retention_field="guardrail_events_days",
    settings=(("ttl_only_drop_parts", "1"),),
    sharding_key="rand()",
)

# Only its engine is rendered through TableSpec; the table itself is created by create_schema_migrations.
_SCHEMA_MIGRATIONS = TableSpec(
    name="schema_migrations",
    columns=(("id", "String"), ("applied_at", "DateTime64(3, 'UTC') DEFAULT now64(3)")),
    engine="ReplacingMergeTree",
    engine_args=("applied_at",),
    order_by="id",
    partition_by="tuple()",
    sharding_key="rand()",
)

TABLES: dict[str, TableSpec] = {t.name: t for t in (SPANS, TRACES, SCORES, GUARDRAIL_EVENTS, TRACE_INDEX)}


def validate_cluster(cluster: str | None) -> str | None:
    if cluster is not None and (not _CLUSTER.match(cluster) or len(cluster) > 128):
        raise ValueError(f"not a valid cluster name: {cluster!r}")
    return cluster


def _on_cluster(cluster: str | None) -> str:
    return f" ON CLUSTER {quote_identifier(cluster)}" if cluster else ""


def _q(database: str, table: str) -> str:
    return f"{quote_identifier(database)}.{quote_identifier(table)}"


def local_name(name: str, cluster: str | None) -> str:
    """The table that physically holds the rows (``name_local`` in cluster mode)."""
    return f"{name}_local" if cluster else name


def _ttl_clause(spec: TableSpec, retention: Retention) -> str:
    if spec.ttl_expr is None or spec.retention_field is None:
        return ""
    days = retention.days(spec.retention_field)
    return f"\nTTL {spec.ttl_expr} + INTERVAL {days} DAY" if days > 0 else ""


def _engine(spec: TableSpec, cluster: str | None) -> str:
    args = list(spec.engine_args)
    engine = spec.engine
    if cluster:
        engine = "Replicated" + engine
        args = [
            quote_string("/clickhouse/tables/{shard}/{database}/{table}"),
            quote_string("{replica}"),
            *args,
        ]
    return f"{engine}({', '.join(args)})" if args else engine


def _settings(spec: TableSpec, cluster: str | None) -> str:
    dedup = "replicated_deduplication_window" if cluster else "non_replicated_deduplication_window"
    items = [(dedup, "10000"), *spec.settings]
    return ", ".join(f"{k} = {v}" for k, v in items)


def create_database(database: str, cluster: str | None) -> str:
    validate_identifier(database)
    return (
        f"CREATE DATABASE IF NOT EXISTS {quote_identifier(database)}{_on_cluster(validate_cluster(cluster))}"
    )


def create_table(spec: TableSpec, *, database: str, retention: Retention, cluster: str | None) -> list[str]:
    """The CREATE statements for one table (plus its Distributed table in cluster mode)."""
    validate_identifier(database)
    validate_cluster(cluster)
    physical = local_name(spec.name, cluster)
    body = ",\n".join(
        [*(f"    {quote_identifier(n)} {t}" for n, t in spec.columns), *(f"    {i}" for i in spec.indexes)]
    )
    statements = [
        f"CREATE TABLE IF NOT EXISTS {_q(database, physical)}{_on_cluster(cluster)}\n(\n{body}\n)\n"
        f"ENGINE = {_engine(spec, cluster)}\n"
        f"PARTITION BY {spec.partition_by}\n"
        f"ORDER BY {spec.order_by}"
        f"{_ttl_clause(spec, retention)}\n"
        f"SETTINGS {_settings(spec, cluster)}"
    ]
    if cluster:
        statements.append(
            _create_distributed(spec.name, spec.sharding_key, database=database, cluster=cluster)
        )
    return statements


def _create_distributed(name: str, sharding_key: str, *, database: str, cluster: str) -> str:
    local = local_name(name, cluster)
    return (
        f"CREATE TABLE IF NOT EXISTS {_q(database, name)}{_on_cluster(cluster)} AS {_q(database, local)}\n"
        f"ENGINE = Distributed({quote_string(cluster)}, {quote_string(database)}, {quote_string(local)}, "
        f"{sharding_key})"
    )


def create_traces_mv(*, database: str, cluster: str | None) -> str:
    """The materialized view folding each inserted block of spans into per-trace aggregate rows."""
    validate_identifier(database)
    validate_cluster(cluster)
    spans = local_name("spans", cluster)
    # Inside other aggregates, read the span columns qualified: ``start_time`` alone would resolve to
    # the alias of ``min(start_time)``.
    span_start = f"{_q(database, spans)}.start_time"
    span_end = f"{_q(database, spans)}.end_time"
    return (
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {_q(database, 'traces_mv')}{_on_cluster(cluster)}\n"
        f"TO {_q(database, local_name('traces', cluster))}\nAS SELECT\n"
        "    project_id,\n"
        "    trace_id,\n"
        "    min(start_time) AS start_time,\n"
        f"    max(greatest({span_end}, {span_start})) AS end_time,\n"
        "    max(if(parent_span_id = '', toString(name), '')) AS root_name,\n"
        f"    argMinState(toString(name), {span_start}) AS first_name,\n"
        "    max(user_id) AS user_id,\n"
        "    max(session_id) AS session_id,\n"
        "    groupUniqArrayIf(toString(model), model != '') AS models,\n"
        "    groupUniqArrayArray(tags) AS tags,\n"
        "    sum(input_tokens) AS input_tokens,\n"
        "    sum(output_tokens) AS output_tokens,\n"
        "    sum(total_tokens) AS total_tokens,\n"
        "    sum(total_cost) AS total_cost,\n"
        "    toUInt64(count()) AS span_count,\n"
        "    toUInt64(countIf(status_code = 'error')) AS error_count\n"
        f"FROM {_q(database, spans)}\n"
        "GROUP BY project_id, trace_id"
    )


def create_trace_index_mv(*, database: str, cluster: str | None) -> str:
    """The materialized view keeping each trace's time bounds in ``trace_index``."""
    validate_identifier(database)
    validate_cluster(cluster)
    spans = _q(database, local_name("spans", cluster))
    return (
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {_q(database, 'trace_index_mv')}{_on_cluster(cluster)}\n"
        f"TO {_q(database, local_name('trace_index', cluster))}\nAS SELECT\n"
        "    project_id,\n"
        "    trace_id,\n"
        "    min(start_time) AS start_time,\n"
        f"    max(greatest({spans}.end_time, {spans}.start_time)) AS end_time\n"
        f"FROM {spans}\n"
        "GROUP BY project_id, trace_id"
    )


def backfill_trace_index(*, database: str, cluster: str | None) -> str:
    """Copy the bounds of the traces already stored into ``trace_index`` (through the Distributed table on
    a cluster, which shards rows like the spans). Safe to repeat: min/max of repeated rows are unchanged."""
    validate_identifier(database)
    validate_cluster(cluster)
    return (
        f"INSERT INTO {_q(database, 'trace_index')} (project_id, trace_id, start_time, end_time)\n"
        f"SELECT project_id, trace_id, start_time, end_time FROM {_q(database, 'traces')}"
    )


def create_schema_migrations(*, database: str, cluster: str | None) -> str:
    validate_identifier(database)
    validate_cluster(cluster)
    engine = _engine(_SCHEMA_MIGRATIONS, cluster)
    return (
        f"CREATE TABLE IF NOT EXISTS {_q(database, 'schema_migrations')}{_on_cluster(cluster)}\n"
        "(\n    id String,\n    applied_at DateTime64(3, 'UTC') DEFAULT now64(3)\n)\n"
        f"ENGINE = {engine}\nORDER BY id"
    )


@dataclass(frozen=True, slots=True)
class TtlTarget:
    """A physical table whose TTL follows a retention field."""

    table: str  # physical name (``*_local`` in cluster mode)
    spec: TableSpec


def ttl_targets(cluster: str | None) -> list[TtlTarget]:
    return [TtlTarget(local_name(s.name, cluster), s) for s in TABLES.values() if s.retention_field]


def ttl_statement(target: TtlTarget, *, database: str, retention: Retention, cluster: str | None) -> str:
    """``ALTER TABLE ... MODIFY TTL`` for the retention, or ``REMOVE TTL`` when it is 0 (keep forever)."""
    assert target.spec.retention_field is not None and target.spec.ttl_expr is not None
    days = retention.days(target.spec.retention_field)
    head = f"ALTER TABLE {_q(database, target.table)}{_on_cluster(validate_cluster(cluster))}"
    if days == 0:
        return f"{head} REMOVE TTL"
    return f"{head} MODIFY TTL {target.spec.ttl_expr} + INTERVAL {days} DAY"


_TTL_DAYS = re.compile(r"\bTTL\b.*?\+\s*toIntervalDay\((\d+)\)")
_TTL_ANY = re.compile(r"\bTTL\b")


def parse_ttl_days(engine_full: str) -> int | None:
    """Days of the table TTL in ``system.tables.engine_full``: 0 for none, None if not understood."""
    match = _TTL_DAYS.search(engine_full)
    if match:
        return int(match.group(1))
    return None if _TTL_ANY.search(engine_full) else 0
