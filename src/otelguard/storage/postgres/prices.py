"""Per-project model price overrides (validated by the caller with ``otelguard.semconv.PriceTable``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from psycopg.types.json import Jsonb

from otelguard.storage.postgres.database import Database

__all__ = ["get_price_overrides", "set_price_overrides"]


def set_price_overrides(
    db: Database, project_id: str, entries: Sequence[Mapping[str, Any]], *, actor: str = "cli"
) -> None:
    """Replace the project's overrides (an empty list removes them)."""
    with db.connection() as conn:
        if entries:
            conn.execute(
                "INSERT INTO price_overrides (project_id, entries) VALUES (%s, %s) "
                "ON CONFLICT (project_id) DO UPDATE SET entries = EXCLUDED.entries, updated_at = now()",
                (project_id, Jsonb(list(entries))),
            )
        else:
            conn.execute("DELETE FROM price_overrides WHERE project_id = %s", (project_id,))
        conn.execute(
            "INSERT INTO audit_log (actor, action, subject, detail) VALUES (%s, 'prices.set', %s, %s)",
            (actor, project_id, Jsonb({"entries": len(entries)})),
        )


def get_price_overrides(db: Database, project_id: str) -> list[dict[str, Any]]:
    with db.connection() as conn:
        row = conn.execute(
            "SELECT entries FROM price_overrides WHERE project_id = %s", (project_id,)
        ).fetchone()
    return list(row[0]) if row else []
