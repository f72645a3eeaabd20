from __future__ import annotations

import hashlib
import re
import threading
from typing import Any

import pytest

from otelguard.storage.postgres import (
    Database,
    KeyConflictError,
    create_api_key,
    ensure_project,
    get_project,
    hash_secret,
    list_api_keys,
    list_projects,
    revoke_api_key,
    verify_api_key,
)
from otelguard.storage.postgres.projects import derived_public_key

SEED = "seeded-secret-0123456789"


def _audit(db: Database) -> list[tuple[Any, ...]]:
    with db.connection() as conn:
        return conn.execute("SELECT actor, action, subject, detail FROM audit_log ORDER BY id").fetchall()


def test_ensure_project_is_idempotent(db: Database) -> None:
    first = ensure_project(db, "default")
    again = ensure_project(db, "default")
    assert again == first
    assert re.fullmatch(r"[0-9a-f-]{36}", first.id)
    assert get_project(db, "default") == first
    assert get_project(db, "missing") is None
    ensure_project(db, "alpha")
    assert [p.name for p in list_projects(db)] == ["alpha", "default"]
    assert [a[1] for a in _audit(db)] == ["project.create", "project.create"]


def test_ensure_project_concurrently_creates_one(db: Database) -> None:
    ids: list[str] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        barrier.wait()
        ids.append(ensure_project(db, "racy").id)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ids) == 4 and len(set(ids)) == 1


@pytest.mark.parametrize("name", ["", " padded", "x" * 201])
def test_bad_project_names(db: Database, name: str) -> None:
    with pytest.raises(ValueError, match="project name"):
        ensure_project(db, name)


def test_generated_key_verifies_by_secret_and_by_public_secret_pair(db: Database) -> None:
    project = ensure_project(db, "default")
    key = create_api_key(db, project.id, note="ci")
    assert key.created
    assert re.fullmatch(r"pk-og-[0-9a-f]{16}", key.public_key)
    assert re.fullmatch(r"sk-og-[A-Za-z0-9_-]{43}", key.secret)
    assert key.secret_prefix == key.secret[:8]
    assert key.secret not in repr(key)

    identity = verify_api_key(db, key.secret)
    assert identity is not None
    assert (identity.project_id, identity.project_name, identity.public_key) == (
        project.id,
        "default",
        key.public_key,
    )
    assert verify_api_key(db, key.secret, key.public_key) == identity
    assert verify_api_key(db, key.secret, "pk-og-0000000000000000") is None
    assert verify_api_key(db, key.secret + "x") is None
    assert verify_api_key(db, "") is None
    [listed] = list_api_keys(db, project.id)
    assert listed.last_used_at is not None  # recorded by the first verification


def test_keys_belong_to_exactly_one_project(db: Database) -> None:
    a = ensure_project(db, "a")
    b = ensure_project(db, "b")
    key_a = create_api_key(db, a.id)
    key_b = create_api_key(db, b.id)
    assert verify_api_key(db, key_a.secret) is not None
    assert verify_api_key(db, key_a.secret).project_id == a.id  # type: ignore[union-attr]
    assert verify_api_key(db, key_b.secret).project_id == b.id  # type: ignore[union-attr]
    assert verify_api_key(db, key_a.secret, key_b.public_key) is None
    assert [k.public_key for k in list_api_keys(db, a.id)] == [key_a.public_key]


def test_revoked_key_no_longer_verifies(db: Database) -> None:
    project = ensure_project(db, "default")
    key = create_api_key(db, project.id)
    assert revoke_api_key(db, key.public_key, actor="alice")
    assert verify_api_key(db, key.secret) is None
    assert not revoke_api_key(db, key.public_key)  # already revoked
    assert not revoke_api_key(db, "pk-og-ffffffffffffffff")
    [listed] = list_api_keys(db, project.id)
    assert listed.revoked_at is not None
    actions = [(a[0], a[1], a[2]) for a in _audit(db)]
    assert actions[-2:] == [
        ("system", "api_key.create", key.public_key),
        ("alice", "api_key.revoke", key.public_key),
    ]
    assert _audit(db)[-1][3] == {"project_id": project.id}


def test_seeded_key_is_idempotent(db: Database) -> None:
    project = ensure_project(db, "default")
    first = create_api_key(db, project.id, secret=SEED, note="from OTELGUARD_API_KEY")
    again = create_api_key(db, project.id, secret=SEED, note="from OTELGUARD_API_KEY")
    assert first.created and not again.created
    assert again.public_key == first.public_key and again.id == first.id
    assert again.secret == SEED
    assert len(list_api_keys(db, project.id)) == 1
    assert [a[1] for a in _audit(db)].count("api_key.create") == 1
    identity = verify_api_key(db, SEED, first.public_key)
    assert identity is not None and identity.project_name == "default"


def test_seeded_public_key_is_derived_from_the_secret(db: Database) -> None:
    project = ensure_project(db, "default")
    key = create_api_key(db, project.id, secret=SEED)
    # The same on every installation, so a seeded key's public half is predictable for Basic auth.
    assert key.public_key == derived_public_key(hash_secret(SEED))
    other = ensure_project(db, "other")
    # Same secret, different project: refused rather than silently sharing a key between projects.
    with pytest.raises(KeyConflictError, match="another project"):
        create_api_key(db, other.id, secret=SEED)
    assert create_api_key(db, project.id, secret=SEED).public_key == key.public_key


def test_seeding_a_revoked_secret_is_refused(db: Database) -> None:
    project = ensure_project(db, "default")
    key = create_api_key(db, project.id, secret=SEED)
    revoke_api_key(db, key.public_key)
    with pytest.raises(KeyConflictError, match="revoked"):
        create_api_key(db, project.id, secret=SEED)


@pytest.mark.parametrize(
    ("secret", "message"),
    [("short", "at least 16"), ("x" * 15, "at least 16"), ("0123456789abcdef\n", "printable ASCII")],
)
def test_bad_supplied_secrets_are_rejected(db: Database, secret: str, message: str) -> None:
    project = ensure_project(db, "default")
    with pytest.raises(ValueError, match=message):
        create_api_key(db, project.id, secret=secret)
    assert list_api_keys(db, project.id) == []


def test_unknown_project_is_a_lookup_error(db: Database) -> None:
    with pytest.raises(LookupError, match="no project"):
        create_api_key(db, "00000000-0000-0000-0000-000000000000")


def test_secrets_are_never_stored_in_plaintext(db: Database) -> None:
    project = ensure_project(db, "default")
    generated = create_api_key(db, project.id, note="n")
    seeded = create_api_key(db, project.id, secret=SEED)
    revoke_api_key(db, generated.public_key)
    with db.connection() as conn:
        dump = " ".join(
            r[0]
            for table in ("api_keys", "audit_log", "projects")
            for r in conn.execute(f"SELECT row_to_json(t)::text FROM {table} t").fetchall()
        )
        hashes = dict(conn.execute("SELECT public_key, secret_hash FROM api_keys").fetchall())
    for key in (generated, seeded):
        assert key.secret not in dump
        assert key.secret[8:16] not in dump  # beyond the displayed prefix, nothing of the secret
        assert hashes[key.public_key] == hashlib.sha256(key.secret.encode()).hexdigest()
    for listed in list_api_keys(db, project.id):
        assert not hasattr(listed, "secret")
