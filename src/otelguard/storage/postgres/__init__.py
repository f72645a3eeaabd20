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

# Configuration rows reconciled from custom resources, and prompt versions (controllers write, others read).
from otelguard.storage.postgres.prompts import (  # noqa: E402
    PromptApplyResult,
    PromptVersion,
    apply_prompt,
    get_prompt_labels,
    get_prompt_version,
    list_prompt_versions,
)
from otelguard.storage.postgres.resources import (  # noqa: E402
    CONFIG_CHANNEL,
    StoredResource,
    Upserted,
    delete_resource,
    get_resource,
    list_resources,
    upsert_resource,
)

__all__ += [
    "CONFIG_CHANNEL",
    "PromptApplyResult",
    "PromptVersion",
    "StoredResource",
    "Upserted",
    "apply_prompt",
    "delete_resource",
    "get_prompt_labels",
    "get_prompt_version",
    "get_resource",
    "list_prompt_versions",
    "list_resources",
    "upsert_resource",
]

# Custom resources of the local GitOps mode (otelguard up --manifests, otelguard apply/get/delete).
from otelguard.storage.postgres.local_objects import (  # noqa: E402
    ConflictError,
    LocalObject,
    Put,
    delete_local_object,
    get_local_object,
    list_local_objects,
    put_local_object,
)

__all__ += [
    "ConflictError",
    "LocalObject",
    "Put",
    "delete_local_object",
    "get_local_object",
    "list_local_objects",
    "put_local_object",
]
