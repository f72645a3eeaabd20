"""Score configs per project: upsert, get, list (validated ``ScoreConfig`` in, stored rows out).

Every write is recorded in ``audit_log`` in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb
from pydantic import Field

from otelguard.storage.postgres.database import Database
from otelguard.storage.score_validation import ScoreConfig

__all__ = [
    "StoredScoreConfig",
    "get_score_config",
    "get_score_configs",
    "list_score_configs",
    "upsert_score_config",
]

_COLUMNS = "name, data_type, min_value, max_value, categories, description, created_at, updated_at"


class StoredScoreConfig(ScoreConfig):
    created_at: datetime = Field(description="First written")
    updated_at: datetime = Field(description="Last changed")


def _row(row: tuple[Any, ...]) -> StoredScoreConfig:
    name, data_type, lo, hi, categories, description, created, updated = row
    # Rows were validated on the way in; construct without re-running the cross-field checks.
    return StoredScoreConfig.model_construct(
        name=name,
        data_type=data_type,
        min_value=lo,
        max_value=hi,
        categories=list(categories),
        description=description,
        created_at=created,
        updated_at=updated,
    )


def upsert_score_config(
    db: Database, project_id: str, config: ScoreConfig, *, actor: str = "api"
) -> tuple[StoredScoreConfig, bool]:
    """Create or replace the config of ``config.name``; returns it and whether it was created."""
    with db.connection() as conn:
        row = conn.execute(
            "INSERT INTO score_configs (project_id, name, data_type, min_value, max_value, categories, "
            "description) VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (project_id, name) DO UPDATE SET data_type = EXCLUDED.data_type, "
            "min_value = EXCLUDED.min_value, max_value = EXCLUDED.max_value, "
            "categories = EXCLUDED.categories, description = EXCLUDED.description, updated_at = now() "
            f"RETURNING {_COLUMNS}, (xmax = 0) AS created",
            (
                project_id,
                config.name,
                config.data_type,
                config.min_value,
                config.max_value,
                Jsonb(config.categories),
                config.description,
            ),
        ).fetchone()
        assert row is not None
        created = bool(row[-1])
        conn.execute(
            "INSERT INTO audit_log (actor, action, subject, detail) "
            "VALUES (%s, 'score_config.upsert', %s, %s)",
            (actor, config.name, Jsonb({"project_id": project_id, "data_type": config.data_type})),
        )
    return _row(row[:-1]), created


def get_score_config(db: Database, project_id: str, name: str) -> StoredScoreConfig | None:
    with db.connection() as conn:
        row = conn.execute(
            f"SELECT {_COLUMNS} FROM score_configs WHERE project_id = %s AND name = %s", (project_id, name)
        ).fetchone()
    return _row(row) if row else None


def get_score_configs(db: Database, project_id: str, names: Iterable[str]) -> dict[str, StoredScoreConfig]:
    """The configs of those ``names`` that have one (one query, for validating a batch)."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    with db.connection() as conn:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM score_configs WHERE project_id = %s AND name = ANY(%s)",
            (project_id, wanted),
        ).fetchall()
    return {c.name: c for c in map(_row, rows)}


def list_score_configs(db: Database, project_id: str) -> list[StoredScoreConfig]:
    with db.connection() as conn:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM score_configs WHERE project_id = %s ORDER BY name", (project_id,)
        ).fetchall()
    return [_row(r) for r in rows]
