"""The production transport: a ClickHouse server over HTTP(S) via clickhouse-connect.

Queries use clickhouse-connect's server-side binding of ``{name:Type}`` parameters, so the SQL text is
exactly what the chDB transport runs. Results are fetched raw as ``JSONEachRow`` and decoded the same
way as chDB's. One client per thread (clients are cheap and share clickhouse-connect's connection pool;
no HTTP session id is used, so concurrent queries never collide on a server session).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping
from typing import Any

import pyarrow as pa

from otelguard.storage.clickhouse.transport import (
    INSERT_SETTINGS,
    QUERY_SETTINGS,
    ClickHouseError,
    decode_json_each_row,
    split_table,
    validate_identifier,
)

__all__ = ["HttpTransport"]


class HttpTransport:
    """``ClickHouseTransport`` over clickhouse-connect (thread-safe: a client per thread)."""

    def __init__(
        self,
        *,
        host: str,
        port: int = 8123,
        username: str = "default",
        password: str = "",
        secure: bool = False,
        database: str = "otelguard",
        connect_timeout: float = 10.0,
        send_receive_timeout: float = 300.0,
        client_factory: Callable[[], Any] | None = None,
    ) -> None:
        """``client_factory`` replaces ``clickhouse_connect.get_client(...)`` (tests run this transport
        on clickhouse-connect's in-process chDB backend: the same client code, no server)."""
        self._database = validate_identifier(database)
        self._client_args: dict[str, Any] = {
            "host": host,
            "port": port,
            "username": username,
            "password": password,
            "secure": secure,
            "autogenerate_session_id": False,
            "connect_timeout": connect_timeout,
            "send_receive_timeout": send_receive_timeout,
        }
        self._client_factory = client_factory
        self._local = threading.local()
        self._clients: list[Any] = []
        self._lock = threading.Lock()
        self._closed = False

    @property
    def database(self) -> str:
        return self._database

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        client = self._client()
        try:
            client.command(sql, parameters=dict(params) if params else None, settings=dict(QUERY_SETTINGS))
        except Exception as exc:
            raise ClickHouseError(str(exc)) from exc

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        client = self._client()
        try:
            raw = client.raw_query(
                sql,
                parameters=dict(params) if params else None,
                settings=dict(QUERY_SETTINGS),
                fmt="JSONEachRow",
            )
        except Exception as exc:
            raise ClickHouseError(str(exc)) from exc
        return decode_json_each_row(bytes(raw))

    def insert_arrow(self, table: str, data: pa.Table, *, dedup_token: str | None = None) -> None:
        if data.num_rows == 0:
            return
        database, name = split_table(table, self._database)
        settings: dict[str, Any] = dict(INSERT_SETTINGS)
        if dedup_token is not None:
            settings["insert_deduplication_token"] = dedup_token
        client = self._client()
        try:
            client.insert_arrow(name, data, database=database, settings=settings)
        except Exception as exc:
            raise ClickHouseError(f"insert into {database}.{name} failed: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._closed = True
            clients, self._clients = self._clients, []
        for client in clients:
            with contextlib.suppress(Exception):  # closing is best effort
                client.close()

    def __enter__(self) -> HttpTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is not None and not self._closed:
            return client
        with self._lock:
            if self._closed:
                raise ClickHouseError("transport is closed")
            try:
                if self._client_factory is not None:
                    client = self._client_factory()
                else:
                    import clickhouse_connect

                    client = clickhouse_connect.get_client(**self._client_args)
            except Exception as exc:
                raise ClickHouseError(f"cannot connect to ClickHouse: {exc}") from exc
            self._clients.append(client)
        self._local.client = client
        return client
