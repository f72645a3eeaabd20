"""chDB fixtures.

chDB runs one embedded server per process, bound to one data path. So the whole test session shares
one path (the one already open in this process, if another fixture opened chDB first), kept open by a
session-scoped transport, and each test gets its own database on it, dropped afterwards.

``ch`` and ``fresh_db`` run each test on both transports: ``ChdbTransport`` and ``HttpTransport``, the
latter on clickhouse-connect's in-process chDB backend (no ClickHouse server here), which exercises the
same clickhouse-connect calls, server-side parameter binding and settings as against a server.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import clickhouse_connect
import pytest

from otelguard.storage.clickhouse import ClickHouseTransport, migrate
from otelguard.storage.clickhouse.chdb_transport import ChdbTransport, open_chdb_path
from otelguard.storage.clickhouse.http_transport import HttpTransport

TRANSPORTS = ["chdb", "clickhouse-connect"]


@pytest.fixture(scope="session")
def chdb_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChdbTransport]:
    """A transport that keeps the process-wide chDB engine open for the whole test session."""
    path = open_chdb_path() or tmp_path_factory.mktemp("chdb") / "clickhouse"
    transport = ChdbTransport(path, database="default")
    yield transport
    transport.close()


def _open(kind: str, root: ChdbTransport) -> ClickHouseTransport:
    database = f"t_{uuid.uuid4().hex[:12]}"
    if kind == "chdb":
        return ChdbTransport(root.path, database=database)
    path = str(root.path)
    return HttpTransport(
        host="unused",
        database=database,
        client_factory=lambda: clickhouse_connect.get_client(interface="chdb", path=path),
    )


def _drop(transport: ClickHouseTransport) -> None:
    transport.command(f"DROP DATABASE IF EXISTS {transport.database}")
    transport.close()


@pytest.fixture(params=TRANSPORTS)
def ch(request: pytest.FixtureRequest, chdb_root: ChdbTransport) -> Iterator[ClickHouseTransport]:
    """A transport on a fresh, migrated database of its own (dropped after the test)."""
    transport = _open(request.param, chdb_root)
    migrate(transport)
    yield transport
    _drop(transport)


@pytest.fixture(params=TRANSPORTS)
def fresh_db(request: pytest.FixtureRequest, chdb_root: ChdbTransport) -> Iterator[ClickHouseTransport]:
    """Like ``ch`` but not migrated."""
    transport = _open(request.param, chdb_root)
    yield transport
    _drop(transport)


@pytest.fixture
def chdb_db(chdb_root: ChdbTransport) -> Iterator[ChdbTransport]:
    """A ``ChdbTransport`` on a fresh, migrated database (for chDB-specific tests)."""
    transport = ChdbTransport(chdb_root.path, database=f"t_{uuid.uuid4().hex[:12]}")
    migrate(transport)
    yield transport
    _drop(transport)
