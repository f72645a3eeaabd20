"""A real API server for the prompt tests: the FastAPI app on uvicorn in a thread, on a loopback port,
reading the test's Postgres; prompts stored the way the Prompt controller stores them."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import uvicorn

from otelguard.api.v1alpha1.prompt import LATEST, PromptSpec
from otelguard.auth import Credentials, KeyCache, Principal
from otelguard.controllers.base import content_hash
from otelguard.controllers.prompt import prompt_content
from otelguard.storage.clickhouse import ClickHouseTransport
from otelguard.storage.postgres import Database
from otelguard.storage.postgres.prompts import apply_prompt
from otelguard.webui.app import create_app
from otelguard.webui.context import ApiContext
from platform_process import free_port

KEY = "prompt-test-key-0123456789"
AUTH = {"authorization": f"Bearer {KEY}"}


@dataclass(slots=True)
class PromptContext(ApiContext):
    """ApiContext plus the Postgres pool the prompt routes read (until ApiContext carries it)."""

    postgres: Database | None = None


OTHER_KEY = "prompt-test-other-project-key"  # a second project's key
OTHER_AUTH = {"authorization": f"Bearer {OTHER_KEY}"}


def keys() -> KeyCache:
    def verify(creds: Credentials) -> Principal | None:
        if creds.secret == OTHER_KEY:
            return Principal("p2", "other", "pk2")
        return Principal("p1", "default", "pk") if creds.secret == KEY else None

    return KeyCache(verify)


def store(
    db: Database,
    name: str,
    spec: dict[str, Any],
    *,
    namespace: str = "default",
    generation: int = 1,
    git_revision: str | None = None,
) -> int:
    """What the Prompt controller writes for ``spec`` (content, hash, labels)."""
    parsed = PromptSpec.model_validate(spec)
    content = prompt_content(parsed)
    full = parsed.model_dump(mode="json", by_alias=True, exclude_none=True)
    targets = {k: None if v == LATEST else int(v) for k, v in parsed.labels.items()}
    result = apply_prompt(
        db, namespace=namespace, name=name, uid=None, generation=generation, labels={}, spec=full,
        spec_hash=content_hash(full), content=content, content_hash=content_hash(content),
        label_targets=targets, git_revision=git_revision, actor="test",
    )  # fmt: skip
    return result.version


class Server:
    """uvicorn serving ``create_app`` on 127.0.0.1:<free port>; ``stop()`` really closes the socket."""

    def __init__(
        self, db: Database, port: int | None = None, clickhouse: ClickHouseTransport | None = None
    ) -> None:
        self.port = port or free_port()
        # No ClickHouse: the routes reading traces answer 503.
        context = PromptContext(clickhouse=clickhouse, keys=keys(), postgres=db)  # type: ignore[arg-type]
        config = uvicorn.Config(
            create_app(context), host="127.0.0.1", port=self.port, log_level="warning", access_log=False,
            http="httptools", lifespan="off",
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("API server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(20)
