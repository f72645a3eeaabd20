"""Projects and their API keys.

Only a SHA-256 of each secret is stored; the plaintext leaves this module once, in the ``IssuedKey``
returned by ``create_api_key``. Key creation and revocation are recorded in ``audit_log`` in the same
transaction as the change.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import TupleRow, class_row
from psycopg.types.json import Jsonb

from otelguard.storage.postgres.database import Database

__all__ = [
    "SECRET_MIN_LENGTH",
    "ApiKey",
    "IssuedKey",
    "KeyConflictError",
    "KeyIdentity",
    "Project",
    "create_api_key",
    "ensure_project",
    "get_project",
    "hash_secret",
    "list_api_keys",
    "list_projects",
    "revoke_api_key",
    "verify_api_key",
]

SECRET_MIN_LENGTH = 16
_SECRET_MAX_LENGTH = 1024  # anything longer is not one of our keys; don't hash megabytes of header
_PROJECT_NAME_MAX = 200
_PUBLIC_PREFIX = "pk-og-"
_SECRET_PREFIX = "sk-og-"
_DISPLAY_PREFIX_LEN = 8
# last_used_at is informational; writing it at most once a minute keeps auth read-only on hot paths.
_LAST_USED_RESOLUTION = "60 seconds"

_KEY_COLUMNS = "id, project_id, public_key, secret_prefix, note, created_at, last_used_at, revoked_at"
_INSERT_KEY = (
    "INSERT INTO api_keys (id, project_id, public_key, secret_hash, secret_prefix, note) "
    "VALUES (%s, %s, %s, %s, %s, %s)"
)


class KeyConflictError(ValueError):
    """A supplied secret is already used by a key of another project, or by a revoked key."""


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored key as listed to users: never includes the secret."""

    id: str
    project_id: str
    public_key: str
    secret_prefix: str
    note: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """The result of creating (or re-seeding) a key; the only place the plaintext secret appears."""

    id: str
    project_id: str
    public_key: str
    secret: str = field(repr=False)
    secret_prefix: str
    note: str
    created_at: datetime
    created: bool  # False when a supplied secret was already stored (idempotent seeding)


@dataclass(frozen=True, slots=True)
class KeyIdentity:
    """Who a verified key speaks for."""

    project_id: str
    project_name: str
    public_key: str


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def validate_secret(secret: str) -> None:
    if len(secret) < SECRET_MIN_LENGTH:
        raise ValueError(
            f"an API key secret (e.g. OTELGUARD_API_KEY) must be at least {SECRET_MIN_LENGTH} characters "
            f"long; got {len(secret)}"
        )
    if len(secret) > _SECRET_MAX_LENGTH:
        raise ValueError(f"an API key secret must be at most {_SECRET_MAX_LENGTH} characters long")
    # It travels in HTTP headers (Bearer, Basic, x-otelguard-api-key) and gRPC metadata.
    if not all("!" <= ch <= "~" for ch in secret):
        raise ValueError(
            "an API key secret must consist of printable ASCII characters without spaces "
            "(check for a trailing newline)"
        )


def derived_public_key(secret_hash: str) -> str:
    """The public key of a supplied secret: deterministic, so re-seeding finds the same key."""
    digest = hashlib.sha256(b"otelguard-public-key\0" + secret_hash.encode("ascii")).hexdigest()
    return _PUBLIC_PREFIX + digest[:16]


def _check_project_name(name: str) -> None:
    if not name or name != name.strip() or len(name) > _PROJECT_NAME_MAX:
        raise ValueError(
            f"project name must be 1-{_PROJECT_NAME_MAX} characters without surrounding spaces: {name!r}"
        )


def _audit(
    conn: psycopg.Connection[TupleRow], actor: str, action: str, subject: str, detail: dict[str, Any]
) -> None:
    conn.execute(
        "INSERT INTO audit_log (actor, action, subject, detail) VALUES (%s, %s, %s, %s)",
        (actor, action, subject, Jsonb(detail)),
    )


def ensure_project(db: Database, name: str, *, actor: str = "system") -> Project:
    """Return the project called ``name``, creating it if needed (safe to call concurrently)."""
    _check_project_name(name)
    with db.connection() as conn:
        cur = conn.cursor(row_factory=class_row(Project))
        created = cur.execute(
            "INSERT INTO projects (id, name) VALUES (%s, %s) ON CONFLICT (name) DO NOTHING "
            "RETURNING id, name, created_at",
            (str(uuid.uuid4()), name),
        ).fetchone()
        if created is not None:
            _audit(conn, actor, "project.create", name, {"project_id": created.id})
            return created
        existing = cur.execute(
            "SELECT id, name, created_at FROM projects WHERE name = %s", (name,)
        ).fetchone()
    if existing is None:  # only if deleted between the two statements
        raise RuntimeError(f"project {name!r} vanished while being ensured")
    return existing


def get_project(db: Database, name: str) -> Project | None:
    with db.connection() as conn:
        cur = conn.cursor(row_factory=class_row(Project))
        return cur.execute("SELECT id, name, created_at FROM projects WHERE name = %s", (name,)).fetchone()


def list_projects(db: Database) -> list[Project]:
    with db.connection() as conn:
        cur = conn.cursor(row_factory=class_row(Project))
        return cur.execute("SELECT id, name, created_at FROM projects ORDER BY name").fetchall()


def create_api_key(
    db: Database, project_id: str, *, secret: str | None = None, note: str = "", actor: str = "system"
) -> IssuedKey:
    """Create a key for ``project_id``.

    Without ``secret`` a random one is generated. With ``secret`` (e.g. ``OTELGUARD_API_KEY``) the public
    key is derived from its hash, and seeding the same secret again returns the stored key unchanged.
    """
    seeded = secret is not None
    if secret is None:
        secret = _SECRET_PREFIX + secrets.token_urlsafe(32)
        public_key = _PUBLIC_PREFIX + secrets.token_hex(8)
    else:
        validate_secret(secret)
        public_key = derived_public_key(hash_secret(secret))
    secret_hash = hash_secret(secret)
    # A seeded secret may already be stored (every start seeds it again); a generated one never is.
    on_conflict = " ON CONFLICT (secret_hash) DO NOTHING" if seeded else ""
    with db.connection() as conn:
        cur = conn.cursor(row_factory=class_row(ApiKey))
        try:
            row = cur.execute(
                _INSERT_KEY + on_conflict + " RETURNING " + _KEY_COLUMNS,
                (str(uuid.uuid4()), project_id, public_key, secret_hash, secret[:_DISPLAY_PREFIX_LEN], note),
            ).fetchone()
        except psycopg.errors.ForeignKeyViolation as exc:
            raise LookupError(f"no project with id {project_id!r}") from exc
        if row is None:
            row = cur.execute(
                "SELECT " + _KEY_COLUMNS + " FROM api_keys WHERE secret_hash = %s", (secret_hash,)
            ).fetchone()
            assert row is not None  # the conflicting row exists; keys are never deleted
            if row.project_id != project_id:
                raise KeyConflictError("this secret is already the key of another project")
            if row.revoked_at is not None:
                raise KeyConflictError(
                    f"this secret belongs to key {row.public_key}, which was revoked; choose a new secret"
                )
            return _issued(row, secret, created=False)
        _audit(
            conn,
            actor,
            "api_key.create",
            public_key,
            {"project_id": project_id, "note": note, "seeded": seeded},
        )
    return _issued(row, secret, created=True)


def _issued(row: ApiKey, secret: str, *, created: bool) -> IssuedKey:
    return IssuedKey(
        id=row.id,
        project_id=row.project_id,
        public_key=row.public_key,
        secret=secret,
        secret_prefix=row.secret_prefix,
        note=row.note,
        created_at=row.created_at,
        created=created,
    )


def verify_api_key(db: Database, secret: str, public_key: str | None = None) -> KeyIdentity | None:
    """The identity of an active key with this secret (and this public key, when given), else None."""
    if not secret or len(secret) > _SECRET_MAX_LENGTH:
        return None
    with db.connection() as conn:
        row = conn.execute(
            "SELECT k.id, k.public_key, p.id, p.name, "
            "  k.last_used_at IS NULL OR k.last_used_at < now() - %s::interval "
            "FROM api_keys k JOIN projects p ON p.id = k.project_id "
            "WHERE k.secret_hash = %s AND k.revoked_at IS NULL",
            (_LAST_USED_RESOLUTION, hash_secret(secret)),
        ).fetchone()
        if row is None:
            return None
        key_id, stored_public, project_id, project_name, touch = row
        if public_key is not None and public_key != stored_public:
            return None
        if touch:
            conn.execute("UPDATE api_keys SET last_used_at = now() WHERE id = %s", (key_id,))
    return KeyIdentity(project_id=project_id, project_name=project_name, public_key=stored_public)


def revoke_api_key(db: Database, public_key: str, *, actor: str = "system") -> bool:
    """Revoke a key; False if it does not exist or was already revoked."""
    with db.connection() as conn:
        row = conn.execute(
            "UPDATE api_keys SET revoked_at = now() WHERE public_key = %s AND revoked_at IS NULL "
            "RETURNING project_id",
            (public_key,),
        ).fetchone()
        if row is None:
            return False
        _audit(conn, actor, "api_key.revoke", public_key, {"project_id": row[0]})
    return True


def list_api_keys(db: Database, project_id: str) -> list[ApiKey]:
    """All keys of a project, revoked ones included, oldest first. Secrets are never returned."""
    with db.connection() as conn:
        cur = conn.cursor(row_factory=class_row(ApiKey))
        return cur.execute(
            "SELECT " + _KEY_COLUMNS + " FROM api_keys WHERE project_id = %s ORDER BY created_at, id",
            (project_id,),
        ).fetchall()
