"""Postgres storage pieces that need no server."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from otelguard.storage.postgres import Database, DatabaseUnavailableError, MigrationError, load_migrations
from otelguard.storage.postgres.database import describe_dsn
from otelguard.storage.postgres.projects import derived_public_key, hash_secret, validate_secret


def test_packaged_migrations_are_found_in_order() -> None:
    migrations = load_migrations()
    assert migrations[0].id == "0001_projects_and_keys"
    ids = [m.id for m in migrations]
    assert ids == sorted(ids)
    for m in migrations:
        assert re.fullmatch(r"\d{4}_[a-z0-9_]+", m.id)
        assert m.checksum == hashlib.sha256(m.sql.encode()).hexdigest()
    assert "CREATE TABLE api_keys" in migrations[0].sql


def test_load_migrations_sorts_numerically_and_ignores_other_files(tmp_path: Path) -> None:
    (tmp_path / "0002_b.sql").write_text("SELECT 2;")
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "README.md").write_text("notes")
    assert [m.id for m in load_migrations(tmp_path)] == ["0001_a", "0002_b"]


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (["1_a.sql"], "NNNN_lowercase_name"),
        (["0001_Upper.sql"], "NNNN_lowercase_name"),
        (["0001_a.sql", "0001_b.sql"], "share number 0001"),
    ],
)
def test_load_migrations_rejects_bad_names(tmp_path: Path, names: list[str], message: str) -> None:
    for name in names:
        (tmp_path / name).write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=message):
        load_migrations(tmp_path)


def test_unreachable_postgres_is_a_clear_error(tmp_path: Path) -> None:
    dsn = f"postgresql://otel:hunter2@/otelguard?host={tmp_path}&port=5999"
    with pytest.raises(DatabaseUnavailableError) as info:
        Database(dsn, timeout=2)
    message = str(info.value)
    assert message.startswith("cannot connect to Postgres (")
    assert str(tmp_path) in message and "dbname=otelguard" in message
    assert "hunter2" not in message


def test_describe_dsn_hides_credentials() -> None:
    assert describe_dsn("host=db port=5432 dbname=og user=u password=secret") == (
        "host=db port=5432 dbname=og user=u"
    )


def test_secret_hash_and_derived_public_key() -> None:
    digest = hash_secret("0123456789abcdef")
    assert digest == hashlib.sha256(b"0123456789abcdef").hexdigest()
    public = derived_public_key(digest)
    assert re.fullmatch(r"pk-og-[0-9a-f]{16}", public)
    assert public == derived_public_key(digest)
    assert public != derived_public_key(hash_secret("0123456789abcdeg"))
    assert public[6:] not in digest  # not a slice of the stored hash


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        ("", "at least 16"),
        ("fifteen-chars!!", "at least 16"),
        ("x" * 1025, "at most 1024"),
        ("sixteen chars ok", "printable ASCII"),
        ("0123456789abcdef\n", "printable ASCII"),
        ("0123456789abcdéf", "printable ASCII"),
    ],
)
def test_validate_secret_rejects(secret: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        validate_secret(secret)


def test_validate_secret_accepts_16_printable_characters() -> None:
    validate_secret("0123456789abcdef")
    validate_secret("p@ss:word/with+symbols=")
