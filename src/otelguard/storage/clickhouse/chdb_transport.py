"""The embedded transport: the ClickHouse engine in-process via chDB.

chDB runs ONE embedded server per process, bound to the first data path opened: while any session is
open, opening a session on another path fails ("EmbeddedServer already initialized with path ...").
Once every session is closed, a new path can be opened. So this module keeps a process-wide engine
handle: every ``ChdbTransport`` on the same path shares one chDB session (reference counted), a
transport on a different path raises ``ClickHouseError`` until the others are closed, and every chDB
call in the process is serialized by one lock (the collector's writer thread and API requests share it).
Isolation between tenants of one process (e.g. tests) is by database, not by path.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from otelguard.storage.clickhouse.transport import (
    QUERY_SETTINGS,
    ClickHouseError,
    arrow_ipc_stream,
    decode_json_each_row,
    format_param,
    insert_statement,
    split_table,
    validate_identifier,
)

__all__ = ["ChdbTransport"]


class _Engine:
    """The process-wide chDB session: one path, reference counted, one lock for every call."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._session: Any = None
        self._path: Path | None = None
        self._refs = 0

    def acquire(self, path: Path) -> Any:
        with self.lock:
            if self._session is not None:
                if path != self._path:
                    raise ClickHouseError(
                        f"chDB is already open on {self._path} in this process; it allows one data path per "
                        f"process (close every transport on it before opening {path})"
                    )
                self._refs += 1
                return self._session
            from chdb import session as chdb_session

            open_session: Any = chdb_session.Session  # chDB ships no annotations for Session
            path.mkdir(parents=True, exist_ok=True)
            try:
                session = open_session(str(path))
            except Exception as exc:  # chDB raises RuntimeError for a path conflict with a foreign session
                raise ClickHouseError(f"cannot open chDB at {path}: {exc}") from exc
            try:
                for name, value in QUERY_SETTINGS.items():
                    session.query(f"SET {name} = {value}")
            except Exception as exc:
                session.close()
                raise ClickHouseError(f"cannot configure chDB session: {exc}") from exc
            self._session, self._path, self._refs = session, path, 1
            return session

    def release(self) -> None:
        with self.lock:
            self._refs -= 1
            if self._refs <= 0 and self._session is not None:
                session, self._session, self._path, self._refs = self._session, None, None, 0
                session.close()

    @property
    def path(self) -> Path | None:
        return self._path


_ENGINE = _Engine()


def open_chdb_path() -> Path | None:
    """The data path chDB is open on in this process, if any."""
    return _ENGINE.path


class ChdbTransport:
    """``ClickHouseTransport`` over the process-wide chDB session (thread-safe: calls are serialized)."""

    def __init__(self, path: Path, *, database: str = "otelguard") -> None:
        self._database = validate_identifier(database)
        self._path = Path(path).resolve()
        self._session: Any = _ENGINE.acquire(self._path)
        self._closed = False

    @property
    def database(self) -> str:
        return self._database

    @property
    def path(self) -> Path:
        return self._path

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(sql, params, "CSV")

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        raw = self._run(sql, params, "JSONEachRow")
        return decode_json_each_row(raw)

    def insert_arrow(self, table: str, data: pa.Table, *, dedup_token: str | None = None) -> None:
        if data.num_rows == 0:
            return
        database, name = split_table(table, self._database)
        sql = insert_statement(database, name, data.column_names, dedup_token)
        payload = arrow_ipc_stream(data)
        with _ENGINE.lock:
            self._check_open()
            try:
                inserter = self._session.send_insert(sql, "ArrowStream")
            except Exception as exc:
                raise ClickHouseError(f"insert into {database}.{name} failed: {exc}") from exc
            try:
                inserter.append(payload)
                inserter.finish()
            except Exception as exc:
                with contextlib.suppress(Exception):
                    inserter.cancel()
                raise ClickHouseError(f"insert into {database}.{name} failed: {exc}") from exc

    def close(self) -> None:
        with _ENGINE.lock:
            if not self._closed:
                self._closed = True
                self._session = None
                _ENGINE.release()

    def __enter__(self) -> ChdbTransport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise ClickHouseError("transport is closed")

    def _run(self, sql: str, params: Mapping[str, Any] | None, fmt: str) -> bytes:
        bound = {k: format_param(v) for k, v in params.items()} if params else None
        with _ENGINE.lock:
            self._check_open()
            try:
                result = self._session.query(sql, fmt, params=bound)
            except Exception as exc:
                raise ClickHouseError(str(exc)) from exc
            return bytes(result.bytes())
