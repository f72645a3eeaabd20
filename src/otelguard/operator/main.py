"""``otelguard operator``: run the kopf operator (standalone: one replica, Recreate strategy)."""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import kopf
from prometheus_client import start_http_server

from otelguard.operator.handlers import STATS_INTERVAL_S, configure, register
from otelguard.operator.kube import KubeApi
from otelguard.operator.stores import NamespaceStores

STATS_INTERVAL_ENV = "OTELGUARD_EVALUATOR_STATS_INTERVAL"


def stats_interval(environ: Mapping[str, str] = os.environ) -> float:
    """Seconds between copies of the eval workers' counters into Evaluator status (env, default 15)."""
    raw = environ.get(STATS_INTERVAL_ENV, "").strip()
    if not raw:
        return STATS_INTERVAL_S
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0.1 <= value <= 86400):
        raise SystemExit(f"{STATS_INTERVAL_ENV} must be a number of seconds from 0.1 to 86400, not {raw!r}")
    return value


def run(
    *,
    namespaces: Sequence[str],
    clusterwide: bool,
    liveness: str | None,
    metrics_port: int | None,
    data_dir: Path,
    log_level: str = "info",
) -> None:
    interval = stats_interval()  # a bad value stops here, before anything starts
    logging.basicConfig(
        level=getattr(logging, log_level.upper()), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if metrics_port:
        start_http_server(metrics_port)
    kube = KubeApi()
    stores = NamespaceStores(kube, data_dir)
    registry = kopf.OperatorRegistry()
    register(registry, stats_interval_s=interval)

    @kopf.on.startup(registry=registry)
    def _startup(settings: kopf.OperatorSettings, **_: Any) -> None:
        configure(settings)

    @kopf.on.login(registry=registry)
    def _login(**kwargs: Any) -> kopf.ConnectionInfo | None:
        # In a pod: the ServiceAccount token; elsewhere: KUBECONFIG (via the same client KubeApi uses).
        return kopf.login_via_client(**kwargs)

    @kopf.on.cleanup(registry=registry)
    def _cleanup(**_: Any) -> None:
        stores.close()

    kopf.run(
        registry=registry,
        standalone=True,
        clusterwide=clusterwide,
        namespaces=list(namespaces),
        liveness_endpoint=liveness,
        memo=kopf.Memo(kube=kube, stores=stores),
    )
