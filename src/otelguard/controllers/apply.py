"""The I/O half of a reconcile: write a ``Desired``'s database configuration, run the storage step.

Kubernetes children are applied by the caller (operator: server-side apply); everything here goes
through ``otelguard.storage`` and is idempotent — applying an unchanged ``Desired`` reports 0 writes.
"""

from __future__ import annotations

import psycopg

from otelguard.controllers.base import MANAGED_BY, Applied, Desired, Failure, StorageConfig, StorageOutcome
from otelguard.controllers.prompt import include_failure, store_loader
from otelguard.storage import clickhouse, postgres

UNKNOWN_VERSION = "UnknownVersion"
STORAGE_ERRORS: tuple[type[Exception], ...] = (
    clickhouse.ClickHouseError,
    psycopg.OperationalError,
    postgres.DatabaseUnavailableError,
    postgres.MigrationError,
    ConnectionError,
    OSError,
)


def apply_db(db: postgres.Database, desired: Desired, *, actor: str = MANAGED_BY) -> Applied:
    """Write the desired rows. Nothing for an invalid or row-less ``Desired``. Database errors propagate
    (the caller retries and may report them with ``Applied.failed("StorageUnavailable", str(exc))``)."""
    if desired.invalid is not None or desired.db is None:
        return Applied()
    row, prompt = desired.db.row, desired.db.prompt
    if prompt is None:
        up = postgres.upsert_resource(
            db,
            kind=row.kind,
            namespace=row.namespace,
            name=row.name,
            uid=row.uid,
            generation=row.generation,
            labels=row.labels,
            spec=row.spec,
            spec_hash=row.spec_hash,
            actor=actor,
        )
        return Applied(writes=int(up.written), version=up.version)
    result = postgres.apply_prompt(
        db,
        namespace=row.namespace,
        name=row.name,
        uid=row.uid,
        generation=row.generation,
        labels=row.labels,
        spec=row.spec,
        spec_hash=row.spec_hash,
        content=prompt.content,
        content_hash=prompt.content_hash,
        label_targets=prompt.labels,
        git_revision=prompt.git_revision,
        actor=actor,
    )
    failure = None
    if result.unknown:
        missing = ", ".join(f"{label} -> {v}" for label, v in sorted(result.unknown.items()))
        failure = Failure(
            UNKNOWN_VERSION,
            f"spec.labels: no such version ({missing}); versions 1-{result.max_version} exist. "
            "The label is left where it was",
        )
    # Includes resolve against the store, the just-stored version included (cycles through it).
    includes = include_failure(prompt.content, store_loader(db, row.namespace), (row.name, result.version))
    if includes is not None:
        failure = (
            includes if failure is None else Failure(failure.reason, f"{failure.message}; {includes.message}")
        )
    return Applied(writes=result.writes, version=result.version, labels=result.labels, failure=failure)


def delete_db(db: postgres.Database, kind: str, namespace: str, name: str, *, actor: str = MANAGED_BY) -> int:
    """Remove a resource's rows (the finalizer's job); the number of resource rows deleted (0 or 1)."""
    return postgres.delete_resource(db, kind, namespace, name, actor=actor)


def apply_clickhouse(
    transport: clickhouse.ClickHouseTransport, retention: clickhouse.Retention, *, cluster: str | None = None
) -> list[str]:
    """ClickHouse DDL and TTLs; the migration ids and ``ttl:`` changes applied (empty when up to date)."""
    return clickhouse.migrate(transport, retention=retention, cluster=cluster)


def retention_of(storage: StorageConfig) -> clickhouse.Retention:
    return clickhouse.Retention(
        spans_days=storage.spans_days,
        scores_days=storage.scores_days,
        guardrail_events_days=storage.guardrail_events_days,
    )


def apply_storage(
    storage: StorageConfig,
    transport: clickhouse.ClickHouseTransport,
    db: postgres.Database | None = None,
) -> StorageOutcome:
    """OTelGuard's storage step: Postgres migrations (when ``db`` is given) and ClickHouse DDL + TTLs.

    Store errors become ``ok=False`` (StorageReady=False with the message) rather than an exception, so
    the children's result is still reported: pass ``Applied(storage=outcome)`` (plus any children
    failure) to ``status``. ``writes`` counts migrations and TTL changes (0 when up to date).
    """
    try:
        pg = postgres.migrate(db) if db is not None else []
        ch = apply_clickhouse(transport, retention_of(storage), cluster=storage.clickhouse_cluster)
    except STORAGE_ERRORS as exc:
        return StorageOutcome(ok=False, message=str(exc).strip() or type(exc).__name__)
    version = int(clickhouse.MIGRATIONS[-1].id.split("_", 1)[0])
    message = (
        f"ClickHouse schema {clickhouse.MIGRATIONS[-1].id}, TTL spans {storage.spans_days}d, scores "
        f"{storage.scores_days}d, guardrail events {storage.guardrail_events_days}d"
    )
    return StorageOutcome(ok=True, message=message, schema_version=version, writes=len(pg) + len(ch))
