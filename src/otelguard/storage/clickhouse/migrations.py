"""Versioned, idempotent schema migrations, safe to run at every start (and concurrently).

Each migration has a stable id and a list of statements that are themselves idempotent
(``IF NOT EXISTS``), so a crash between a statement and the ``schema_migrations`` row only means the
migration is re-run. A migration's ``backfill`` statements (data, not schema: run by ``migrate`` after
its DDL, not part of ``render_ddl``) must be safe to repeat too, and so must its ``upgrade`` (work that
looks at the server first: rebuilding a table created with older settings, see ``rebuild.py``).
Retention is reconciled after the migrations: a table whose TTL (read back from ``system.tables``)
differs from the wanted one gets ``ALTER TABLE ... MODIFY TTL`` (or ``REMOVE TTL``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from otelguard.storage.clickhouse.ddl import (
    GUARDRAIL_EVENTS,
    SCORES,
    SPANS,
    TRACE_INDEX,
    TRACES,
    Retention,
    backfill_trace_index,
    create_database,
    create_schema_migrations,
    create_table,
    create_trace_index_mv,
    create_traces_mv,
    parse_ttl_days,
    ttl_statement,
    ttl_targets,
    validate_cluster,
)
from otelguard.storage.clickhouse.rebuild import rebuild_spans
from otelguard.storage.clickhouse.transport import ClickHouseTransport, quote_identifier, validate_identifier

__all__ = ["MIGRATIONS", "Migration", "migrate", "render_ddl"]


@dataclass(frozen=True, slots=True)
class Migration:
    id: str
    render: Callable[[str, Retention, str | None], list[str]]  # (database, retention, cluster) -> statements
    backfill: Callable[[str, str | None], list[str]] | None = None  # (database, cluster) -> statements
    upgrade: Callable[[ClickHouseTransport, str, str | None], object] | None = None  # (t, database, cluster)


MIGRATIONS: tuple[Migration, ...] = (
    Migration("0001_spans", lambda db, r, c: create_table(SPANS, database=db, retention=r, cluster=c)),
    Migration(
        "0002_traces",
        lambda db, r, c: [
            *create_table(TRACES, database=db, retention=r, cluster=c),
            create_traces_mv(database=db, cluster=c),
        ],
    ),
    Migration("0003_scores", lambda db, r, c: create_table(SCORES, database=db, retention=r, cluster=c)),
    Migration(
        "0004_guardrail_events",
        lambda db, r, c: create_table(GUARDRAIL_EVENTS, database=db, retention=r, cluster=c),
    ),
    Migration(
        "0005_trace_index",
        lambda db, r, c: [
            *create_table(TRACE_INDEX, database=db, retention=r, cluster=c),
            create_trace_index_mv(database=db, cluster=c),
        ],
        # after the view exists, so no trace is missed; one inserted twice keeps the same bounds
        backfill=lambda db, c: [backfill_trace_index(database=db, cluster=c)],
    ),
    # spans get index_granularity 1024 from 0001 now; a table created before is copied over (rebuild.py)
    Migration(
        "0006_spans_granularity",
        lambda db, r, c: [],
        upgrade=lambda t, db, c: rebuild_spans(t, database=db, cluster=c),
    ),
)


def render_ddl(*, database: str, retention: Retention, cluster: str | None) -> list[str]:
    """Every statement of the full schema, in order (what ``migrate`` runs on an empty server)."""
    validate_identifier(database)
    validate_cluster(cluster)
    statements = [
        create_database(database, cluster),
        create_schema_migrations(database=database, cluster=cluster),
    ]
    for migration in MIGRATIONS:
        statements.extend(migration.render(database, retention, cluster))
    return statements


def migrate(
    transport: ClickHouseTransport,
    *,
    database: str | None = None,
    retention: Retention | None = None,
    cluster: str | None = None,
) -> list[str]:
    """Bring the schema up to date; return the ids of what was applied (empty when nothing changed).

    ``database`` defaults to the transport's. ``retention`` None leaves existing TTLs alone (new tables
    get none); a Retention is enforced on every call, and each table whose TTL changes is reported as
    ``ttl:<table>=<days>d``.
    """
    db = validate_identifier(database or transport.database)
    validate_cluster(cluster)
    transport.command(create_database(db, cluster))
    transport.command(create_schema_migrations(database=db, cluster=cluster))
    rows = transport.query(f"SELECT DISTINCT id FROM {quote_identifier(db)}.schema_migrations")
    done = {str(r["id"]) for r in rows}
    applied: list[str] = []
    creation_retention = retention or Retention()
    for migration in MIGRATIONS:
        if migration.id in done:
            continue
        for statement in migration.render(db, creation_retention, cluster):
            transport.command(statement)
        for statement in migration.backfill(db, cluster) if migration.backfill else ():
            transport.command(statement)
        if migration.upgrade is not None:
            migration.upgrade(transport, db, cluster)
        transport.command(
            f"INSERT INTO {quote_identifier(db)}.schema_migrations (id) SELECT {{id:String}}",
            {"id": migration.id},
        )
        applied.append(migration.id)
    if retention is not None:
        applied.extend(_reconcile_ttl(transport, db, retention, cluster))
    return applied


def _reconcile_ttl(
    transport: ClickHouseTransport, db: str, retention: Retention, cluster: str | None
) -> list[str]:
    rows = transport.query(
        "SELECT name, engine_full FROM system.tables WHERE database = {db:String}",
        {"db": db},
    )
    current = {str(r["name"]): parse_ttl_days(str(r["engine_full"])) for r in rows}
    changed: list[str] = []
    for target in ttl_targets(cluster):
        assert target.spec.retention_field is not None
        wanted = retention.days(target.spec.retention_field)
        have = current.get(target.table)
        if have == wanted or target.table not in current:
            continue
        transport.command(ttl_statement(target, database=db, retention=retention, cluster=cluster))
        changed.append(f"ttl:{target.table}={wanted}d")
    return changed
