"""One reconcile of one resource against the cluster: plan (pure) → apply children, rows, storage → status.

Shared by every kind; kopf only decides *when* it runs (handlers.py).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pydantic
from kubernetes.client.exceptions import ApiException

from otelguard.controllers import (
    CONTROLLERS,
    STORAGE_ERRORS,
    Applied,
    Desired,
    ReconcileInput,
    apply_db,
    apply_storage,
    child_key,
    child_selector,
    content_hash,
    stale_children,
    unparseable_status,
)
from otelguard.operator.kube import CHILD_KINDS, KubeApi
from otelguard.operator.stores import NamespaceStores, StoreUnavailable

log = logging.getLogger(__name__)

Json = dict[str, Any]


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    status: Json
    writes: int  # children applied + database rows written


def reconcile(kube: KubeApi, stores: NamespaceStores, body: Mapping[str, Any]) -> Outcome:
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        inp = ReconcileInput.from_object(body, now=now)
    except pydantic.ValidationError as exc:
        # The API server validated the schema; only a rule the Python model adds can land here.
        return Outcome(unparseable_status(body, str(exc), now), 0)
    controller = CONTROLLERS[inp.kind]
    desired = controller.plan(inp)
    applied: Applied | None = None
    writes = 0
    observed: dict[str, Mapping[str, Any]] = {}
    if desired.invalid is None and not desired.suspended:
        try:
            for child in desired.children:
                writes += kube.apply(child, content_hash(child))
            if desired.children:
                writes += prune(kube, inp, desired)
            for child in desired.children:
                if child["kind"] in ("Deployment", "StatefulSet"):
                    live = kube.get(child["kind"], child["metadata"]["namespace"], child["metadata"]["name"])
                    observed[child_key(child["kind"], child["metadata"]["name"])] = (live or {}).get(
                        "status"
                    ) or {}
            if desired.storage is not None:
                transport, db = stores.storage(inp.namespace, desired.storage)
                outcome = apply_storage(desired.storage, transport, db)
                writes += outcome.writes
                applied = Applied(storage=outcome)
            if desired.db is not None:
                applied = apply_db(stores.database(inp.namespace), desired)
                writes += applied.writes
        except StoreUnavailable as exc:
            applied = Applied.failed(exc.reason, exc.message)
        except STORAGE_ERRORS as exc:
            applied = Applied.failed("StorageUnavailable", str(exc).strip() or type(exc).__name__)
        except ApiException as exc:
            applied = Applied.failed("ApplyFailed", f"Kubernetes API: {exc.status} {exc.reason}")
    if observed:
        inp = dataclasses.replace(inp, observed=observed)
    return Outcome(controller.status(inp, desired, applied), writes)


def prune(kube: KubeApi, inp: ReconcileInput, desired: Desired) -> int:
    """Delete the children this resource made that its current spec no longer wants (after the wanted
    ones are applied, so a rename never leaves a gap). Reads only in the steady state."""
    deleted = 0
    for kind in CHILD_KINDS:
        live = kube.list_children(kind, inp.namespace, child_selector(inp))
        for obj in stale_children(inp, desired, live):
            meta = obj["metadata"]
            if kube.delete(kind, inp.namespace, meta["name"], meta["uid"]):
                log.info(
                    "%s %s/%s: deleted %s %s (no longer desired)",
                    inp.kind,
                    inp.namespace,
                    inp.name,
                    kind,
                    meta["name"],
                )
                deleted += 1
    return deleted


def status_patch(old: Mapping[str, Any], new: Mapping[str, Any]) -> Json:
    """A JSON merge patch turning ``old`` into ``new`` (top-level keys; absent ones set to null)."""
    patch: Json = {k: v for k, v in new.items() if old.get(k) != v}
    patch.update({k: None for k in old if k not in new})
    return patch
