"""Puts this directory's helpers (``score_support``) and the storage span builders on sys.path, and runs
the storage tests on both ClickHouse clients."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "storage"))

from score_support import Api, Server, drop, open_transport, tenant

from otelguard.storage.clickhouse import ClickHouseTransport, migrate
from otelguard.storage.clickhouse.chdb_transport import ChdbTransport
from otelguard.storage.postgres import Database


@pytest.fixture(params=["chdb", "clickhouse-connect"])
def ch(request: pytest.FixtureRequest, chdb_engine: ChdbTransport) -> Iterator[ClickHouseTransport]:
    """A fresh migrated database, on chDB directly and through clickhouse-connect (same SQL text)."""
    transport = open_transport(request.param, chdb_engine)
    yield transport
    drop(transport)


@pytest.fixture
def api(chdb: ChdbTransport, db: Database, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """A real API server (uvicorn) on a fresh chDB database and Postgres with two projects' keys.
    Feedback limits are generous unless a test sets OTELGUARD_FEEDBACK_* before its first request."""
    monkeypatch.setenv("OTELGUARD_FEEDBACK_BURST", "1000")
    migrate(chdb)
    server = Server(chdb, db).start()
    yield Api(server, tenant(db, "alpha"), tenant(db, "beta"), chdb, db)
    server.stop()
