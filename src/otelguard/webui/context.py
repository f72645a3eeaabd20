"""What the API's routers need at run time, handed to ``create_app`` (no globals)."""

from __future__ import annotations

from dataclasses import dataclass

from otelguard.auth import KeyCache
from otelguard.storage.clickhouse import ClickHouseTransport
from otelguard.storage.postgres import Database
from otelguard.webui.guard_service import GuardService


@dataclass(slots=True)
class ApiContext:
    clickhouse: ClickHouseTransport
    keys: KeyCache
    ready: bool = True
    guard: GuardService | None = None  # POST /api/v1/guard (503 without it)
    postgres: Database | None = None  # prompts (503 without it)
