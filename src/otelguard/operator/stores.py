"""Where a namespace's configuration lives: the Postgres (and ClickHouse) of its OTelGuard installation.

Each namespace runs its own installation, so a GuardrailPolicy in namespace X is stored in the Postgres that
X's OTelGuard names through ``spec.storage.postgres.dsnSecretRef``. Pools are opened on demand and shared by
DSN; migrations run once per database per operator process.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from otelguard.controllers import StorageConfig
from otelguard.operator.kube import KubeApi
from otelguard.storage import clickhouse, postgres


class StoreUnavailable(Exception):
    """A reason (CamelCase) and a message for the resource's Ready condition."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class NamespaceStores:
    def __init__(self, kube: KubeApi, data_dir: Path) -> None:
        self.kube = kube
        self.data_dir = data_dir
        self._lock = threading.Lock()
        self._databases: dict[str, postgres.Database] = {}
        self._clickhouse: dict[str, clickhouse.ClickHouseTransport] = {}

    def installation(self, namespace: str) -> Mapping[str, Any] | None:
        items = sorted(self.kube.list_custom("otelguards", namespace), key=lambda o: o["metadata"]["name"])
        return items[0] if items else None

    def _secret(self, namespace: str, ref: tuple[str, str], what: str) -> str:
        value = self.kube.read_secret(namespace, *ref)
        if value is None:
            raise StoreUnavailable(
                "SecretNotFound",
                f"{what}: Secret {namespace}/{ref[0]} has no key {ref[1]!r} (or is not readable)",
            )
        return value.strip()

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
            raise StoreUnavailable(
                "NoInstallation",
                f"no OTelGuard resource in namespace {namespace}: it names the Postgres this is stored in",
            )
        ref = (((install.get("spec") or {}).get("storage") or {}).get("postgres") or {}).get(
            "dsnSecretRef"
        ) or {}
        if not ref.get("name") or not ref.get("key"):
            raise StoreUnavailable("NoInstallation", f"OTelGuard in {namespace} names no Postgres DSN Secret")
        dsn = self._secret(namespace, (ref["name"], ref["key"]), "spec.storage.postgres.dsnSecretRef")
        return self.database_for_dsn(dsn)

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
            self._databases.clear()
            self._clickhouse.clear()
