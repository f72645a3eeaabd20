"""Versioned schema migrations: ``migrations/NNNN_name.sql`` files applied once each, in order.

A feature adds a new file; applied files are immutable (their SHA-256 is recorded and checked). Every
migration runs in its own transaction together with its ``schema_migrations`` row, so a failure leaves
the database at the previous version. A session advisory lock serialises concurrent ``migrate`` calls,
e.g. several API pods or an API and a worker starting at the same moment.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import cast

import psycopg
from psycopg.rows import TupleRow

from otelguard.storage.postgres.database import Database

__all__ = ["Migration", "MigrationError", "load_migrations", "migrate"]

_log = logging.getLogger(__name__)

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# Arbitrary constant key for pg_advisory_lock; advisory locks are scoped per database, so this only
# serialises migrators of the same database.
_LOCK_KEY = 0x6F74_656C_6D69_6772  # "otelmigr"


class MigrationError(RuntimeError):
    """Migration files are inconsistent with each other or with what the database has applied."""


@dataclass(frozen=True, slots=True)
class Migration:
    id: str  # file stem, e.g. "0001_projects_and_keys"
    sql: str
    checksum: str  # SHA-256 hex of the file bytes


def _default_source() -> Traversable:
    return files("otelguard.storage.postgres") / "migrations"


def load_migrations(source: Traversable | None = None) -> list[Migration]:
    """Read ``NNNN_name.sql`` files from ``source`` (default: the packaged directory), sorted by number."""
    found: dict[str, Migration] = {}
    for entry in (source or _default_source()).iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _NAME.match(entry.name)
        if match is None:
            raise MigrationError(f"migration file {entry.name!r} is not named NNNN_lowercase_name.sql")
        number = match.group(1)
        if number in found:
            raise MigrationError(f"two migrations share number {number}: {found[number].id}, {entry.name}")
        data = entry.read_bytes()
        found[number] = Migration(entry.name[:-4], data.decode("utf-8"), hashlib.sha256(data).hexdigest())
    return [found[n] for n in sorted(found)]


def migrate(db: Database, migrations: list[Migration] | None = None) -> list[str]:
    """Apply pending migrations; return the ids applied by this call (empty when up to date)."""
    pending_source = load_migrations() if migrations is None else migrations
    with db.connection() as conn:
        # Autocommit so that the lock statements stay outside the per-migration transactions below.
        conn.autocommit = True
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
            try:
                return _apply(conn, pending_source)
            finally:
                # Session-level locks outlive the borrow, so release before the connection is returned.
                if not conn.closed:
                    conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
        finally:
            if not conn.closed:
                conn.autocommit = False


def _apply(conn: psycopg.Connection[TupleRow], migrations: list[Migration]) -> list[str]:
    conn.execute(
        """CREATE TABLE IF NOT EXISTS schema_migrations (
               id text PRIMARY KEY,
               checksum text NOT NULL,
               applied_at timestamptz NOT NULL DEFAULT now()
           )"""
    )
    applied = dict(
        cast(list[tuple[str, str]], conn.execute("SELECT id, checksum FROM schema_migrations").fetchall())
    )
    known = {m.id for m in migrations}
    for m in migrations:
        if m.id in applied and applied[m.id] != m.checksum:
            raise MigrationError(
                f"migration {m.id} was applied with checksum {applied[m.id]} but its file now has "
                f"{m.checksum}; applied migrations are immutable, add a new NNNN_*.sql file instead"
            )
    # Like Flyway's default, tolerate migrations from a newer build (e.g. during a rolling upgrade).
    for unknown in sorted(set(applied) - known):
        _log.warning("database has migration %s that this version of OTelGuard does not know", unknown)

    done: list[str] = []
    for m in migrations:
        if m.id in applied:
            continue
        with conn.transaction():
            # Sent without parameters (simple query protocol), so one file may hold several statements.
            conn.execute(m.sql)
            conn.execute("INSERT INTO schema_migrations (id, checksum) VALUES (%s, %s)", (m.id, m.checksum))
        _log.info("applied migration %s", m.id)
        done.append(m.id)
    return done
