"""Shared by the score tests: score rows, transports on both ClickHouse clients, and a real API server
(uvicorn in a thread) on the test's chDB database and Postgres, with real projects and API keys."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import clickhouse_connect
import uvicorn

from otelguard.auth import Credentials, KeyCache, Principal
from otelguard.storage.clickhouse import ClickHouseTransport, migrate
from otelguard.storage.clickhouse.chdb_transport import ChdbTransport
from otelguard.storage.clickhouse.http_transport import HttpTransport
from otelguard.storage.postgres import Database, create_api_key, ensure_project, verify_api_key
from otelguard.webui.app import create_app
from otelguard.webui.context import ApiContext
from platform_process import free_port

HOUR_NS = 3600 * 10**9
DAY_NS = 24 * HOUR_NS
# Midnight UTC two days ago: recent (no TTL can expire it), and whole days for the bucket tests.
T0 = (time.time_ns() // DAY_NS - 2) * DAY_NS
TRACE_A, TRACE_B, TRACE_C = "a" * 32, "b" * 32, "c" * 32
SPAN_A1, SPAN_A2, SPAN_B1 = "a1" * 8, "a2" * 8, "b1" * 8


def score(i: int | str, **over: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": f"s-{i}",
        "project_id": "p1",
        "trace_id": TRACE_A,
        "span_id": "",
        "session_id": "",
        "name": "relevance",
        "value": 0.5,
        "string_value": "",
        "data_type": "numeric",
        "source": "evaluator",
        "comment": "",
        "evaluator_name": "judge",
        "evaluator_version": "1",
        "timestamp": T0,
    }
    row.update(over)
    return row


def open_transport(kind: str, root: ChdbTransport) -> ClickHouseTransport:
    """A migrated fresh database on chDB directly or through clickhouse-connect's chDB backend."""
    database = f"t_{uuid.uuid4().hex[:12]}"
    transport: ClickHouseTransport
    if kind == "chdb":
        transport = ChdbTransport(root.path, database=database)
    else:
        path = str(root.path)
        transport = HttpTransport(
            host="unused",
            database=database,
            client_factory=lambda: clickhouse_connect.get_client(interface="chdb", path=path),
        )
    migrate(transport)
    return transport


def drop(transport: ClickHouseTransport) -> None:
    transport.command(f"DROP DATABASE IF EXISTS {transport.database}")
    transport.close()


@dataclass
class Tenant:
    project_id: str
    secret: str
    public_key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.secret}"}


def tenant(db: Database, name: str) -> Tenant:
    project = ensure_project(db, name)
    key = create_api_key(db, project.id, note="test")
    return Tenant(project.id, key.secret, key.public_key)


def key_cache(db: Database) -> KeyCache:
    def verify(creds: Credentials) -> Principal | None:
        identity = verify_api_key(db, creds.secret, creds.public_key)
        return (
            None
            if identity is None
            else Principal(identity.project_id, identity.project_name, identity.public_key)
        )

    return KeyCache(verify)


class Server:
    """uvicorn serving ``create_app`` on 127.0.0.1:<free port> (stopped by ``stop``)."""

    def __init__(self, clickhouse: ClickHouseTransport, db: Database | None) -> None:
        self.port = free_port()
        keys = key_cache(db) if db is not None else KeyCache(lambda creds: None)
        context = ApiContext(clickhouse=clickhouse, keys=keys, postgres=db)
        self.app = create_app(context)
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False,
            lifespan="off",
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("API server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(20)


@dataclass
class Api:
    server: Server
    a: Tenant
    b: Tenant
    clickhouse: ClickHouseTransport
    db: Database

    @property
    def url(self) -> str:
        return self.server.url
