"""The transport seam: one protocol, two implementations (chDB in-process, ClickHouse over HTTP).

Both transports run the *same* SQL text. Values never get spliced into SQL: queries use ClickHouse
server-side parameters (``{name:Type}``) and the transport binds them. Rows come back as dicts decoded
from ``JSONEachRow`` with 64-bit integers unquoted, so both transports return identical Python values.
Timestamps are selected as integer nanoseconds (``toUnixTimestamp64Nano``) by the query modules.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

import pyarrow as pa

__all__ = [
    "ClickHouseError",
    "ClickHouseTransport",
    "connect",
    "format_param",
    "quote_identifier",
    "quote_string",
    "validate_identifier",
]

# Settings every query runs with, on both transports (rows as plain JSON numbers, UTC).
QUERY_SETTINGS: dict[str, int | str] = {
    "output_format_json_quote_64bit_integers": 0,
    "output_format_json_quote_64bit_floats": 0,
    "output_format_json_quote_decimals": 0,
    "output_format_json_quote_denormals": 0,
}
# Settings every insert runs with: synchronous (the caller acks only what is durably written, also
# through a cluster's Distributed tables, which then pass the dedup token on to the shards) and
# deduplicated by token, also in the materialized views fed by the table.
INSERT_SETTINGS: dict[str, int | str] = {
    "async_insert": 0,
    "distributed_foreground_insert": 1,
    "insert_deduplicate": 1,
    "deduplicate_blocks_in_dependent_materialized_views": 1,
}

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class ClickHouseError(RuntimeError):
    """A statement failed in ClickHouse (either transport), or the transport cannot be used."""


@runtime_checkable
class ClickHouseTransport(Protocol):
    """What the storage code needs from ClickHouse. Implementations are thread-safe."""

    @property
    def database(self) -> str:
        """The OTelGuard database this transport was opened for (queries use qualified names)."""
        ...

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None: ...

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]: ...

    def insert_arrow(self, table: str, data: pa.Table, *, dedup_token: str | None = None) -> None: ...

    def close(self) -> None: ...


def connect(url: str | None, data_dir: Path, *, database: str = "otelguard") -> ClickHouseTransport:
    """Open a transport.

    ``url`` None → the embedded chDB engine storing under ``data_dir / "clickhouse"``;
    ``chdb:///abs/path`` → the embedded engine storing under that path (one process owns it: tests and
    single-process installs);
    ``http(s)://user:pass@host:8123/db`` → a ClickHouse server via clickhouse-connect (a database in
    the URL path overrides ``database``).
    """
    validate_identifier(database)
    if url is None or url == "":
        from otelguard.storage.clickhouse.chdb_transport import ChdbTransport

        return ChdbTransport(Path(data_dir) / "clickhouse", database=database)
    parts = urlsplit(url)
    if parts.scheme == "chdb":
        from otelguard.storage.clickhouse.chdb_transport import ChdbTransport

        if not parts.path.startswith("/") or parts.netloc:
            raise ValueError("a chdb URL names an absolute directory: chdb:///var/lib/otelguard/clickhouse")
        return ChdbTransport(Path(unquote(parts.path)), database=database)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"unsupported ClickHouse URL scheme {parts.scheme!r} (want http, https or chdb)")
    if not parts.hostname:
        raise ValueError("ClickHouse URL has no host")
    path_db = parts.path.strip("/")
    if path_db:
        database = validate_identifier(unquote(path_db))
    from otelguard.storage.clickhouse.http_transport import HttpTransport

    return HttpTransport(
        host=parts.hostname,
        port=parts.port or (8443 if parts.scheme == "https" else 8123),
        username=unquote(parts.username) if parts.username else "default",
        password=unquote(parts.password) if parts.password else "",
        secure=parts.scheme == "https",
        database=database,
    )


def validate_identifier(name: str) -> str:
    """Return ``name`` if it is a plain ClickHouse identifier (database, table), else raise ValueError."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name) or len(name) > 128:
        raise ValueError(f"not a valid ClickHouse identifier: {name!r}")
    return name


def quote_identifier(name: str) -> str:
    escaped = name.replace("\\", "\\\\").replace("`", "\\`")
    return "`" + escaped + "`"


def quote_string(value: str) -> str:
    """A ClickHouse string literal (for the few places where parameters are not allowed, e.g. SETTINGS)."""
    return "'" + _escape(value) + "'"


_ESCAPES = {
    "\\": "\\\\",
    "\n": "\\n",
    "\t": "\\t",
    "\r": "\\r",
    "\0": "\\0",
    "'": "\\'",
    "\b": "\\b",
    "\f": "\\f",
}
_NEEDS_ESCAPE = re.compile(r"[\\\n\t\r\0'\b\f]")


def _escape(value: str) -> str:
    return _NEEDS_ESCAPE.sub(lambda m: _ESCAPES[m.group(0)], value)


def format_param(value: Any) -> str:
    """Format a query-parameter value the way ClickHouse parses ``{name:Type}`` values (escaped text).

    Top-level strings are escaped but not quoted; arrays are literals with quoted elements.
    """
    return _format(value, top=True)


def _format(value: Any, *, top: bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _escape(value) if top else quote_string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_format(v, top=False) for v in value) + "]"
    raise TypeError(f"unsupported query parameter type: {type(value).__name__}")


def split_table(table: str, default_database: str) -> tuple[str, str]:
    """``"db.t"`` → ``("db", "t")``; ``"t"`` → ``(default_database, "t")``; both parts validated."""
    db, _, name = table.rpartition(".")
    return validate_identifier(db or default_database), validate_identifier(name)


def arrow_ipc_stream(data: pa.Table) -> bytes:
    """Serialize an Arrow table as an IPC stream (ClickHouse's ``ArrowStream`` input format)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, data.schema) as writer:
        writer.write_table(data)
    return bytes(sink.getvalue().to_pybytes())


def insert_statement(database: str, table: str, columns: Sequence[str], dedup_token: str | None) -> str:
    """``INSERT INTO db.t (cols) SETTINGS ...`` without a FORMAT clause (the transport supplies the data)."""
    settings = dict(INSERT_SETTINGS)
    cols = ", ".join(quote_identifier(c) for c in columns)
    text = ", ".join(f"{k} = {v}" for k, v in settings.items())
    if dedup_token is not None:
        text += f", insert_deduplication_token = {quote_string(dedup_token)}"
    return f"INSERT INTO {quote_identifier(database)}.{quote_identifier(table)} ({cols}) SETTINGS {text}"


def decode_json_each_row(raw: bytes) -> list[dict[str, Any]]:
    """Rows of a ``JSONEachRow`` result (invalid UTF-8 in stored strings is replaced, not fatal)."""
    return [json.loads(line.decode("utf-8", "replace")) for line in raw.split(b"\n") if line.strip()]
