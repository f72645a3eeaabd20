"""Open the three stores from settings: external URLs when configured, embedded servers otherwise."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from otelguard.auth import Credentials, KeyCache, Principal
from otelguard.collector.price_book import PriceBook
from otelguard.evals.worker import chain_resolvers, env_secret_resolver
from otelguard.guardrails.webhooks import SecretResolver, SecretStore, WebhookAlertSink
from otelguard.local.embedded import EmbeddedPostgres, EmbeddedRedis
from otelguard.local.manifests import load_manifests
from otelguard.semconv import PriceTable
from otelguard.settings import Settings
from otelguard.storage import clickhouse, postgres
from otelguard.webui.guard_service import (
    GuardConfig,
    GuardService,
    clickhouse_event_sink,
    postgres_policy_loader,
)

__all__ = [
    "DEFAULT_PROJECT",
    "Stores",
    "bootstrap_default_project",
    "open_postgres",
    "open_stores",
    "secret_resolver",
]

log = logging.getLogger(__name__)

DEFAULT_PROJECT = "default"


@dataclass
class Stores:
    settings: Settings
    db: postgres.Database
    clickhouse: clickhouse.ClickHouseTransport
    redis_url: str | None
    _embedded: list[EmbeddedPostgres | EmbeddedRedis] = field(default_factory=list)

    def key_cache(self) -> KeyCache:
        def verify(creds: Credentials) -> Principal | None:
            identity = postgres.verify_api_key(self.db, creds.secret, creds.public_key)
            if identity is None:
                return None
            return Principal(identity.project_id, identity.project_name, identity.public_key)

        return KeyCache(verify)

    def price_book(self) -> PriceBook:
        return PriceBook(PriceTable.default(), lambda project: postgres.get_price_overrides(self.db, project))

    def guard_service(
        self,
        *,
        local: bool = False,
        manifests: Path | None = None,
        secrets: SecretResolver | None = None,
    ) -> GuardService:
        """The guard API's service (not started): GuardrailPolicy rows polled from Postgres, events into
        ClickHouse. ``local`` (`otelguard up`): webhooks may reach loopback and private networks unless
        OTELGUARD_WEBHOOK_ALLOW_NETWORKS is set. Alert ``urlSecretRef``s resolve through
        :func:`secret_resolver`."""
        return GuardService(
            postgres_policy_loader(self.db),
            clickhouse_event_sink(self.clickhouse),
            GuardConfig.from_env(local=local),
            secrets=secret_resolver(manifests, secrets),
        )

    def ingest_alert_sink(
        self,
        *,
        local: bool = False,
        manifests: Path | None = None,
        secrets: SecretResolver | None = None,
    ) -> WebhookAlertSink:
        """The collector's ingest-stage alert webhooks (sender not started), configured like the guard
        API's: same environment (default URL, allowed networks, ``local``) and Secret resolution."""
        config = GuardConfig.from_env(local=local)
        store = SecretStore(secret_resolver(manifests, secrets), ttl_s=config.secret_ttl_s)
        return WebhookAlertSink(config.sender("ingest-alerts"), config.alert_webhook_url, store)

    def close(self) -> None:
        self.clickhouse.close()
        self.db.close()
        for server in reversed(self._embedded):
            server.stop()


def secret_resolver(manifests: Path | None = None, secrets: SecretResolver | None = None) -> SecretResolver:
    """Secrets as the guard (alert ``urlSecretRef``) reads them, like an eval worker's judge key:
    ``OTELGUARD_SECRET_<NS>_<NAME>_<KEY>`` first, then the ``manifests`` directory's Secrets, then
    ``secrets`` (the cluster's, for `otelguard api` in a pod)."""
    resolvers = [env_secret_resolver()]
    if manifests is not None:
        resolvers.append(_manifest_secrets(manifests))
    if secrets is not None:
        resolvers.append(secrets)
    return chain_resolvers(*resolvers)


def _manifest_secrets(manifests: Path) -> SecretResolver:
    # Re-read on each lookup (the guard caches values briefly): a Secret may be added or rotated later.
    return lambda ns, name, key: load_manifests([manifests]).secret_value(ns, name, key)


def _start_postgres(
    settings: Settings, embedded: list[EmbeddedPostgres | EmbeddedRedis]
) -> postgres.Database:
    dsn = settings.postgres_dsn
    if dsn is None:
        server = EmbeddedPostgres()
        dsn = server.start(settings.data_dir)
        embedded.append(server)
    db = postgres.Database(dsn)
    postgres.migrate(db)
    return db


@contextlib.contextmanager
def open_postgres(settings: Settings) -> Iterator[postgres.Database]:
    """Postgres for a short-lived command; an embedded server it had to start is stopped afterwards,
    one that was already running (owned by `otelguard up`) is left alone."""
    embedded: list[EmbeddedPostgres | EmbeddedRedis] = []
    db = _start_postgres(settings, embedded)
    try:
        yield db
    finally:
        db.close()
        for server in embedded:
            if isinstance(server, EmbeddedPostgres) and not server.reattached:
                server.stop()


def open_stores(settings: Settings, *, with_redis: bool = True) -> Stores:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    embedded: list[EmbeddedPostgres | EmbeddedRedis] = []
    try:
        db = _start_postgres(settings, embedded)
        redis_url = settings.redis_url
        if redis_url is None and with_redis:
            redis = EmbeddedRedis()
            redis_url = redis.start(settings.data_dir)
            embedded.append(redis)
        ch = clickhouse.connect(settings.clickhouse_url, settings.data_dir)
        clickhouse.migrate(ch, cluster=settings.clickhouse_cluster)
    except BaseException:
        for server in reversed(embedded):
            server.stop()
        raise
    return Stores(settings, db, ch, redis_url, embedded)


def bootstrap_default_project(db: postgres.Database, api_key: str | None) -> str | None:
    """Create project ``default`` and its first key. Returns a newly generated secret (print it once)."""
    project = postgres.ensure_project(db, DEFAULT_PROJECT)
    if api_key is not None:
        postgres.create_api_key(db, project.id, secret=api_key, note="OTELGUARD_API_KEY")
        return None
    if postgres.list_api_keys(db, project.id):
        return None
    issued = postgres.create_api_key(db, project.id, note="generated at first start")
    return issued.secret
