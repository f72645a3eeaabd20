"""Prompt versions and labels (tables ``prompt_versions``, ``prompt_labels``).

Versions are immutable and content-addressed: each distinct ``content_hash`` of a prompt gets the next
number once; applying content that already has a version (also an earlier one, after a revert) reuses that
number. Labels point at versions; label moves are recorded in ``audit_log`` (who, generation, git revision).
One ``apply_prompt`` is one transaction, serialized per prompt by an advisory lock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import TupleRow, class_row
from psycopg.types.json import Jsonb

from otelguard.storage.postgres.database import Database
from otelguard.storage.postgres.resources import audit, notify, upsert_in

__all__ = [
    "PromptApplyResult",
    "PromptVersion",
    "apply_prompt",
    "get_prompt_labels",
    "get_prompt_version",
    "list_prompt_versions",
]

_KIND = "Prompt"
_VERSION_COLUMNS = (
    "namespace, name, version, content_hash, content, created_at, created_by, created_generation, "
    "git_revision"
)
_SELECT_VERSIONS = f"SELECT {_VERSION_COLUMNS} FROM prompt_versions WHERE namespace = %s AND name = %s"


@dataclass(frozen=True, slots=True)
class PromptVersion:
    namespace: str
    name: str
    version: int
    content_hash: str
    content: dict[str, Any]
    created_at: datetime
    created_by: str
    created_generation: int | None
    git_revision: str | None


@dataclass(frozen=True, slots=True)
class PromptApplyResult:
    version: int  # the version of the applied content
    created: bool  # a new version was stored
    max_version: int  # versions 1..max_version exist
    labels: dict[str, int]  # every stored label after the apply
    unknown: dict[str, int] = field(
        default_factory=dict
    )  # labels naming a missing version (left as they were)
    writes: int = 0  # rows inserted, updated or deleted (audit rows not counted)


def apply_prompt(
    db: Database,
    *,
    namespace: str,
    name: str,
    uid: str | None,
    generation: int | None,
    labels: Mapping[str, str],
    spec: Mapping[str, Any],
    spec_hash: str,
    content: Mapping[str, Any],
    content_hash: str,
    label_targets: Mapping[str, int | None],
    git_revision: str | None = None,
    actor: str = "system",
) -> PromptApplyResult:
    """Store the prompt's row, its content as a version (reused when known) and its labels.

    ``label_targets`` maps each label to a version number, or None for the applied content's version
    ("latest"). Labels not in it are removed. A label naming a version that does not exist is left as it
    was and reported in ``unknown``.
    """
    with db.connection() as conn:
        conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"{_KIND}/{namespace}/{name}",)
        )
        found = conn.execute(
            "SELECT version FROM prompt_versions WHERE namespace = %s AND name = %s AND content_hash = %s",
            (namespace, name, content_hash),
        ).fetchone()
        top = conn.execute(
            "SELECT COALESCE(max(version), 0) FROM prompt_versions WHERE namespace = %s AND name = %s",
            (namespace, name),
        ).fetchone()
        max_version = int(top[0]) if top else 0
        version = int(found[0]) if found else max_version + 1
        row = upsert_in(
            conn,
            kind=_KIND,
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
        writes = int(row.written)
        if not found:
            conn.execute(
                "INSERT INTO prompt_versions (namespace, name, version, content_hash, content, created_by, "
                "created_uid, created_generation, git_revision) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    namespace,
                    name,
                    version,
                    content_hash,
                    Jsonb(dict(content)),
                    actor,
                    uid,
                    generation,
                    git_revision,
                ),
            )
            audit(
                conn,
                actor,
                "prompt.version.create",
                f"{namespace}/{name}",
                _detail(version, generation, git_revision),
            )
            writes += 1
            max_version = version
        stored, unknown, label_writes = _apply_labels(
            conn, namespace, name, version, max_version, label_targets, generation, git_revision, actor
        )
        writes += label_writes
        if writes and not row.written:
            notify(conn, {"kind": _KIND, "namespace": namespace, "name": name, "version": version})
    return PromptApplyResult(version, not found, max_version, stored, unknown, writes)


def _detail(version: int, generation: int | None, git_revision: str | None) -> dict[str, Any]:
    return {"version": version, "generation": generation, "gitRevision": git_revision}


def _apply_labels(
    conn: psycopg.Connection[TupleRow],
    namespace: str,
    name: str,
    current: int,
    max_version: int,
    targets: Mapping[str, int | None],
    generation: int | None,
    git_revision: str | None,
    actor: str,
) -> tuple[dict[str, int], dict[str, int], int]:
    rows = conn.execute(
        "SELECT label, version FROM prompt_labels WHERE namespace = %s AND name = %s", (namespace, name)
    ).fetchall()
    stored: dict[str, int] = {label: int(v) for label, v in rows}
    unknown: dict[str, int] = {}
    writes = 0
    subject = f"{namespace}/{name}"
    for label, target in sorted(targets.items()):
        want = current if target is None else target
        if want > max_version:  # versions are never deleted, so 1..max_version all exist
            unknown[label] = want
            continue
        if stored.get(label) == want:
            continue
        conn.execute(
            "INSERT INTO prompt_labels (namespace, name, label, version, updated_generation, git_revision) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (namespace, name, label) DO UPDATE SET "
            "version = excluded.version, updated_at = now(), "
            "updated_generation = excluded.updated_generation, git_revision = excluded.git_revision",
            (namespace, name, label, want, generation, git_revision),
        )
        detail = {"label": label, "from": stored.get(label), **_detail(want, generation, git_revision)}
        audit(conn, actor, "prompt.label.move", subject, detail)
        stored[label] = want
        writes += 1
    for label in sorted(set(stored) - set(targets)):
        conn.execute(
            "DELETE FROM prompt_labels WHERE namespace = %s AND name = %s AND label = %s",
            (namespace, name, label),
        )
        audit(conn, actor, "prompt.label.delete", subject, {"label": label, "from": stored.pop(label)})
        writes += 1
    return dict(sorted(stored.items())), unknown, writes


def list_prompt_versions(db: Database, namespace: str, name: str) -> list[PromptVersion]:
    """Every version of a prompt, oldest first."""
    with db.connection() as conn:
        cur = conn.cursor(row_factory=class_row(PromptVersion))
        return cur.execute(
            _SELECT_VERSIONS + " ORDER BY version",
            (namespace, name),
        ).fetchall()


def get_prompt_version(
    db: Database, namespace: str, name: str, *, version: int | None = None, label: str | None = None
) -> PromptVersion | None:
    """One version by number or by label (exactly one of them)."""
    if (version is None) == (label is None):
        raise ValueError("pass exactly one of version or label")
    with db.connection() as conn:
        cur = conn.cursor(row_factory=class_row(PromptVersion))
        if label is not None:
            return cur.execute(
                f"SELECT {', '.join('v.' + c for c in _VERSION_COLUMNS.split(', '))} FROM prompt_versions v "
                "JOIN prompt_labels l USING (namespace, name, version) "
                "WHERE v.namespace = %s AND v.name = %s AND l.label = %s",
                (namespace, name, label),
            ).fetchone()
        return cur.execute(
            _SELECT_VERSIONS + " AND version = %s",
            (namespace, name, version),
        ).fetchone()


def get_prompt_labels(db: Database, namespace: str, name: str) -> dict[str, int]:
    with db.connection() as conn:
        rows = conn.execute(
            "SELECT label, version FROM prompt_labels WHERE namespace = %s AND name = %s ORDER BY label",
            (namespace, name),
        ).fetchall()
    return {label: int(v) for label, v in rows}
