"""Resolving a key's public part alone, for endpoints a browser calls (user feedback).

A public key is not a secret: it identifies a project for write-only, rate-limited endpoints and must
never grant reads. Revoked keys resolve to nothing.
"""

from __future__ import annotations

from otelguard.storage.postgres.database import Database
from otelguard.storage.postgres.projects import KeyIdentity

__all__ = ["MAX_PUBLIC_KEY_LENGTH", "identify_public_key"]

MAX_PUBLIC_KEY_LENGTH = 128


def identify_public_key(db: Database, public_key: str) -> KeyIdentity | None:
    """The project of the active key with this public key, else None."""
    if not public_key or len(public_key) > MAX_PUBLIC_KEY_LENGTH:
        return None
    with db.connection() as conn:
        row = conn.execute(
            "SELECT p.id, p.name, k.public_key FROM api_keys k JOIN projects p ON p.id = k.project_id "
            "WHERE k.public_key = %s AND k.revoked_at IS NULL",
            (public_key,),
        ).fetchone()
    if row is None:
        return None
    return KeyIdentity(project_id=row[0], project_name=row[1], public_key=row[2])
