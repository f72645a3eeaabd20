"""What the API's routers need at run time, handed to ``create_app`` (no globals)."""

from __future__ import annotations

from dataclasses import dataclass

from otelguard.auth import KeyCache
from otelguard.storage.clickhouse import ClickHouseTransport


@dataclass(slots=True)
class ApiContext:
    clickhouse: ClickHouseTransport
    keys: KeyCache
    ready: bool = True
