"""Custom resources of the local GitOps mode (table ``local_objects``): manifest, generation and status.

The local mode's stand-in for the API server's object store. Writes use optimistic concurrency like
Kubernetes: an update names the ``resource_version`` it read and fails with ``ConflictError`` when another
process (``otelguard up`` and ``otelguard apply`` may both reconcile) wrote in between; the caller re-reads
and retries. A write that would change nothing is skipped and reported as such.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from otelguard.storage.postgres.database import Database

__all__ = [
    "ConflictError",
    "LocalObject",
    "Put",
    "delete_local_object",
    "get_local_object",
    "list_local_objects",
    "put_local_object",
]

_COLUMNS = (
    "kind, namespace, name, generation, manifest, status, source, origin, resource_version, created_at, "
    "updated_at"
)

_INSERT = """
INSERT INTO local_objects (kind, namespace, name, generation, manifest, status, source, origin)
VALUES (%(kind)s, %(namespace)s, %(name)s, %(generation)s, %(manifest)s, %(status)s, %(source)s, %(origin)s)
ON CONFLICT (kind, namespace, name) DO NOTHING
RETURNING resource_version
"""

_UPDATE = """
UPDATE local_objects SET
    generation = %(generation)s,
    manifest = %(manifest)s,
    status = %(status)s,
    source = %(source)s,
    origin = %(origin)s,
    resource_version = nextval('local_objects_resource_version'),
    updated_at = now()
WHERE kind = %(kind)s AND namespace = %(namespace)s AND name = %(name)s
    AND resource_version = %(expected)s
    AND (generation, manifest, status, source, origin)
        IS DISTINCT FROM (%(generation)s::bigint, %(manifest)s::jsonb, %(status)s::jsonb, %(source)s::text,
                          %(origin)s::text)
RETURNING resource_version
"""


class ConflictError(RuntimeError):
    """The object changed (or appeared, or vanished) since it was read; re-read and retry."""


@dataclass(frozen=True, slots=True)
class LocalObject:
    kind: str
    namespace: str
    name: str
    generation: int
    manifest: dict[str, Any]
    status: dict[str, Any]
    source: str
    origin: str
    resource_version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Put:
    resource_version: int
    written: bool  # False: the stored object already matched


def get_local_object(db: Database, kind: str, namespace: str, name: str) -> LocalObject | None:
    with db.connection() as conn:
        cur = conn.cursor(row_factory=class_row(LocalObject))
        return cur.execute(
            f"SELECT {_COLUMNS} FROM local_objects WHERE kind = %s AND namespace = %s AND name = %s",
            (kind, namespace, name),
        ).fetchone()


def list_local_objects(
    db: Database, kind: str | None = None, namespace: str | None = None, source: str | None = None
) -> list[LocalObject]:
    """Objects filtered by kind, namespace and/or source (None: any), ordered by kind, namespace, name."""
    with db.connection() as conn:
        cur = conn.cursor(row_factory=class_row(LocalObject))
        return cur.execute(
            f"SELECT {_COLUMNS} FROM local_objects "
            "WHERE (%(kind)s::text IS NULL OR kind = %(kind)s) "
            "AND (%(ns)s::text IS NULL OR namespace = %(ns)s) "
            "AND (%(source)s::text IS NULL OR source = %(source)s) ORDER BY kind, namespace, name",
            {"kind": kind, "ns": namespace, "source": source},
        ).fetchall()


def put_local_object(
    db: Database,
    *,
    kind: str,
    namespace: str,
    name: str,
    generation: int,
    manifest: Mapping[str, Any],
    status: Mapping[str, Any],
    source: str,
    origin: str = "",
    expected_version: int | None,
) -> Put:
    """Create (``expected_version`` None) or update the object read at ``expected_version``.

    Raises ConflictError when the object exists on create, or is gone or was written since on update.
    An update that changes nothing writes nothing (``Put.written`` False).
    """
    params = {
        "kind": kind,
        "namespace": namespace,
        "name": name,
        "generation": generation,
        "manifest": Jsonb(dict(manifest)),
        "status": Jsonb(dict(status)),
        "source": source,
        "origin": origin,
        "expected": expected_version,
    }
    subject = f"{kind} {namespace}/{name}"
    with db.connection() as conn:
        if expected_version is None:
            row = conn.execute(_INSERT, params).fetchone()
            if row is None:
                raise ConflictError(f"{subject} already exists")
            return Put(int(row[0]), written=True)
        row = conn.execute(_UPDATE, params).fetchone()
        if row is not None:
            return Put(int(row[0]), written=True)
        current = conn.execute(
            "SELECT resource_version FROM local_objects WHERE kind = %s AND namespace = %s AND name = %s",
            (kind, namespace, name),
        ).fetchone()
    if current is None:
        raise ConflictError(f"{subject} was deleted meanwhile")
    if int(current[0]) != expected_version:
        raise ConflictError(f"{subject} was modified meanwhile (resourceVersion {current[0]})")
    return Put(expected_version, written=False)


def delete_local_object(
    db: Database, kind: str, namespace: str, name: str, *, expected_version: int | None = None
) -> bool:
    """Delete the object (only at ``expected_version`` when given); whether a row was deleted."""
    with db.connection() as conn:
        row = conn.execute(
            "DELETE FROM local_objects WHERE kind = %s AND namespace = %s AND name = %s "
            "AND (%s::bigint IS NULL OR resource_version = %s::bigint) RETURNING 1",
            (kind, namespace, name, expected_version, expected_version),
        ).fetchone()
    return row is not None
