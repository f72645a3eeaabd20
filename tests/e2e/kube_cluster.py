"""A real Kubernetes control plane for e2e tests.

``TestCluster`` builds (if needed) and runs ``tests/e2e/cluster``'s ``testcluster`` binary: an
embedded etcd plus the real kube-apiserver (RBAC, service-account tokens) and kube-controller-manager
(garbage collector, namespace, service-account controllers), on 127.0.0.1 only. No nodes, no
scheduler: Pods are stored but never run. ``kubectl`` and ``helm`` come from the same build.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CLUSTER_SRC = Path(__file__).resolve().parent / "cluster"
BUILD_SCRIPT = CLUSTER_SRC / "build.sh"
BIN_DIR = REPO_ROOT / ".cache" / "cluster" / "bin"
BUILD_LOG = REPO_ROOT / ".cache" / "cluster" / "build.log"

READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0
BUILD_TIMEOUT_S = 3600.0


class ClusterError(RuntimeError):
    """The test cluster could not be built or started."""


def build(log_path: Path = BUILD_LOG, timeout: float = BUILD_TIMEOUT_S) -> None:
    """Run build.sh (near-instant when nothing changed). Raises ClusterError with the log's tail."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log:
        try:
            proc = subprocess.run(
                ["bash", str(BUILD_SCRIPT)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ClusterError(f"build.sh timed out after {timeout:.0f}s; log: {log_path}") from exc
    if proc.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-40:])
        raise ClusterError(f"build.sh failed (exit {proc.returncode}); log: {log_path}\n{tail}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to SIGTERM the cluster if the test process dies without stopping it."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


class TestCluster:
    """Start/stop one testcluster process; run kubectl and helm against it."""

    __test__ = False  # not a pytest test class

    def __init__(self, bin_dir: Path = BIN_DIR) -> None:
        self.bin_dir = bin_dir
        self._proc: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self._port: int | None = None
        self._log_file: Path | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, workdir: Path, port: int | None = None, *, controller_manager: bool = True) -> Path:
        """Build if needed, start the cluster under ``workdir``, wait for /readyz; return the kubeconfig."""
        if self._proc is not None:
            raise ClusterError("cluster already started")
        build()
        workdir = workdir.resolve()
        workdir.mkdir(parents=True, exist_ok=True)
        self._workdir = workdir
        self._port = port if port is not None else free_port()
        self._log_file = workdir / "testcluster.log"
        kubeconfig = workdir / "kubeconfig"
        kubeconfig.unlink(missing_ok=True)
        args = [
            str(self.bin_dir / "testcluster"),
            f"--data-dir={workdir / 'data'}",
            f"--port={self._port}",
            f"--kubeconfig={kubeconfig}",
            f"--controller-manager={'true' if controller_manager else 'false'}",
        ]
        with self._log_file.open("ab") as log:
            self._proc = subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent,  # noqa: PLW1509 - only async-signal-safe prctl()
            )
        try:
            self._wait_ready(READY_TIMEOUT_S)
        except BaseException:
            self.stop()
            raise
        return kubeconfig

    def stop(self) -> None:
        """SIGTERM the cluster (it shuts down apiserver, controller-manager, etcd); SIGKILL if it hangs."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=STOP_TIMEOUT_S)

    def __enter__(self) -> TestCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- properties ------------------------------------------------------------------------------

    @property
    def workdir(self) -> Path:
        if self._workdir is None:
            raise ClusterError("cluster not started")
        return self._workdir

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig"

    @property
    def server_url(self) -> str:
        if self._port is None:
            raise ClusterError("cluster not started")
        return f"https://127.0.0.1:{self._port}"

    @property
    def ca_file(self) -> Path:
        return self.workdir / "data" / "pki" / "ca.crt"

    @property
    def log_file(self) -> Path:
        return self.workdir / "testcluster.log"

    @property
    def controller_manager_log_file(self) -> Path:
        return self.workdir / "data" / "controller-manager.log"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # -- clients ---------------------------------------------------------------------------------

    def env(self) -> dict[str, str]:
        """Environment for a process that should talk to this cluster (KUBECONFIG, PATH with kubectl/helm)."""
        env = dict(os.environ)
        env["KUBECONFIG"] = str(self.kubeconfig)
        env["PATH"] = f"{self.bin_dir}{os.pathsep}{env.get('PATH', '')}"
        # Keep helm's cache/config/data inside the cluster's workdir, not the user's home.
        for var, sub in (
            ("HELM_CACHE_HOME", "cache"),
            ("HELM_CONFIG_HOME", "config"),
            ("HELM_DATA_HOME", "data"),
        ):
            env.setdefault(var, str(self.workdir / "helm" / sub))
        return env

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = False, timeout: float = 120.0
    ) -> subprocess.CompletedProcess[str]:
        return self._run("kubectl", args, input=input, check=check, timeout=timeout)

    def helm(
        self, *args: str, input: str | None = None, check: bool = False, timeout: float = 300.0
    ) -> subprocess.CompletedProcess[str]:
        return self._run("helm", args, input=input, check=check, timeout=timeout)

    def _run(
        self, tool: str, args: tuple[str, ...], *, input: str | None, check: bool, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin_dir / tool), f"--kubeconfig={self.kubeconfig}", *args],
            input=input,
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=timeout,
            check=check,
        )

    # -- internals -------------------------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext:
        pki = self.workdir / "data" / "pki"
        ctx = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        ctx.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        return ctx

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last = "not started"
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                code = None if self._proc is None else self._proc.returncode
                raise ClusterError(f"testcluster exited with {code} before it was ready:\n{self._log_tail()}")
            if self.kubeconfig.exists():  # written by testcluster once its own /readyz check passed
                try:
                    with urllib.request.urlopen(
                        f"{self.server_url}/readyz", context=self._ssl_context(), timeout=5
                    ) as resp:
                        if resp.status == 200:
                            return
                        last = f"HTTP {resp.status}"
                except (urllib.error.URLError, OSError) as exc:
                    last = str(exc)
            time.sleep(0.5)
        raise ClusterError(f"cluster not ready after {timeout:.0f}s ({last}):\n{self._log_tail()}")

    def _log_tail(self, lines: int = 40) -> str:
        if self._log_file is None or not self._log_file.exists():
            return "(no log)"
        return "\n".join(self._log_file.read_text(errors="replace").splitlines()[-lines:])
