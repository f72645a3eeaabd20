"""Start a real ``otelguard up`` as a subprocess on free loopback ports (for integration and e2e tests)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

API_KEY = "test-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Platform:
    data_dir: Path
    api_key: str = API_KEY
    env: dict[str, str] = field(default_factory=dict)
    api_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    grpc_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    manifests: Path | None = None  # `otelguard up --manifests DIR`

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def otlp_http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_endpoint(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.api_key}"}

    def start(self, timeout_s: float = 120.0) -> None:
        env = {**os.environ, "OTELGUARD_API_KEY": self.api_key, **self.env}
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        cmd = [
            sys.executable, "-m", "otelguard.cli", "up",
            "--data-dir", str(self.data_dir),
            "--port", str(self.api_port),
            "--otlp-http-port", str(self.http_port),
            "--otlp-grpc-port", str(self.grpc_port),
            *(["--manifests", str(self.manifests)] if self.manifests is not None else []),
        ]  # fmt: skip
        self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"otelguard up exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                if (
                    httpx.get(f"{self.api_url}/readyz", timeout=1).status_code == 200
                    and httpx.get(f"{self.otlp_http_url}/readyz", timeout=1).status_code == 200
                ):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.kill()
        raise TimeoutError(f"otelguard up did not become ready:\n{self.logs()}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def stop(self, timeout_s: float = 60.0) -> int:
        """SIGTERM and wait: the graceful path."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout_s)
        self.proc = None
        return code

    def close(self) -> None:
        """Teardown: a graceful stop (it also stops the embedded Postgres and Redis), else SIGKILL."""
        if self.proc is None:
            return
        try:
            self.stop(60)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL: the crash path."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(30)
            self.proc = None

    def get(self, path: str, **params: object) -> httpx.Response:
        return httpx.get(f"{self.api_url}{path}", params=params, headers=self.auth, timeout=30)  # type: ignore[arg-type]

    def wait_for_traces(
        self, expected: int, timeout_s: float = 30.0, **params: object
    ) -> list[dict[str, object]]:
        deadline = time.monotonic() + timeout_s
        items: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            response = self.get("/api/v1/traces", limit=1000, **params)
            response.raise_for_status()
            items = response.json()["items"]
            if len(items) >= expected:
                return items
            time.sleep(0.2)
        raise AssertionError(f"expected {expected} traces, saw {len(items)}")
