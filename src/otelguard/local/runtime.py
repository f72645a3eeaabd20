"""``otelguard up``: the whole platform in one process on embedded stores.

One asyncio loop serves the API (uvicorn), OTLP/HTTP (uvicorn, raw ASGI) and OTLP/gRPC (grpc.aio); the
collector's spool and writer run in threads. SIGINT/SIGTERM stop the receivers first, then drain
everything acknowledged into ClickHouse, then stop the stores.

``otelguard up`` also runs the local GitOps loop (``gitops.GitOpsLoop``): with ``--manifests DIR`` it
reconciles DIR once before the listeners start (so /readyz means "manifests applied"), then watches it;
in any case it runs the OTelGuard storage step for objects ``otelguard apply`` stored, since only this
process may open the embedded ClickHouse.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from otelguard.collector.grpc_receiver import make_server
from otelguard.collector.ingest_guard import IngestGuard, clickhouse_event_sink
from otelguard.collector.service import Collector
from otelguard.evals.app import create_celery
from otelguard.evals.backfill import CeleryEvaluationQueue
from otelguard.guardrails.actions import AlertSink
from otelguard.guardrails.webhooks import SecretResolver, WebhookAlertSink
from otelguard.local.evals import LocalEvals
from otelguard.local.gitops import GitOpsLoop, Pass, Reconciler
from otelguard.local.stores import Stores, bootstrap_default_project, open_stores
from otelguard.model import SpanRecord
from otelguard.settings import Settings
from otelguard.storage import postgres
from otelguard.storage.clickhouse import insert_spans
from otelguard.webui.app import create_app
from otelguard.webui.context import ApiContext
from otelguard.webui.guard_service import GuardService, postgres_policy_loader

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Ports:
    host: str = "127.0.0.1"
    api: int = 8080
    otlp_http: int = 4318
    otlp_grpc: int = 4317


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the runtime (several servers share one loop)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _bind(host: str, port: int, what: str) -> socket.socket:
    """Bind up front so a taken port is a clear error, not a uvicorn ``sys.exit`` inside a task."""
    # proto=IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and without
    # it every small response waits ~40 ms for the client's delayed ACK (Nagle).
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise OSError(f"cannot listen for the {what} on {host}:{port}: {exc.strerror}") from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _uvicorn(app: object) -> _Server:
    config = uvicorn.Config(
        app,  # type: ignore[arg-type]
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
        http="httptools",
        loop="asyncio",
    )
    return _Server(config)


def _insert(stores: Stores, evals: LocalEvals | None) -> Callable[..., None]:
    def insert(records: Sequence[SpanRecord], token: str) -> None:
        insert_spans(stores.clickhouse, records, dedup_token=token)
        if evals is not None:  # only written spans are evaluated; a replayed batch samples the same ones
            evals.offer(records)

    return insert


def _ingest_guard(stores: Stores, settings: Settings, alerts: AlertSink) -> IngestGuard:
    """Ingest-stage GuardrailPolicies, reloaded from Postgres like the guard API's; events to ClickHouse,
    ``alert`` actions to ``alerts``."""
    return IngestGuard(
        postgres_policy_loader(stores.db),
        lambda: [(p.id, p.name) for p in postgres.list_projects(stores.db)],
        clickhouse_event_sink(stores.clickhouse),
        max_text_chars=settings.max_body_bytes,
        alert_sink=alerts,
    )


async def serve(
    settings: Settings,
    ports: Ports,
    *,
    api: bool = True,
    collector: bool = True,
    manifests: Path | None = None,
    eval_workers: int = 0,
    announce: Callable[[str], None] = print,
    secrets: SecretResolver | None = None,
) -> None:
    """Run the API and/or the collector until SIGINT/SIGTERM; with both (``otelguard up``) or
    ``manifests``, also the local GitOps loop. With a collector and Redis, spans are offered to
    Evaluators and queued scores are written; ``eval_workers`` worker processes are started too.
    ``secrets`` resolves Secrets (e.g. the cluster's) after the environment and ``manifests``."""
    stores = await asyncio.to_thread(open_stores, settings, with_redis=api and collector)
    running: Collector | None = None
    gitops: GitOpsLoop | None = None
    gitops_stop = asyncio.Event()
    gitops_task: asyncio.Task[None] | None = None
    guard: GuardService | None = None
    ingest_alerts: WebhookAlertSink | None = None
    evals: LocalEvals | None = None
    try:
        generated = bootstrap_default_project(stores.db, settings.api_key)
        first: Pass | None = None
        if manifests is not None or (api and collector):
            gitops = GitOpsLoop(Reconciler(stores.db, storage=stores.clickhouse), manifests)
            try:
                first = await asyncio.to_thread(gitops.sync, quiet=True)
            except Exception:  # serve anyway: the loop retries every second
                log.exception("local GitOps: the first reconcile of %s failed", manifests)
        keys = stores.key_cache()
        if api:  # the guard API: policies hot-reloaded from Postgres, events written in the background
            service = stores.guard_service(local=collector, manifests=manifests, secrets=secrets)
            guard = await asyncio.to_thread(service.start)
        queue = CeleryEvaluationQueue(create_celery(stores.redis_url)) if stores.redis_url else None
        context = ApiContext(
            clickhouse=stores.clickhouse, keys=keys, guard=guard, postgres=stores.db, evaluations=queue
        )
        servers: list[tuple[_Server, socket.socket]] = []
        grpc_server = None
        lines: list[str] = []
        if api:
            servers.append((_uvicorn(create_app(context)), _bind(ports.host, ports.api, "API")))
            base = f"http://{ports.host}:{ports.api}"
            lines.append(f"API and UI {base}  (OpenAPI {base}/api/docs)")
        if collector:
            if stores.redis_url is not None:
                evals = LocalEvals(
                    stores.db,
                    stores.clickhouse,
                    stores.redis_url,
                    workers=eval_workers,
                    manifests=manifests,
                    local_statuses=api,  # `otelguard up`; a cluster's operator writes the counters
                )
                await asyncio.to_thread(evals.start)
            # Ingest-stage alerts: webhooks like the guard API's (`otelguard up` may reach loopback).
            ingest_alerts = stores.ingest_alert_sink(local=api, manifests=manifests, secrets=secrets)
            ingest_alerts.sender.start()
            running = Collector(
                settings,
                insert=_insert(stores, evals),
                keys=keys,
                prices=stores.price_book(),
                ingest_guard=_ingest_guard(stores, settings, ingest_alerts),
            )
            running.start()
            servers.append((_uvicorn(running.http_app), _bind(ports.host, ports.otlp_http, "OTLP/HTTP")))
            grpc_server, _ = make_server(
                running.grpc_handler,
                f"{ports.host}:{ports.otlp_grpc}",
                max_message_bytes=settings.max_body_bytes,
            )
            await grpc_server.start()
            lines.append(
                f"OTLP/HTTP http://{ports.host}:{ports.otlp_http}/v1/traces   "
                f"OTLP/gRPC {ports.host}:{ports.otlp_grpc}"
            )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        tasks = [asyncio.create_task(server.serve(sockets=[sock])) for server, sock in servers]
        try:
            await _wait_started([server for server, _ in servers], tasks)
            announce("OTelGuard is up: " + "\n  ".join(lines) + f"\n  data: {settings.data_dir.resolve()}")
            if generated:
                announce(f"  API key for project 'default' (shown once, stored hashed): {generated}")
            if first is not None:
                announce(_manifests_summary(first))
            if gitops is not None:
                gitops_task = asyncio.create_task(gitops.run(gitops_stop))
            await stop.wait()
            announce("shutting down: draining accepted spans into the store")
        finally:
            gitops_stop.set()
            if gitops_task is not None:
                await asyncio.gather(gitops_task, return_exceptions=True)
            context.ready = False
            if running is not None:
                running.http_app.ready = False
            if grpc_server is not None:
                await grpc_server.stop(grace=5)
            for server, _ in servers:
                server.should_exit = True
            await asyncio.gather(*tasks, return_exceptions=True)
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)
    finally:
        if guard is not None:
            await asyncio.to_thread(guard.close)
        if running is not None:
            await asyncio.to_thread(running.stop)
        if ingest_alerts is not None:  # after the collector: no new alerts; deliver queued ones (bounded)
            await asyncio.to_thread(ingest_alerts.sender.flush, 2.0)
            await asyncio.to_thread(ingest_alerts.sender.close)
        if evals is not None:  # after the collector: its last batches are offered, then scores drained
            await asyncio.to_thread(evals.stop)
        await asyncio.to_thread(stores.close)
    announce("stopped")


def _manifests_summary(result: Pass) -> str:
    """What `otelguard up --manifests` prints once at start: every object's Ready condition."""
    lines = [f"  manifests: {result.source} ({len(result.results)} objects, watched for changes)"]
    for item in result.results:
        lines.append(f"    {item.kind} {item.namespace}/{item.name}: {item.ready_text}")
    lines += [f"    pruned {r.kind} {r.namespace}/{r.name}" for r in result.pruned]
    lines += [f"    error: {e}" for e in result.errors]
    lines += [f"    note: {n}" for n in result.notes]
    return "\n".join(lines)


async def _wait_started(servers: list[_Server], tasks: list[asyncio.Task[None]]) -> None:
    while not all(server.started for server in servers):
        for task in tasks:
            if task.done():
                exc = task.exception()
                raise (
                    exc
                    if exc is not None
                    else RuntimeError("a server stopped during start-up (is its port already in use?)")
                )
        await asyncio.sleep(0.02)
