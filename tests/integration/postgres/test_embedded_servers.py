"""Embedded Postgres and Redis: restarts keep data, and a SIGKILLed owner does not block the next start."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil  # type: ignore[import-untyped]
import psycopg
import pytest
import redis

from otelguard.local.embedded import EmbeddedPostgres, EmbeddedRedis, _alive, _processes_in

pytestmark = pytest.mark.slow

CHILD = r"""
import json, sys, time
from pathlib import Path
import psycopg, redis
from otelguard.local.embedded import EmbeddedPostgres, EmbeddedRedis

data = Path(sys.argv[1])
dsn = EmbeddedPostgres().start(data)
url = EmbeddedRedis().start(data)
with psycopg.connect(dsn, autocommit=True) as conn:
    conn.execute("CREATE TABLE kept (v text)")
    conn.execute("INSERT INTO kept VALUES ('before-kill')")
client = redis.Redis.from_url(url)
client.set("kept", "before-kill")
client.close()
print(json.dumps({"dsn": dsn, "url": url}), flush=True)
time.sleep(600)
"""


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    data = tmp_path / "data"
    yield data
    # Whatever a failed test left running in this directory (and only there) is killed by pid.
    for sub, name in (("postgres", "postgres"), ("redis", "redis-server")):
        for proc in _processes_in(data / sub, name):
            proc.kill()


def _rows(dsn: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        return [r[0] for r in conn.execute("SELECT v FROM kept ORDER BY v").fetchall()]


def _postmaster_pid(data: Path) -> int:
    return int((data / "postgres" / "postmaster.pid").read_text().splitlines()[0])


def _redis_pid(data: Path) -> int:
    pid: int = json.loads((data / "redis" / "state.json").read_text())["pid"]
    return pid


def _wait_dead(pid: int) -> None:
    deadline = time.monotonic() + 10
    while _alive(pid) is not None:
        assert time.monotonic() < deadline, f"pid {pid} did not die"
        time.sleep(0.05)


def test_postgres_restart_keeps_data(data_dir: Path) -> None:
    pg = EmbeddedPostgres()
    dsn = pg.start(data_dir)
    assert (data_dir / "postgres" / "PG_VERSION").exists()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (v text)")
        conn.execute("INSERT INTO kept VALUES ('one')")
    pg.stop()
    assert not (data_dir / "postgres" / "postmaster.pid").exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(dsn, connect_timeout=2)

    assert pg.start(data_dir) == dsn  # the same object again (pgserver caches a handle per directory)
    assert _rows(dsn) == ["one"]
    pg.stop()

    other = EmbeddedPostgres()
    assert other.start(data_dir) == dsn
    assert _rows(dsn) == ["one"]
    other.stop()


def test_redis_restart_keeps_data_and_url(data_dir: Path) -> None:
    server = EmbeddedRedis()
    url = server.start(data_dir)
    assert url.startswith("redis://:") and "@127.0.0.1:" in url
    state_file = data_dir / "redis" / "state.json"
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    client = redis.Redis.from_url(url)
    client.set("kept", "one")
    client.close()
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:  # no password, no access
        raw.sendall(b"PING\r\n")
        assert raw.recv(100).startswith(b"-NOAUTH")
    server.stop()
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()

    again = EmbeddedRedis()
    assert again.start(data_dir) == url
    client = redis.Redis.from_url(url)
    assert client.get("kept") == b"one"
    client.close()
    again.stop()


def test_redis_url_is_accepted_by_kombu(data_dir: Path) -> None:
    import kombu  # Celery's transport library: the eval workers' broker client

    server = EmbeddedRedis()
    url = server.start(data_dir)
    try:
        with kombu.Connection(url) as conn:
            queue = conn.SimpleQueue("otelguard-test")
            queue.put({"hello": "world"})
            assert queue.get(timeout=5).payload == {"hello": "world"}
            queue.close()
    finally:
        server.stop()


def test_sigkill_of_the_owner_and_then_of_the_servers(data_dir: Path, tmp_path: Path) -> None:
    stderr = tmp_path / "child.err"
    with open(stderr, "w") as err:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(data_dir)], stdout=subprocess.PIPE, stderr=err, text=True
        )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line, stderr.read_text()
        started = json.loads(line)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
        if child.stdout is not None:
            child.stdout.close()

    # pgserver and redis-server both outlive the killed owner: the next start reattaches to them.
    postmaster, redis_server = _postmaster_pid(data_dir), _redis_pid(data_dir)
    assert _alive(postmaster) is not None and _alive(redis_server) is not None
    pg, rd = EmbeddedPostgres(), EmbeddedRedis()
    assert pg.start(data_dir) == started["dsn"]
    assert rd.start(data_dir) == started["url"]
    assert (_postmaster_pid(data_dir), _redis_pid(data_dir)) == (postmaster, redis_server)
    assert _rows(started["dsn"]) == ["before-kill"]
    assert redis.Redis.from_url(started["url"]).get("kept") == b"before-kill"

    # Now the servers die hard too, leaving stale pid files: they are started again and recover.
    os.kill(postmaster, signal.SIGKILL)
    os.kill(redis_server, signal.SIGKILL)
    _wait_dead(postmaster)
    _wait_dead(redis_server)
    pg, rd = EmbeddedPostgres(), EmbeddedRedis()
    dsn, url = pg.start(data_dir), rd.start(data_dir)
    assert _postmaster_pid(data_dir) != postmaster and _redis_pid(data_dir) != redis_server
    assert _rows(dsn) == ["before-kill"]  # crash recovery from the WAL
    assert redis.Redis.from_url(url).get("kept") == b"before-kill"  # replayed from the AOF
    pg.stop()
    rd.stop()
    assert _alive(_redis_pid_or_zero(data_dir)) is None
    assert not _processes_in(data_dir / "postgres", "postgres")


def _redis_pid_or_zero(data: Path) -> int:
    return int(json.loads((data / "redis" / "state.json").read_text()).get("pid") or 0)


def test_stale_pid_file_naming_an_unrelated_live_process(data_dir: Path) -> None:
    # After a reboot the pid in postmaster.pid may belong to some other process; pgserver alone would
    # "reattach" to it and hand out a DSN nobody answers.
    pg = EmbeddedPostgres()
    dsn = pg.start(data_dir)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (v text)")
        conn.execute("INSERT INTO kept VALUES ('one')")
    pid_file = data_dir / "postgres" / "postmaster.pid"
    lines = pid_file.read_text().splitlines()
    pg.stop()
    sleeper = subprocess.Popen(["sleep", "120"])
    try:
        pid_file.write_text("\n".join([str(sleeper.pid), *lines[1:]]) + "\n")
        assert psutil.pid_exists(sleeper.pid)
        assert pg.start(data_dir, timeout=30) == dsn
        assert _rows(dsn) == ["one"]
        assert _postmaster_pid(data_dir) != sleeper.pid
    finally:
        sleeper.kill()
        sleeper.wait()
        pg.stop()
