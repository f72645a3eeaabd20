"""Postgres storage: connection pool, versioned migrations, projects and API keys."""

from otelguard.storage.postgres.database import Database, DatabaseUnavailableError
from otelguard.storage.postgres.migrations import Migration, MigrationError, load_migrations, migrate
from otelguard.storage.postgres.projects import (
    SECRET_MIN_LENGTH,
    ApiKey,
    IssuedKey,
    KeyConflictError,
    KeyIdentity,
    Project,
    create_api_key,
    ensure_project,
    get_project,
    hash_secret,
    list_api_keys,
    list_projects,
    revoke_api_key,
    verify_api_key,
)

__all__ = [
    "SECRET_MIN_LENGTH",
    "ApiKey",
    "Database",
    "DatabaseUnavailableError",
    "IssuedKey",
    "KeyConflictError",
    "KeyIdentity",
    "Migration",
    "MigrationError",
    "Project",
    "create_api_key",
    "ensure_project",
    "get_project",
    "hash_secret",
    "list_api_keys",
    "list_projects",
    "load_migrations",
    "migrate",
    "revoke_api_key",
    "verify_api_key",
]

from otelguard.storage.postgres.prices import get_price_overrides, set_price_overrides

__all__ += ["get_price_overrides", "set_price_overrides"]
