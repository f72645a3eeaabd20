"""kopf wiring: when to reconcile which kind. The logic lives in reconcile.py and the controllers.

Kopf's own bookkeeping (progress, last-handled spec) is kept in ``otelguard.io/`` annotations; finalizers are
registered only for kinds with rows outside Kubernetes (everything but OTelGuard, whose children are
garbage-collected through owner references).

A timer per Evaluator copies the eval workers' counters from the installation's Redis into its status. Those
are status-only patches: kopf's diff base holds spec and metadata, so they never re-run ``reconcile``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import kopf
import redis

from otelguard.api.v1alpha1 import KINDS
from otelguard.api.v1alpha1.base import GROUP, VERSION
from otelguard.controllers import delete_db, ready_condition
from otelguard.evals.stats import read_stats, status_fields
from otelguard.operator import metrics
from otelguard.operator.kube import KubeApi
from otelguard.operator.reconcile import reconcile, status_patch
from otelguard.operator.stores import NamespaceStores, StoreUnavailable

__all__ = ["FINALIZER", "STATS_INTERVAL_S", "configure", "register"]

FINALIZER = "otelguard.io/finalizer"
STATS_INTERVAL_S = 15.0
STATS_TIMER = "worker-stats"
log = logging.getLogger(__name__)


class _QuietTimer(logging.Filter):
    """kopf logs every successful handler run at INFO: for the stats timer, a line per Evaluator per tick."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != f"Timer {STATS_TIMER!r} succeeded."


_QUIET_TIMER = _QuietTimer()


def configure(settings: kopf.OperatorSettings) -> None:
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="otelguard.io")
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix="otelguard.io", key="last-handled-configuration"
    )
    settings.posting.level = logging.WARNING  # Events for problems, not for every log line
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330


def register(registry: kopf.OperatorRegistry, *, stats_interval_s: float = STATS_INTERVAL_S) -> None:
    kopf.timer(
        GROUP,
        VERSION,
        "evaluators",
        interval=stats_interval_s,
        initial_delay=min(2.0, stats_interval_s),
        registry=registry,
        id=STATS_TIMER,
    )(_WorkerStats().handle)
    logging.getLogger("kopf.objects").addFilter(_QUIET_TIMER)  # idempotent: the same filter object
    for info in KINDS:
        kind = info.kind
        handler = _reconcile_handler(kind)
        for decorator in (kopf.on.resume, kopf.on.create, kopf.on.update):
            decorator(GROUP, VERSION, info.plural, registry=registry, id="reconcile")(handler)
        if kind != "OTelGuard":
            kopf.on.delete(GROUP, VERSION, info.plural, registry=registry, id="cleanup")(
                _cleanup_handler(kind)
            )


def _reconcile_handler(kind: str) -> Any:
    def handle(body: kopf.Body, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
        kube: KubeApi = memo["kube"]
        stores: NamespaceStores = memo["stores"]
        started = time.perf_counter()
        try:
            outcome = reconcile(kube, stores, body)
        except Exception:
            metrics.ERRORS.labels(kind).inc()
            raise  # kopf retries with backoff
        finally:
            metrics.DURATION.labels(kind).observe(time.perf_counter() - started)
        old = dict(body.get("status") or {})
        changes = status_patch(old, outcome.status)
        if changes:
            patch.status.update(changes)
        metrics.WRITES.labels(kind).inc(outcome.writes + bool(changes))
        before, after = ready_condition(old), ready_condition(outcome.status)
        ready = after.status if after is not None else "Unknown"
        metrics.RECONCILES.labels(kind, ready).inc()
        # Events for problems and recoveries only: a resource becoming Ready on first sight is the normal
        # case, and an Event for each would be one more API write per resource (and noise).
        if (
            after is not None
            and after.status == "False"
            and (before is None or before.reason != after.reason)
        ):
            kopf.event(body, type="Warning", reason=after.reason, message=after.message[:1024])
        elif after is not None and after.status == "True" and before is not None and before.status == "False":
            kopf.event(body, type="Normal", reason=after.reason, message=after.message[:1024])

    handle.__name__ = f"reconcile_{kind.lower()}"
    return handle


def _cleanup_handler(kind: str) -> Any:
    def cleanup(body: kopf.Body, memo: kopf.Memo, namespace: str, name: str, **_: Any) -> None:
        stores: NamespaceStores = memo["stores"]
        try:
            db = stores.database(namespace)
        except StoreUnavailable as exc:
            if exc.reason == "NoInstallation":
                # The installation (and with it the database) is gone: nothing left to clean.
                log.info("%s %s/%s: %s; releasing the finalizer", kind, namespace, name, exc.message)
                return
            raise kopf.TemporaryError(exc.message, delay=10) from None
        removed = delete_db(db, kind, namespace, name)
        log.info("%s %s/%s deleted: %d database rows removed", kind, namespace, name, removed)

    cleanup.__name__ = f"cleanup_{kind.lower()}"
    return cleanup


class _WorkerStats:
    """The ``worker-stats`` timer. Logs go to the module logger, not kopf's per-object one: that one posts
    Events at WARNING, and an unreachable Redis is not news on every tick for every Evaluator."""

    def __init__(self) -> None:
        self._failing: dict[str, str] = {}  # namespace → last Redis error warned about

    def handle(self, body: kopf.Body, spec: kopf.Spec, patch: kopf.Patch, memo: kopf.Memo, **_: Any) -> None:
        if spec.get("suspend"):
            return
        namespace, name = body.metadata.namespace or "", body.metadata.name or ""
        stores: NamespaceStores = memo["stores"]
        try:
            stats = read_stats(stores.redis(namespace), f"{namespace}/{name}")
        except StoreUnavailable as exc:
            log.debug("Evaluator %s/%s: no worker stats: %s", namespace, name, exc.message)
            return
        except redis.RedisError as exc:
            error = str(exc) or type(exc).__name__
            if self._failing.get(namespace) != error:  # once per namespace and error, not per tick
                log.warning("Evaluator %s/%s: reading worker stats from Redis: %s", namespace, name, error)
            else:
                log.debug("Evaluator %s/%s: reading worker stats from Redis: %s", namespace, name, error)
            self._failing[namespace] = error
            return
        if self._failing.pop(namespace, None) is not None:
            log.info("worker stats in namespace %s are readable again", namespace)
        old = body.get("status") or {}
        changes = {k: v for k, v in status_fields(stats).items() if old.get(k) != v}
        if changes:
            patch.status.update(changes)
