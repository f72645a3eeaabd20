"""Transport helpers and the HTTP transport's use of clickhouse-connect (no server: a recording client)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from otelguard.storage.clickhouse import ClickHouseError, ClickHouseTransport, connect
from otelguard.storage.clickhouse.http_transport import HttpTransport
from otelguard.storage.clickhouse.transport import (
    format_param,
    insert_statement,
    quote_identifier,
    quote_string,
    split_table,
)


class RecordingClient:
    instances: list[RecordingClient] = []

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.closed = False
        self.fail = False
        RecordingClient.instances.append(self)

    def command(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("command", args, kwargs))
        if self.fail:
            raise RuntimeError("Code: 62. Syntax error")

    def raw_query(self, *args: Any, **kwargs: Any) -> bytes:
        self.calls.append(("raw_query", args, kwargs))
        return b'{"a":18446744073709551615,"s":"\\u2028 \xe2\x98\x83"}\n{"a":1,"s":""}\n'

    def insert_arrow(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(("insert_arrow", args, kwargs))

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def fake_clients(monkeypatch: pytest.MonkeyPatch) -> list[RecordingClient]:
    import clickhouse_connect

    RecordingClient.instances = []
    monkeypatch.setattr(clickhouse_connect, "get_client", RecordingClient)
    return RecordingClient.instances


def test_connect_parses_http_urls(tmp_path: Path) -> None:
    t = connect("https://alice:p%40ss@ch.example:8443/analytics", tmp_path)
    assert isinstance(t, HttpTransport) and isinstance(t, ClickHouseTransport)
    assert t.database == "analytics"
    assert t._client_args | {} == {
        "host": "ch.example",
        "port": 8443,
        "username": "alice",
        "password": "p@ss",
        "secure": True,
        "autogenerate_session_id": False,
        "connect_timeout": 10.0,
        "send_receive_timeout": 300.0,
    }
    plain = connect("http://ch", tmp_path, database="og2")
    assert isinstance(plain, HttpTransport)
    assert plain.database == "og2"
    assert (plain._client_args["port"], plain._client_args["username"], plain._client_args["secure"]) == (
        8123,
        "default",
        False,
    )
    for bad in ("ftp://x", "http://", "http://h/bad-name", "clickhouse://h"):
        with pytest.raises(ValueError):
            connect(bad, tmp_path)
    with pytest.raises(ValueError):
        connect(None, tmp_path, database="no-dashes")


def test_http_query_binds_server_side_and_decodes_rows(fake_clients: list[RecordingClient]) -> None:
    t = HttpTransport(host="h", database="og")
    rows = t.query("SELECT {x:String} AS s", {"x": "v"})
    assert rows == [{"a": 2**64 - 1, "s": "\u2028 ☃"}, {"a": 1, "s": ""}]
    ((name, args, kwargs),) = fake_clients[0].calls
    assert name == "raw_query" and args == ("SELECT {x:String} AS s",)
    assert kwargs["parameters"] == {"x": "v"} and kwargs["fmt"] == "JSONEachRow"
    assert kwargs["settings"]["output_format_json_quote_64bit_integers"] == 0
    t.command("CREATE DATABASE IF NOT EXISTS og")
    assert fake_clients[0].calls[-1][0] == "command"
    assert fake_clients[0].kwargs["autogenerate_session_id"] is False


def test_http_insert_passes_dedup_token(fake_clients: list[RecordingClient]) -> None:
    t = HttpTransport(host="h", database="og")
    table = pa.table({"a": [1]})
    t.insert_arrow("og.spans", table, dedup_token="tok-1")
    t.insert_arrow("spans", table)
    t.insert_arrow("spans", table.slice(0, 0))  # empty: nothing sent
    (first, second) = fake_clients[0].calls
    assert first[1][0] == "spans" and first[1][1] is table
    assert first[2]["database"] == "og"
    assert first[2]["settings"]["insert_deduplication_token"] == "tok-1"
    assert first[2]["settings"]["async_insert"] == 0
    assert "insert_deduplication_token" not in second[2]["settings"]


def test_http_client_per_thread_and_close(fake_clients: list[RecordingClient]) -> None:
    t = HttpTransport(host="h")
    t.command("SELECT 1")
    t.command("SELECT 1")
    worker = threading.Thread(target=lambda: t.command("SELECT 2"))
    worker.start()
    worker.join()
    assert len(fake_clients) == 2
    t.close()
    assert all(c.closed for c in fake_clients)
    with pytest.raises(ClickHouseError, match="closed"):
        t.command("SELECT 1")


def test_http_errors_are_clickhouse_errors(fake_clients: list[RecordingClient]) -> None:
    t = HttpTransport(host="h")
    t.command("SELECT 1")
    fake_clients[0].fail = True
    with pytest.raises(ClickHouseError, match="Syntax error"):
        t.command("SELEC")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("plain", "plain"),
        ("a\\b", "a\\\\b"),
        ("tab\tnl\ncr\r", "tab\\tnl\\ncr\\r"),
        ("q'd\"", "q\\'d\""),
        ("nul\x00", "nul\\0"),
        (True, "true"),
        (False, "false"),
        (-(2**63), "-9223372036854775808"),
        (0.1, "0.1"),
        (float("inf"), "inf"),
        (["a'b", "c"], "['a\\'b', 'c']"),
        ([1, 2], "[1, 2]"),
        ([], "[]"),
    ],
)
def test_format_param(value: object, text: str) -> None:
    assert format_param(value) == text


def test_format_param_rejects_unknown_types() -> None:
    with pytest.raises(TypeError):
        format_param(object())
    with pytest.raises(TypeError):
        format_param({"a": 1})


def test_quoting_and_insert_statement() -> None:
    assert quote_string("it's \\ here\n") == "'it\\'s \\\\ here\\n'"
    assert quote_identifier("we`ird") == "`we\\`ird`"
    assert split_table("db.t", "other") == ("db", "t")
    assert split_table("t", "other") == ("other", "t")
    with pytest.raises(ValueError):
        split_table("db.t; DROP", "x")
    sql = insert_statement("og", "spans", ["a", "b"], "tok'1")
    assert sql.startswith("INSERT INTO `og`.`spans` (`a`, `b`) SETTINGS async_insert = 0")
    assert sql.endswith("insert_deduplication_token = 'tok\\'1'")
    assert "FORMAT" not in sql
