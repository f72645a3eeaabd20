"""Where a namespace's configuration lives: the Postgres (and ClickHouse) of its OTelGuard installation.

Each namespace runs its own installation, so a GuardrailPolicy in namespace X is stored in the Postgres that
X's OTelGuard names through ``spec.storage.postgres.dsnSecretRef``. Pools are opened on demand and shared by
DSN; migrations run once per database per operator process. The installation's Redis (where eval workers
keep their counters) is resolved the same way, one client per URL.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from otelguard.controllers import StorageConfig
from otelguard.operator.kube import KubeApi
from otelguard.storage import clickhouse, postgres

__all__ = ["NamespaceStores", "StoreUnavailable", "redis_url_of"]

# Redis is read by a periodic timer on kopf's thread pool: fail fast and let the next tick try again.
_REDIS_TIMEOUTS: dict[str, Any] = {
    "socket_connect_timeout": 3.0,
    "socket_timeout": 5.0,
    "retry": Retry(NoBackoff(), 0),
}


class StoreUnavailable(Exception):
    """A reason (CamelCase) and a message for the resource's Ready condition."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def _storage(install: Mapping[str, Any], store: str) -> Mapping[str, Any]:
    return (((install.get("spec") or {}).get("storage") or {}).get(store)) or {}


def _no_installation(namespace: str, names: str) -> StoreUnavailable:
    return StoreUnavailable(
        "NoInstallation", f"no OTelGuard resource in namespace {namespace}: it names {names}"
    )


def _secret_value(namespace: str, ref: tuple[str, str], what: str, value: str | None) -> str:
    if value is None:
        raise StoreUnavailable(
            "SecretNotFound",
            f"{what}: Secret {namespace}/{ref[0]} has no key {ref[1]!r} (or is not readable)",
        )
    return value.strip()


def redis_url_of(
    namespace: str,
    install: Mapping[str, Any] | None,
    read_secret: Callable[[str, str], str | None],
) -> str:
    """The Redis URL ``install`` (``namespace``'s OTelGuard) names: ``spec.storage.redis.url``, or the value
    of ``urlSecretRef`` read through ``read_secret(name, key)``. Raises StoreUnavailable."""
    if install is None:
        raise _no_installation(namespace, "the Redis of its eval workers")
    spec = _storage(install, "redis")
    if spec.get("url"):
        return str(spec["url"]).strip()
    ref = spec.get("urlSecretRef") or {}
    if not ref.get("name") or not ref.get("key"):
        raise StoreUnavailable("NoInstallation", f"OTelGuard in {namespace} names no Redis URL")
    where = (str(ref["name"]), str(ref["key"]))
    return _secret_value(namespace, where, "spec.storage.redis.urlSecretRef", read_secret(*where))


class NamespaceStores:
    def __init__(self, kube: KubeApi, data_dir: Path) -> None:
        self.kube = kube
        self.data_dir = data_dir
        self._lock = threading.Lock()
        self._databases: dict[str, postgres.Database] = {}
        self._clickhouse: dict[str, clickhouse.ClickHouseTransport] = {}
        self._redis: dict[str, redis.Redis] = {}

    def installation(self, namespace: str) -> Mapping[str, Any] | None:
        items = sorted(self.kube.list_custom("otelguards", namespace), key=lambda o: o["metadata"]["name"])
        return items[0] if items else None

    def _secret(self, namespace: str, ref: tuple[str, str], what: str) -> str:
        return _secret_value(namespace, ref, what, self.kube.read_secret(namespace, *ref))

    def database_for_dsn(self, dsn: str) -> postgres.Database:
        with self._lock:
            db = self._databases.get(dsn)
            if db is not None:
                return db
        try:
            db = postgres.Database(dsn)
            postgres.migrate(db)
        except (postgres.DatabaseUnavailableError, postgres.MigrationError) as exc:
            raise StoreUnavailable("StorageUnavailable", f"Postgres: {exc}") from None
        with self._lock:
            return self._databases.setdefault(dsn, db)

    def database(self, namespace: str) -> postgres.Database:
        """The Postgres of ``namespace``'s OTelGuard installation."""
        install = self.installation(namespace)
        if install is None:
            raise _no_installation(namespace, "the Postgres this is stored in")
        ref = _storage(install, "postgres").get("dsnSecretRef") or {}
        if not ref.get("name") or not ref.get("key"):
            raise StoreUnavailable("NoInstallation", f"OTelGuard in {namespace} names no Postgres DSN Secret")
        dsn = self._secret(namespace, (ref["name"], ref["key"]), "spec.storage.postgres.dsnSecretRef")
        return self.database_for_dsn(dsn)

    def redis_url(self, namespace: str) -> str:
        """The Redis URL of ``namespace``'s OTelGuard installation (the eval workers' broker and counters)."""
        return redis_url_of(
            namespace,
            self.installation(namespace),
            lambda name, key: self.kube.read_secret(namespace, name, key),
        )

    def redis_for_url(self, url: str) -> redis.Redis:
        """One client (connection pool) per URL, opened lazily; connection errors surface on use."""
        with self._lock:
            client = self._redis.get(url)
            if client is None:
                try:
                    client = redis.Redis.from_url(url, **_REDIS_TIMEOUTS)
                except ValueError as exc:
                    raise StoreUnavailable("StorageUnavailable", f"Redis: invalid URL: {exc}") from None
                self._redis[url] = client
            return client

    def redis(self, namespace: str) -> redis.Redis:
        """A client for the Redis of ``namespace``'s OTelGuard installation."""
        return self.redis_for_url(self.redis_url(namespace))

    def storage(
        self, namespace: str, config: StorageConfig
    ) -> tuple[clickhouse.ClickHouseTransport, postgres.Database]:
        """The stores an OTelGuard's storage step (DDL, TTLs, migrations) runs against."""
        dsn = self._secret(namespace, config.postgres_dsn_secret, "spec.storage.postgres.dsnSecretRef")
        db = self.database_for_dsn(dsn)
        url = config.clickhouse_url
        if config.clickhouse_password_secret is not None and not url.startswith("chdb:"):
            password = self._secret(namespace, config.clickhouse_password_secret, "passwordSecretRef")
            parts = urlsplit(url)
            user = parts.username or "default"
            netloc = f"{quote(user)}:{quote(password)}@{parts.hostname}" + (
                f":{parts.port}" if parts.port else ""
            )
            url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
        with self._lock:
            transport = self._clickhouse.get(url)
        if transport is None:
            try:
                transport = clickhouse.connect(url, self.data_dir, database=config.clickhouse_database)
            except (ValueError, clickhouse.ClickHouseError) as exc:
                raise StoreUnavailable("StorageUnavailable", f"ClickHouse: {exc}") from None
            with self._lock:
                transport = self._clickhouse.setdefault(url, transport)
        return transport, db

    def close(self) -> None:
        with self._lock:
            for db in self._databases.values():
                db.close()
            for transport in self._clickhouse.values():
                transport.close()
            for client in self._redis.values():
                client.close()
            self._databases.clear()
            self._clickhouse.clear()
            self._redis.clear()
