"""Configuration rows reconciled from custom resources (table ``resources``).

Writes are idempotent and quiet: an upsert of unchanged content touches no row (so a resync of an
unchanged resource writes nothing), and a changed row is announced with ``NOTIFY otelguard_config``
(payload: JSON kind/namespace/name/version/deleted) so readers can hot-reload, plus an ``audit_log`` row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import TupleRow, class_row
from psycopg.types.json import Jsonb

from otelguard.storage.postgres.database import Database

__all__ = [
    "CONFIG_CHANNEL",
    "StoredResource",
    "Upserted",
    "delete_resource",
    "get_resource",
    "list_resources",
    "upsert_resource",
]

CONFIG_CHANNEL = "otelguard_config"
_COLUMNS = "kind, namespace, name, uid, generation, labels, spec, spec_hash, version, created_at, updated_at"

# ``version``: None bumps it when spec_hash changes; an int (a Prompt's content version) sets it.
_UPSERT = """
INSERT INTO resources AS r (kind, namespace, name, uid, generation, labels, spec, spec_hash, version)
VALUES (%(kind)s, %(namespace)s, %(name)s, %(uid)s, %(generation)s, %(labels)s, %(spec)s, %(spec_hash)s,
        COALESCE(%(version)s::int, 1))
ON CONFLICT (kind, namespace, name) DO UPDATE SET
    uid = excluded.uid,
    generation = excluded.generation,
    labels = excluded.labels,
    spec = excluded.spec,
    spec_hash = excluded.spec_hash,
    version = CASE
        WHEN %(version)s::int IS NOT NULL THEN %(version)s::int
        WHEN r.spec_hash = excluded.spec_hash THEN r.version
        ELSE r.version + 1 END,
    updated_at = now()
WHERE (r.uid, r.generation, r.labels, r.spec, r.spec_hash, r.version)
    IS DISTINCT FROM (excluded.uid, excluded.generation, excluded.labels, excluded.spec, excluded.spec_hash,
                      COALESCE(%(version)s::int, r.version))
RETURNING version, (xmax = 0) AS inserted
"""


@dataclass(frozen=True, slots=True)
class StoredResource:
    kind: str
    namespace: str
    name: str
    uid: str | None
    generation: int | None
    labels: dict[str, str]
    spec: dict[str, Any]
    spec_hash: str
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Upserted:
    version: int
    written: bool  # False: the stored row already matched
    created: bool


def audit(
    conn: psycopg.Connection[TupleRow], actor: str, action: str, subject: str, detail: dict[str, Any]
) -> None:
    conn.execute(
        "INSERT INTO audit_log (actor, action, subject, detail) VALUES (%s, %s, %s, %s)",
        (actor, action, subject, Jsonb(detail)),
    )


def notify(conn: psycopg.Connection[TupleRow], payload: dict[str, Any]) -> None:
    # Delivered at commit, only if the transaction commits.
    conn.execute("SELECT pg_notify(%s, %s)", (CONFIG_CHANNEL, json.dumps(payload, sort_keys=True)))


def upsert_in(
    conn: psycopg.Connection[TupleRow],
    *,
    kind: str,
    namespace: str,
    name: str,
    uid: str | None,
    generation: int | None,
    labels: Mapping[str, str],
    spec: Mapping[str, Any],
    spec_hash: str,
    version: int | None = None,
    actor: str = "system",
) -> Upserted:
    """``upsert_resource`` inside the caller's transaction."""
    params = {
        "kind": kind,
        "namespace": namespace,
        "name": name,
        "uid": uid,
        "generation": generation,
        "labels": Jsonb(dict(labels)),
        "spec": Jsonb(dict(spec)),
        "spec_hash": spec_hash,
        "version": version,
    }
    row = conn.execute(_UPSERT, params).fetchone()
    if row is None:
        current = conn.execute(
            "SELECT version FROM resources WHERE kind = %s AND namespace = %s AND name = %s",
            (kind, namespace, name),
        ).fetchone()
        assert current is not None  # the conflicting row exists
        return Upserted(version=current[0], written=False, created=False)
    stored_version, created = row
    subject = f"{kind}/{namespace}/{name}"
    audit(conn, actor, "resource.apply", subject, {"version": stored_version, "generation": generation})
    notify(conn, {"kind": kind, "namespace": namespace, "name": name, "version": stored_version})
    return Upserted(version=stored_version, written=True, created=created)


def upsert_resource(
    db: Database,
    *,
    kind: str,
    namespace: str,
    name: str,
    uid: str | None,
    generation: int | None,
    labels: Mapping[str, str],
    spec: Mapping[str, Any],
    spec_hash: str,
    version: int | None = None,
    actor: str = "system",
) -> Upserted:
    """Store a resource's row; write nothing when it is unchanged. The version increments when
    ``spec_hash`` changes (a spec change with the same hash, or new labels, rewrites the row only)."""
    with db.connection() as conn:
        return upsert_in(
            conn,
            kind=kind,
            namespace=namespace,
            name=name,
            uid=uid,
            generation=generation,
            labels=labels,
            spec=spec,
            spec_hash=spec_hash,
            version=version,
            actor=actor,
        )


def delete_resource(db: Database, kind: str, namespace: str, name: str, *, actor: str = "system") -> int:
    """Delete a resource's row (a Prompt's versions and labels cascade); the number of rows deleted."""
    with db.connection() as conn:
        row = conn.execute(
            "DELETE FROM resources WHERE kind = %s AND namespace = %s AND name = %s RETURNING version",
            (kind, namespace, name),
        ).fetchone()
        if row is None:
            return 0
        audit(conn, actor, "resource.delete", f"{kind}/{namespace}/{name}", {"version": row[0]})
        notify(conn, {"kind": kind, "namespace": namespace, "name": name, "version": row[0], "deleted": True})
    return 1


def get_resource(db: Database, kind: str, namespace: str, name: str) -> StoredResource | None:
    with db.connection() as conn:
        cur = conn.cursor(row_factory=class_row(StoredResource))
        return cur.execute(
            f"SELECT {_COLUMNS} FROM resources WHERE kind = %s AND namespace = %s AND name = %s",
            (kind, namespace, name),
        ).fetchone()


def list_resources(
    db: Database, kind: str | None = None, namespace: str | None = None
) -> list[StoredResource]:
    """Rows of one kind and/or namespace (all when None), ordered by kind, namespace, name."""
    with db.connection() as conn:
        cur = conn.cursor(row_factory=class_row(StoredResource))
        return cur.execute(
            f"SELECT {_COLUMNS} FROM resources "
            "WHERE (%(kind)s::text IS NULL OR kind = %(kind)s) "
            "AND (%(ns)s::text IS NULL OR namespace = %(ns)s) ORDER BY kind, namespace, name",
            {"kind": kind, "ns": namespace},
        ).fetchall()
