"""Prompt versions and labels (tables ``prompt_versions``, ``prompt_labels``).

Versions are immutable and content-addressed: each distinct ``content_hash`` of a prompt gets the next
number once; applying content that already has a version (also an earlier one, after a revert) reuses that
number. Labels point at versions; label moves are recorded in ``audit_log`` (who, generation, git revision).
One ``apply_prompt`` is one transaction, serialized per prompt by an advisory lock.

Readers (the prompts API): ``list_prompts`` (filters), ``prompt_namespaces`` (which namespaces hold a
name), ``get_prompt_resource`` (the stored spec), versions and labels, and ``list_label_moves`` (the
label history from ``audit_log``, for regression checks).
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
    "LabelMove",
    "PromptApplyResult",
    "PromptListing",
    "PromptResource",
    "PromptVersion",
    "apply_prompt",
    "get_prompt_labels",
    "get_prompt_resource",
    "get_prompt_version",
    "list_label_moves",
    "list_prompt_versions",
    "list_prompts",
    "prompt_namespaces",
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
    return {str(label): int(v) for label, v in rows}


# -- readers of the prompts API ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PromptResource:
    """A Prompt's ``resources`` row: the spec as stored, its metadata labels, when it last changed."""

    spec: dict[str, Any]
    labels: dict[str, str]
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class PromptListing:
    namespace: str
    name: str
    current_version: int  # the version of the spec in git now
    latest_version: int | None  # the highest version number
    spec: dict[str, Any]
    metadata_labels: dict[str, str]
    labels: dict[str, int]  # label -> version, sorted by label
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class LabelMove:
    """One recorded label move (``prompt.label.move`` in ``audit_log``); ``from_version`` is None when
    the label was created."""

    label: str
    from_version: int | None
    to_version: int
    moved_at: datetime
    actor: str
    generation: int | None
    git_revision: str | None


def prompt_namespaces(db: Database, name: str) -> list[str]:
    """Namespaces holding a Prompt of this name, sorted."""
    with db.connection() as conn:
        rows = conn.execute(
            "SELECT namespace FROM resources WHERE kind = %s AND name = %s ORDER BY namespace", (_KIND, name)
        ).fetchall()
    return [str(r[0]) for r in rows]


def get_prompt_resource(db: Database, namespace: str, name: str) -> PromptResource | None:
    with db.connection() as conn:
        row = conn.execute(
            "SELECT spec, labels, updated_at FROM resources WHERE kind = %s AND namespace = %s AND name = %s",
            (_KIND, namespace, name),
        ).fetchone()
    return None if row is None else PromptResource(dict(row[0]), dict(row[1]), row[2])


def list_prompts(
    db: Database,
    *,
    name: str | None = None,
    label: str | None = None,
    tag: str | None = None,
    folder: str | None = None,
    limit: int = 500,
) -> list[PromptListing]:
    """Prompts of every namespace by (name, namespace). ``name``: the name contains it; ``label``: has
    that label; ``tag``: has that tag; ``folder``: in that folder or below it."""
    where = ["r.kind = %s"]
    args: list[Any] = [_KIND]
    if name:
        where.append("strpos(r.name, %s) > 0")
        args.append(name)
    if tag:
        where.append("r.spec->'tags' ? %s")
        args.append(tag)
    if folder:
        where.append("(r.spec->>'folder' = %s OR starts_with(r.spec->>'folder', %s))")
        args += [folder.rstrip("/"), folder.rstrip("/") + "/"]
    if label:
        where.append(
            "EXISTS (SELECT 1 FROM prompt_labels l WHERE l.namespace = r.namespace AND l.name = r.name "
            "AND l.label = %s)"
        )
        args.append(label)
    sql = (
        "SELECT r.namespace, r.name, r.version, r.spec, r.labels, r.updated_at, "
        "(SELECT max(v.version) FROM prompt_versions v WHERE v.namespace = r.namespace AND v.name = r.name), "
        "(SELECT COALESCE(jsonb_object_agg(l.label, l.version), '{}'::jsonb) FROM prompt_labels l "
        " WHERE l.namespace = r.namespace AND l.name = r.name) "
        f"FROM resources r WHERE {' AND '.join(where)} ORDER BY r.name, r.namespace LIMIT %s"
    )
    with db.connection() as conn:
        rows = conn.execute(sql, (*args, limit)).fetchall()
    return [
        PromptListing(
            namespace=ns,
            name=nm,
            current_version=int(current),
            latest_version=None if latest is None else int(latest),
            spec=dict(spec),
            metadata_labels=dict(meta),
            labels={str(k): int(v) for k, v in sorted(labels.items())},
            updated_at=updated,
        )
        for ns, nm, current, spec, meta, updated, latest, labels in rows
    ]


def list_label_moves(
    db: Database, namespace: str, name: str, *, label: str | None = None, limit: int = 100
) -> list[LabelMove]:
    """Recorded moves of the prompt's labels (or of one label), newest first.

    Moves are read from ``audit_log`` (subject ``namespace/name``), so they outlive the labels
    themselves; a label deleted and created again starts with ``from_version`` None.
    """
    sql = (
        "SELECT detail->>'label', detail->>'from', detail->>'version', at, actor, detail->>'generation', "
        "detail->>'gitRevision' FROM audit_log WHERE action = 'prompt.label.move' AND subject = %s"
    )
    args: list[Any] = [f"{namespace}/{name}"]
    if label is not None:
        sql += " AND detail->>'label' = %s"
        args.append(label)
    sql += " ORDER BY at DESC, id DESC LIMIT %s"
    with db.connection() as conn:
        rows = conn.execute(sql, (*args, limit)).fetchall()
    return [
        LabelMove(
            label=str(lbl),
            from_version=None if old is None else int(old),
            to_version=int(new),
            moved_at=at,
            actor=str(actor),
            generation=None if gen is None else int(gen),
            git_revision=rev,
        )
        for lbl, old, new, at, actor, gen, rev in rows
        if lbl is not None and new is not None
    ]
