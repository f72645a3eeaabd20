"""A psycopg 3 connection pool behind one small class.

Callers borrow a connection with ``with db.connection() as conn:``; the pool commits when the block exits
cleanly and rolls back when it raises, so each block is one transaction unless the caller opens
``conn.transaction()`` blocks itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool, PoolTimeout

__all__ = ["Database", "DatabaseUnavailableError"]


class DatabaseUnavailableError(RuntimeError):
    """Postgres could not be reached (or refused us) when the pool was opened."""


def describe_dsn(dsn: str) -> str:
    """The DSN without credentials, for error messages and logs."""
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<unparseable DSN>"
    shown = {k: params[k] for k in ("host", "port", "dbname", "user") if params.get(k)}
    return " ".join(f"{k}={v}" for k, v in shown.items()) or "<default libpq settings>"


class Database:
    """A pool of connections to one Postgres database."""

    def __init__(self, dsn: str, min_size: int = 1, max_size: int = 8, *, timeout: float = 10.0) -> None:
        # One direct connection first: the pool only reports "timed out" while libpq's own message
        # (refused, no such socket, bad password, no such database) is what a person needs to see.
        try:
            psycopg.connect(dsn, connect_timeout=max(1, int(timeout))).close()
        except psycopg.Error as exc:
            raise DatabaseUnavailableError(
                f"cannot connect to Postgres ({describe_dsn(dsn)}): {str(exc).strip()}"
            ) from exc
        self._pool: ConnectionPool[psycopg.Connection[TupleRow]] = ConnectionPool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            open=False,
            # Checking on checkout costs a round trip but turns a restarted server (embedded Postgres
            # after `otelguard up` restarts it) into a reconnect instead of an error.
            check=ConnectionPool.check_connection,
            name="otelguard-postgres",
        )
        try:
            self._pool.open(wait=True, timeout=timeout)
        except PoolTimeout as exc:
            self._pool.close()
            raise DatabaseUnavailableError(
                f"Postgres ({describe_dsn(dsn)}) did not accept {min_size} connection(s) within {timeout}s"
            ) from exc

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[TupleRow]]:
        """Borrow a connection; commit on clean exit, roll back on error."""
        with self._pool.connection() as conn:
            yield conn

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
