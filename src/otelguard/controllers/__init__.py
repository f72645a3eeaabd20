"""Controllers: one module per kind, pure functions from a resource to its desired state and status.

Used alike by the operator and the local mode::

    inp = ReconcileInput.from_object(obj, now=now, observed=child_statuses)
    ctl = CONTROLLERS[inp.kind]
    desired = ctl.plan(inp)                      # pure
    # apply: server-side apply desired.children (unless desired.suspended), then
    applied = apply_db(db, desired)              # database rows (0 writes when unchanged)
    # OTelGuard only: Applied(storage=apply_storage(desired.storage, transport, db))
    new_status = ctl.status(inp, desired, applied)   # pure; patch only if != the stored status

No kopf, no Kubernetes client here (import-linter enforces it).
"""

from otelguard.controllers.apply import (
    STORAGE_ERRORS,
    apply_clickhouse,
    apply_db,
    apply_storage,
    delete_db,
    retention_of,
)
from otelguard.controllers.base import (
    GIT_REVISION_ANNOTATION,
    MANAGED_BY,
    RECONCILED,
    SUSPENDED,
    Applied,
    Controller,
    DbConfig,
    Desired,
    Failure,
    PromptRows,
    ReconcileInput,
    ResourceRow,
    StorageConfig,
    StorageOutcome,
    child_key,
    child_selector,
    content_hash,
    ready_condition,
    stale_children,
    unparseable_status,
)
from otelguard.controllers.installation import AVAILABLE, CONFIG_HASH_ANNOTATION, STORAGE_READY
from otelguard.controllers.registry import CONTROLLERS

__all__ = [
    "AVAILABLE",
    "CONFIG_HASH_ANNOTATION",
    "CONTROLLERS",
    "GIT_REVISION_ANNOTATION",
    "MANAGED_BY",
    "RECONCILED",
    "STORAGE_ERRORS",
    "STORAGE_READY",
    "SUSPENDED",
    "Applied",
    "Controller",
    "DbConfig",
    "Desired",
    "Failure",
    "PromptRows",
    "ReconcileInput",
    "ResourceRow",
    "StorageConfig",
    "StorageOutcome",
    "apply_clickhouse",
    "apply_db",
    "apply_storage",
    "child_key",
    "child_selector",
    "content_hash",
    "delete_db",
    "ready_condition",
    "retention_of",
    "stale_children",
    "unparseable_status",
]
