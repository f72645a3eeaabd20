"""Rebuilding the spans table under a setting ClickHouse cannot ALTER (``index_granularity``).

The rows are copied into a new table created from the current spec (same columns, keys, indexes and
TTL), which then takes the old one's name with ``EXCHANGE TABLES`` (atomic); the old copy is dropped.
The materialized views reading ``spans`` and the Distributed table over ``spans_local`` follow the
name, so inserts keep feeding them; the copy goes into a table no view reads, so ``traces`` and
``trace_index`` are not fed twice.

Spans inserted while the rebuild runs (an external server or a cluster whose collectors keep writing)
are not lost: before the copy starts, a materialized view (``spans_0006_tee``) mirrors every insert into
the live table into the copy, until the exchange — and an insert still in flight across the exchange
reaches both tables (ClickHouse binds it to the table objects, not names), so the new one has it. A span
inserted as the copy's snapshot is taken lands in the copy twice; the table is a ReplacingMergeTree on
(…, span_id) with the same version, so the two collapse (reads deduplicate already). After the exchange
the view (source and target are names) mirrors the new live table into the old one until it is dropped,
which is harmless; it never loops. The embedded engine
migrates before the collector starts, so there nothing is written meanwhile.

Crash-safe: a run first drops a tee and copy left by an interrupted one, and once the exchange is done the
live table has the new setting, so a re-run finds nothing to do.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from otelguard.storage.clickhouse.ddl import (
    SPANS,
    SPANS_INDEX_GRANULARITY,
    Retention,
    TableSpec,
    create_table,
    local_name,
    parse_ttl_days,
    validate_cluster,
)
from otelguard.storage.clickhouse.transport import ClickHouseTransport, quote_identifier, validate_identifier

__all__ = ["DEFAULT_INDEX_GRANULARITY", "RebuildPlan", "index_granularity", "rebuild_plan", "rebuild_spans"]

DEFAULT_INDEX_GRANULARITY = 8192  # ClickHouse's, when the table's SETTINGS do not name one
_GRANULARITY = re.compile(r"\bindex_granularity = (\d+)")
_SPANS_COPY = "spans_0006"  # named after the migration, so a later rebuild gets fresh replica paths


@dataclass(frozen=True, slots=True)
class RebuildPlan:
    """The statements of one rebuild, in the order they run."""

    prepare: list[str]  # drop a leftover tee/copy; create the copy (+ Distributed) and the tee view
    copy: str  # INSERT ... SELECT every row
    exchange: str  # the copy takes the live table's name (and the old table the copy's)
    drop: list[str]  # drop the tee view and the table under the copy's name


def index_granularity(engine_full: str) -> int:
    """The ``index_granularity`` in ``system.tables.engine_full``."""
    match = _GRANULARITY.search(engine_full)
    return int(match.group(1)) if match else DEFAULT_INDEX_GRANULARITY


def _q(database: str, table: str) -> str:
    return f"{quote_identifier(database)}.{quote_identifier(table)}"


def rebuild_plan(
    spec: TableSpec, *, database: str, retention: Retention, cluster: str | None, copy_name: str
) -> RebuildPlan:
    """Statements rebuilding ``spec``'s table as ``spec`` renders it now (through ``copy_name``).

    On a cluster the physical ``*_local`` tables are exchanged on every node, and rows are copied
    through Distributed tables (sharded alike, so each row lands on the shard it came from).
    """
    validate_identifier(database)
    validate_identifier(copy_name)
    cluster = validate_cluster(cluster)
    on_cluster = f" ON CLUSTER {quote_identifier(cluster)}" if cluster else ""
    copy_spec = dataclasses.replace(spec, name=copy_name)
    live, copy = _q(database, spec.name), _q(database, copy_name)
    tee = _q(database, f"{copy_name}_tee")
    drops = [f"DROP VIEW IF EXISTS {tee}{on_cluster} SYNC", f"DROP TABLE IF EXISTS {copy}{on_cluster} SYNC"]
    if cluster:
        drops.append(f"DROP TABLE IF EXISTS {_q(database, local_name(copy_name, cluster))}{on_cluster} SYNC")
    columns = ", ".join(quote_identifier(name) for name, _ in spec.columns)
    # On each node, inserts into the physical live table are mirrored into the physical copy (same shard).
    create_tee = (
        f"CREATE MATERIALIZED VIEW {tee}{on_cluster}\n"
        f"TO {_q(database, local_name(copy_name, cluster))}\n"
        f"AS SELECT {columns} FROM {_q(database, local_name(spec.name, cluster))}"
    )
    # no dedup: a re-run starts from an empty copy; foreground: the rows are on the shards when it returns
    settings = "insert_deduplicate = 0" + (", distributed_foreground_insert = 1" if cluster else "")
    insert = f"INSERT INTO {copy} ({columns})\nSELECT {columns} FROM {live}"
    exchange = (
        f"EXCHANGE TABLES {_q(database, local_name(spec.name, cluster))} "
        f"AND {_q(database, local_name(copy_name, cluster))}{on_cluster}"
    )
    return RebuildPlan(
        prepare=[
            *drops,
            *create_table(copy_spec, database=database, retention=retention, cluster=cluster),
            create_tee,
        ],
        copy=f"{insert}\nSETTINGS {settings}",
        exchange=exchange,
        drop=drops,
    )


def rebuild_spans(transport: ClickHouseTransport, *, database: str, cluster: str | None) -> bool:
    """Rebuild ``spans`` if its granularity is not ``SPANS_INDEX_GRANULARITY``; True if it was.

    The copy keeps the table's current TTL (``migrate`` reconciles it with the wanted retention after).
    """
    engine = _engine_full(transport, database, local_name(SPANS.name, validate_cluster(cluster)))
    if engine is None or index_granularity(engine) == SPANS_INDEX_GRANULARITY:
        return False
    ttl_days = parse_ttl_days(engine)
    if ttl_days is None:  # a TTL this code did not write: leave the table as it is rather than lose it
        return False
    plan = rebuild_plan(
        SPANS,
        database=database,
        retention=Retention(spans_days=ttl_days),
        cluster=cluster,
        copy_name=_SPANS_COPY,
    )
    for statement in plan.prepare:
        transport.command(statement)
    transport.command(plan.copy)
    live = _engine_full(transport, database, local_name(SPANS.name, cluster))
    swapped = live is None or index_granularity(live) != SPANS_INDEX_GRANULARITY
    if swapped:  # (else another process migrating the same server swapped its copy in meanwhile)
        transport.command(plan.exchange)
    for statement in plan.drop:
        transport.command(statement)
    return swapped


def _engine_full(transport: ClickHouseTransport, database: str, table: str) -> str | None:
    rows = transport.query(
        "SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {name:String}",
        {"db": validate_identifier(database), "name": table},
    )
    return str(rows[0]["engine_full"]) if rows else None
