"""Transports on real chDB: bound parameters, errors, thread safety; chDB's one data path per process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from ch_factories import BASE_NS, span

from otelguard.storage.clickhouse import (
    ClickHouseError,
    ClickHouseTransport,
    connect,
    insert_spans,
    list_traces,
)
from otelguard.storage.clickhouse.chdb_transport import ChdbTransport
from otelguard.storage.clickhouse.models import TraceFilter

REPO = Path(__file__).resolve().parents[3]


def test_is_a_transport(ch: ClickHouseTransport) -> None:
    assert isinstance(ch, ClickHouseTransport)


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "a\\b",
        "a\\nb",
        "tab\there",
        "nl\nhere",
        "cr\rhere",
        "q'uote",
        'd"q',
        "nul\x00x",
        "☃😀",
        "",
        "{x:String}",
    ],
)
def test_string_parameters_round_trip(ch: ClickHouseTransport, value: str) -> None:
    rows = ch.query("SELECT {v:String} AS v, length({v:String}) AS n", {"v": value})
    assert rows == [{"v": value, "n": len(value.encode())}]


def test_typed_parameters(ch: ClickHouseTransport) -> None:
    rows = ch.query(
        "SELECT {a:UInt64} AS a, {b:Int64} AS b, {f:Float64} AS f, {t:Bool} AS t, {arr:Array(String)} AS arr",
        {"a": 2**64 - 1, "b": -(2**63), "f": 0.1, "t": True, "arr": ["x'y", "z\\", ""]},
    )
    assert rows == [{"a": 2**64 - 1, "b": -(2**63), "f": 0.1, "t": True, "arr": ["x'y", "z\\", ""]}]


def test_errors_are_clickhouse_errors(ch: ClickHouseTransport) -> None:
    with pytest.raises(ClickHouseError):
        ch.query("SELECT * FROM no_such_db.no_such_table")
    with pytest.raises(ClickHouseError):
        ch.command("THIS IS NOT SQL")
    assert ch.query("SELECT 1 AS one") == [{"one": 1}]  # still usable


def test_second_path_in_process_is_refused(chdb_db: ChdbTransport, tmp_path: Path) -> None:
    ch = chdb_db
    with pytest.raises(ClickHouseError, match="one data path per process"):
        ChdbTransport(tmp_path / "other")
    # The same path is shared (reference counted): closing one transport leaves the other working.
    extra = ChdbTransport(ch.path, database=ch.database)
    extra.close()
    extra.close()  # idempotent
    assert ch.query("SELECT 1 AS one") == [{"one": 1}]
    with pytest.raises(ClickHouseError, match="closed"):
        extra.query("SELECT 1")


def test_reopen_on_another_path_after_close(tmp_path: Path) -> None:
    """In a fresh process: path A, close, then path B works; data on A persists across reopen."""
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from otelguard.storage.clickhouse import connect, migrate
        from otelguard.storage.clickhouse.transport import ClickHouseError
        a = connect(None, Path({str(tmp_path / "a")!r}))
        migrate(a)
        a.command("INSERT INTO otelguard.schema_migrations (id) VALUES ('marker')")
        try:
            connect(None, Path({str(tmp_path / "b")!r}))
            raise SystemExit("second path should be refused")
        except ClickHouseError:
            pass
        a.close()
        b = connect(None, Path({str(tmp_path / "b")!r}))
        assert b.query("SELECT count() AS n FROM system.databases WHERE name = 'otelguard'") == [{{"n": 0}}]
        b.close()
        a = connect(None, Path({str(tmp_path / "a")!r}))
        rows = a.query("SELECT count() AS n FROM otelguard.schema_migrations WHERE id = 'marker'")
        assert rows == [{{"n": 1}}], rows
        a.close()
        print("ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=REPO, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")
    assert (tmp_path / "a" / "clickhouse").is_dir()


def test_connect_none_is_chdb_under_data_dir(chdb_root: ChdbTransport) -> None:
    data_dir = chdb_root.path.parent
    # every chDB fixture opens the engine at <dir>/clickhouse, the layout connect(None, dir) uses
    assert chdb_root.path.name == "clickhouse"
    transport = connect(None, data_dir, database="otelguard_x")
    try:
        assert isinstance(transport, ChdbTransport)
        assert transport.path == chdb_root.path
        assert transport.database == "otelguard_x"
    finally:
        transport.close()


def test_concurrent_writers_and_readers(ch: ClickHouseTransport) -> None:
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        try:
            for b in range(10):
                spans = [
                    span(trace_id=f"{w:016x}{b:016x}", span_id=f"{i:016x}", start_time=BASE_NS + b * 1000 + i)
                    for i in range(20)
                ]
                insert_spans(ch, spans, dedup_token=f"w{w}-b{b}")
        except BaseException as exc:
            errors.append(exc)

    def reader() -> None:
        try:
            for _ in range(20):
                list_traces(ch, "proj-a", TraceFilter(), cursor=None, limit=50)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
    threads += [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    rows = ch.query(f"SELECT count() AS n, uniqExact(trace_id) AS t FROM {ch.database}.spans")
    assert rows == [{"n": 600, "t": 30}]
