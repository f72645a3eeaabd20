from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

import psycopg
import pytest

from otelguard.storage.postgres import Database, MigrationError, load_migrations, migrate

PACKAGED = [m.id for m in load_migrations()]


def _tables(db: Database) -> set[str]:
    with db.connection() as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {r[0] for r in rows}


def _write(directory: Path, name: str, text: str) -> None:
    (directory / name).write_text(text)


def test_packaged_migrations_apply_once(pg_dsn: str) -> None:
    with Database(pg_dsn) as db:
        assert migrate(db) == PACKAGED
        assert migrate(db) == []
        assert {"schema_migrations", "projects", "api_keys", "audit_log"} <= _tables(db)
        with db.connection() as conn:
            rows = conn.execute("SELECT id, checksum FROM schema_migrations ORDER BY id").fetchall()
    assert [r[0] for r in rows] == PACKAGED
    assert rows[0][1] == load_migrations()[0].checksum


def test_new_files_are_applied_incrementally(pg_dsn: str, tmp_path: Path) -> None:
    # A percent sign must pass through untouched: migrations are sent without parameters.
    _write(tmp_path, "0001_a.sql", "CREATE TABLE a (x int); COMMENT ON TABLE a IS '100% a';")
    with Database(pg_dsn) as db:
        assert migrate(db, load_migrations(tmp_path)) == ["0001_a"]
        _write(tmp_path, "0002_b.sql", "CREATE TABLE b (y int);\nINSERT INTO b VALUES (1), (2);")
        assert migrate(db, load_migrations(tmp_path)) == ["0002_b"]
        assert migrate(db, load_migrations(tmp_path)) == []
        with db.connection() as conn:
            assert conn.execute("SELECT obj_description('a'::regclass)").fetchone() == ("100% a",)
            assert conn.execute("SELECT count(*) FROM b").fetchone() == (2,)


def test_changed_applied_file_is_an_error(pg_dsn: str, tmp_path: Path) -> None:
    _write(tmp_path, "0001_a.sql", "CREATE TABLE a (x int);")
    with Database(pg_dsn) as db:
        migrate(db, load_migrations(tmp_path))
        _write(tmp_path, "0001_a.sql", "CREATE TABLE a (x bigint);")
        _write(tmp_path, "0002_b.sql", "CREATE TABLE b (y int);")
        with pytest.raises(MigrationError, match=r"0001_a was applied with checksum .* immutable"):
            migrate(db, load_migrations(tmp_path))
        assert "b" not in _tables(db)  # nothing runs past a checksum mismatch


def test_failed_migration_rolls_back_and_releases_the_lock(pg_dsn: str, tmp_path: Path) -> None:
    _write(tmp_path, "0001_a.sql", "CREATE TABLE a (x int);")
    _write(tmp_path, "0002_bad.sql", "CREATE TABLE half (x int);\nSELECT * FROM no_such_table;")
    with Database(pg_dsn, max_size=1) as db:
        with pytest.raises(psycopg.errors.UndefinedTable):
            migrate(db, load_migrations(tmp_path))
        assert "a" in _tables(db)
        assert "half" not in _tables(db)  # 0002 ran in its own transaction
        with db.connection() as conn:
            assert conn.autocommit is False  # the pooled connection was handed back as it was lent
            held = conn.execute(
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                "WHERE l.locktype = 'advisory' AND d.datname = current_database()"
            ).fetchone()
        assert held == (0,)
        _write(tmp_path, "0002_bad.sql", "CREATE TABLE half (x int);")
        assert migrate(db, load_migrations(tmp_path)) == ["0002_bad"]


def test_unknown_applied_migration_only_warns(
    pg_dsn: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write(tmp_path, "0001_a.sql", "CREATE TABLE a (x int);")
    _write(tmp_path, "0002_b.sql", "CREATE TABLE b (x int);")
    with Database(pg_dsn) as db:
        migrate(db, load_migrations(tmp_path))
        (tmp_path / "0002_b.sql").unlink()  # as seen by an older build during a rolling upgrade
        with caplog.at_level(logging.WARNING):
            assert migrate(db, load_migrations(tmp_path)) == []
    assert "0002_b" in caplog.text


def test_concurrent_migrate_applies_each_migration_once(pg_dsn: str, tmp_path: Path) -> None:
    # The slow first migration keeps the lock long enough for the second caller to queue behind it;
    # without the lock both would run CREATE TABLE and one would fail.
    _write(tmp_path, "0001_slow.sql", "SELECT pg_sleep(0.5);\nCREATE TABLE slow (x int);")
    _write(tmp_path, "0002_next.sql", "CREATE TABLE next_one (x int);")
    migrations = load_migrations(tmp_path)
    results: list[list[str]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        # Separate pools, like two processes starting together.
        with Database(pg_dsn) as db:
            barrier.wait()
            try:
                results.append(migrate(db, migrations))
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(results) == [[], ["0001_slow", "0002_next"]]
    with Database(pg_dsn) as db, db.connection() as conn:
        checksums = conn.execute("SELECT checksum FROM schema_migrations ORDER BY id").fetchall()
    expected = hashlib.sha256((tmp_path / "0001_slow.sql").read_bytes()).hexdigest()
    assert checksums[0] == (expected,)
