"""What the API's routers need at run time, handed to ``create_app`` (no globals)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from otelguard.auth import KeyCache
from otelguard.storage.clickhouse import ClickHouseTransport
from otelguard.storage.clickhouse.eval_spans import StoredSpan
from otelguard.storage.postgres import Database, StoredResource
from otelguard.webui.guard_service import GuardService


class Backfilled(Protocol):
    @property
    def matched(self) -> int: ...
    @property
    def tasks(self) -> int: ...


class EvaluationQueue(Protocol):
    """Hands stored spans to the eval workers (``otelguard.evals``; injected: webui may not import it)."""

    def backfill(
        self, evaluator: StoredResource, project_name: str, spans: Sequence[StoredSpan]
    ) -> Backfilled: ...


@dataclass(slots=True)
class ApiContext:
    clickhouse: ClickHouseTransport
    keys: KeyCache
    ready: bool = True
    guard: GuardService | None = None  # POST /api/v1/guard (503 without it)
    postgres: Database | None = None  # prompts (503 without it)
    evaluations: EvaluationQueue | None = None  # evaluator backfills (503 without it)
