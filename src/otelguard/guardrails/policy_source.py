"""Stored GuardrailPolicy rows → a hot-reloaded :class:`Engine`, shared by the guard API and the collector.

A loader returns every stored policy as a :class:`PolicyRow` (engine name ``namespace/name``, version,
compiled spec, and a fingerprint that changes whenever the row does). :meth:`PolicySource.reload` reads
the rows and, when the set of fingerprints changed, recompiles the changed rows (unchanged ones reuse
their compiled policy) and swaps the engine's snapshot atomically: a check in flight keeps the snapshot
it started with. A row that does not compile is skipped and logged (the controller reports it on the
resource's status). A poller thread calls ``reload`` every ``reload_interval_s``; a failing load keeps
the current snapshot.

The loader is injected (the callers own the store): this package does not import storage.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from otelguard.guardrails.engine import Engine, Snapshot
from otelguard.guardrails.policy import CompiledPolicy, compile_all

__all__ = ["PolicyLoader", "PolicyRow", "PolicySource"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PolicyRow:
    """One stored policy: engine name (``namespace/name``), version, compiled spec, change fingerprint."""

    name: str
    version: int
    spec: Mapping[str, Any]
    fingerprint: tuple[Any, ...]


PolicyLoader = Callable[[], Sequence[PolicyRow]]


class PolicySource:
    """Owns an engine kept in step with the stored policies.

    ``on_reload`` runs (under the reload lock) after each snapshot swap, e.g. to update metrics or drop a
    result cache. ``label`` names the owner in log lines.
    """

    def __init__(
        self,
        loader: PolicyLoader,
        *,
        engine: Engine | None = None,
        reload_interval_s: float = 2.0,
        on_reload: Callable[[PolicySource], None] | None = None,
        label: str = "guardrails",
    ) -> None:
        self._loader = loader
        self.engine = engine or Engine()
        self.reload_interval_s = reload_interval_s
        self._on_reload = on_reload
        self.label = label
        self._fingerprint: tuple[Any, ...] | None = None
        self._compiled: dict[tuple[str, Any], CompiledPolicy] = {}
        self.errors: dict[str, str] = {}  # policy name → compile error
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None

    @property
    def snapshot(self) -> Snapshot:
        return self.engine.snapshot

    @property
    def loaded(self) -> bool:
        """True once a load succeeded (an empty set of policies counts)."""
        return self._fingerprint is not None

    def start(self, *, poll: bool = True) -> PolicySource:
        """Load once (a failure is logged; the poller retries), then poll in a thread when ``poll``."""
        try:
            self.reload()
        except Exception:
            log.exception("%s: loading GuardrailPolicy rows failed", self.label)
        if poll and self._poller is None:
            self._poller = threading.Thread(target=self._poll, name=f"{self.label}-reload", daemon=True)
            self._poller.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._poller is not None:
            self._poller.join(5)
            self._poller = None

    def _poll(self) -> None:
        while not self._stop.wait(self.reload_interval_s):
            try:
                self.reload()
            except Exception:
                log.exception(
                    "%s: reloading GuardrailPolicy rows failed; keeping the current snapshot", self.label
                )

    def reload(self) -> bool:
        """Read the rows; swap the snapshot when they changed. True when a new snapshot was installed."""
        with self._lock:
            rows = sorted(self._loader(), key=lambda r: r.name)
            fingerprint = tuple(r.fingerprint for r in rows)
            if fingerprint == self._fingerprint:
                return False
            compiled: dict[tuple[str, Any], CompiledPolicy] = {}
            todo = []
            for row in rows:
                key = (row.name, row.fingerprint)
                cached = self._compiled.get(key)
                if cached is not None:
                    compiled[key] = cached
                else:
                    todo.append(row)
            ok, failed = compile_all([(r.name, r.version, r.spec) for r in todo])
            by_name = {p.name: p for p in ok}
            for row in todo:
                if row.name in by_name:
                    compiled[(row.name, row.fingerprint)] = by_name[row.name]
            errors = {name: str(exc) for name, exc in failed.items()}
            for name, message in errors.items():
                if self.errors.get(name) != message:
                    log.warning(
                        "%s: GuardrailPolicy %s does not compile, skipped: %s", self.label, name, message
                    )
            self.errors = {n: m for n, m in self.errors.items() if n in errors} | errors
            self._compiled = compiled
            self.engine.swap(compiled.values())
            self._fingerprint = fingerprint
            if self._on_reload is not None:
                self._on_reload(self)
            return True
