"""Which price table applies to a project: the built-in table behind the project's overrides."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from otelguard.semconv import PriceTable

log = logging.getLogger(__name__)

OverridesLoader = Callable[[str], Sequence[Mapping[str, Any]]]


class PriceBook:
    """Caches one ``PriceTable`` per project for ``ttl_s``; an override change takes effect within it.

    A loader failure (Postgres briefly down) keeps serving the last good table rather than failing
    ingestion; a broken override set (it was validated on write, so only by hand-edited rows) falls back to
    the built-in table and is logged.
    """

    def __init__(
        self, base: PriceTable, loader: OverridesLoader | None = None, *, ttl_s: float = 30.0
    ) -> None:
        self.base = base
        self._loader = loader
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._tables: dict[str, tuple[float, PriceTable]] = {}

    def _fresh(self, project_id: str) -> PriceTable | None:
        hit = self._tables.get(project_id)
        return hit[1] if hit is not None and hit[0] > time.monotonic() else None

    def table_for(self, project_id: str) -> PriceTable:
        if self._loader is None:
            return self.base
        table = self._fresh(project_id)
        return table if table is not None else self._load(project_id)

    async def table_for_async(self, project_id: str) -> PriceTable:
        if self._loader is None:
            return self.base
        table = self._fresh(project_id)
        return table if table is not None else await asyncio.to_thread(self._load, project_id)

    def _load(self, project_id: str) -> PriceTable:
        assert self._loader is not None
        previous = self._tables.get(project_id)
        try:
            entries = self._loader(project_id)
        except Exception as exc:
            log.warning(
                "cannot load price overrides of project %s (%s); using the last known", project_id, exc
            )
            table = previous[1] if previous else self.base
        else:
            try:
                table = self.base.with_overrides(entries) if entries else self.base
            except ValueError as exc:
                log.error("invalid price overrides for project %s: %s", project_id, exc)
                table = self.base
        with self._lock:
            self._tables[project_id] = (time.monotonic() + self._ttl_s, table)
        return table
