"""Shapes every controller shares: its input, its plan (``Desired``), what applying it did (``Applied``),
and the pure helpers that turn those into Kubernetes children and a status.

A reconcile is three steps; only the middle one does I/O and it lives outside the planning code:
``plan(input) -> Desired`` (pure) → the caller applies ``Desired`` (server-side apply of ``children``;
``apply.apply_db`` for ``db``; ``apply.apply_storage`` for ``storage``) → ``status(input, desired,
applied) -> dict`` (pure). Re-planning an unchanged resource yields an equal status dict, so the caller can
skip the status patch when ``new == old``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pydantic import ValidationError

from otelguard.api.v1alpha1 import (
    API_VERSION,
    READY,
    Condition,
    ConditionStatus,
    Resource,
    StatusBase,
    find_condition,
    kind_of,
    ready_summary,
    set_condition,
)

Json = dict[str, Any]
R = TypeVar("R", bound=Resource)

MANAGED_BY = "otelguard-operator"
APP_NAME = "otelguard"
# Set by people or CI (e.g. kustomize commonAnnotations); Argo CD and Flux stamp no revision on objects.
GIT_REVISION_ANNOTATION = "otelguard.io/git-revision"

RECONCILED = "Reconciled"
SUSPENDED = "Suspended"
# Reasons of the Reconciled condition (Ready copies them when it is False).
INVALID_SPEC = "InvalidSpec"
PENDING = "Pending"


def content_hash(value: Any) -> str:
    """SHA-256 hex of ``value`` as canonical JSON (sorted keys, no spaces): equal content, equal hash."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def child_key(kind: str, name: str) -> str:
    """How ``ReconcileInput.observed`` names a child: ``Deployment/otelguard-collector``."""
    return f"{kind}/{name}"


@dataclass(frozen=True)
class Failure:
    """Why a resource is not Ready: a CamelCase reason and a message a person understands."""

    reason: str
    message: str


@dataclass(frozen=True)
class ReconcileInput:
    """One resource to reconcile, parsed, with the metadata controllers use and the clock."""

    resource: Resource  # the kind's model, parsed without status
    namespace: str
    name: str
    uid: str | None  # None in the local mode: children then get no ownerReferences
    generation: int | None
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    now: datetime
    status: Mapping[str, Any] = field(default_factory=dict)  # the previous status, as stored
    # Status of children the caller observed, by child_key(kind, name); OTelGuard reads Deployments'.
    observed: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_object(
        cls,
        obj: Mapping[str, Any],
        *,
        now: datetime,
        observed: Mapping[str, Mapping[str, Any]] | None = None,
        status: Mapping[str, Any] | None = None,
        default_namespace: str = "default",
    ) -> ReconcileInput:
        """Build from a manifest or API object (defaults applied or not). ``status`` overrides
        ``obj["status"]``. Raises pydantic.ValidationError for an object its kind's model rejects."""
        info = kind_of(obj)
        body = {k: v for k, v in obj.items() if k != "status"}
        resource = info.resource.model_validate(body)
        meta = resource.metadata
        return cls(
            resource=resource,
            namespace=meta.namespace or default_namespace,
            name=meta.name,
            uid=meta.uid,
            generation=meta.generation,
            labels=dict(meta.labels),
            annotations=dict(meta.annotations),
            now=now,
            status=dict(obj.get("status") or {}) if status is None else dict(status),
            observed=dict(observed or {}),
        )

    @property
    def kind(self) -> str:
        kind: str = getattr(self.resource, "kind")  # noqa: B009 - every concrete kind declares it
        return kind

    def resource_as(self, cls: type[R]) -> R:
        if not isinstance(self.resource, cls):
            raise TypeError(f"expected a {cls.__name__}, got a {self.kind}")
        return self.resource

    @property
    def git_revision(self) -> str | None:
        return self.annotations.get(GIT_REVISION_ANNOTATION) or None


@dataclass(frozen=True)
class ResourceRow:
    """The ``resources`` row of a kind: spec JSON and the hash its version number follows."""

    kind: str
    namespace: str
    name: str
    uid: str | None
    generation: int | None
    labels: Mapping[str, str]
    spec: Json
    spec_hash: str


@dataclass(frozen=True)
class PromptRows:
    """A Prompt's version content and label targets (None: the current content's version, "latest")."""

    content: Json
    content_hash: str
    labels: Mapping[str, int | None]
    git_revision: str | None


@dataclass(frozen=True)
class DbConfig:
    row: ResourceRow
    prompt: PromptRows | None = None


@dataclass(frozen=True)
class StorageConfig:
    """OTelGuard's storage step: ClickHouse DDL + TTLs, and where the stores are (refs, not secrets)."""

    spans_days: int
    scores_days: int
    guardrail_events_days: int
    clickhouse_url: str  # without credentials, database in the path
    clickhouse_database: str
    clickhouse_cluster: str | None
    clickhouse_password_secret: tuple[str, str] | None  # (Secret name, key)
    postgres_dsn_secret: tuple[str, str]


@dataclass(frozen=True)
class Desired:
    """What a resource should look like. Empty ``children`` with ``suspended`` means: touch nothing."""

    kind: str
    children: tuple[Json, ...] = ()
    db: DbConfig | None = None
    storage: StorageConfig | None = None
    invalid: Failure | None = None  # the spec cannot be reconciled: apply nothing, Ready=False
    suspended: bool = False
    facts: Mapping[str, Any] = field(default_factory=dict)  # pure facts the status reports


@dataclass(frozen=True)
class StorageOutcome:
    """The storage step's result: ``ok`` with the schema version, or the error message."""

    ok: bool
    message: str
    schema_version: int | None = None
    writes: int = 0


@dataclass(frozen=True)
class Applied:
    """What applying ``Desired`` did: rows written (0 in the steady state) and facts only the database
    knows (version numbers). ``failure`` makes Ready False, e.g. Postgres unreachable (the caller builds
    ``Applied.failed``) or a Prompt label naming a version that does not exist."""

    writes: int = 0
    version: int | None = None
    labels: Mapping[str, int] = field(default_factory=dict)
    failure: Failure | None = None
    storage: StorageOutcome | None = None

    @classmethod
    def failed(cls, reason: str, message: str) -> Applied:
        return cls(failure=Failure(reason, message))


@dataclass(frozen=True)
class Controller:
    kind: str
    plan: Callable[[ReconcileInput], Desired]
    status: Callable[[ReconcileInput, Desired, Applied | None], Json]


def plan_stored_spec(
    inp: ReconcileInput,
    kind: str,
    spec: Any,
    problems: Sequence[Failure],
    facts: Mapping[str, Any] | None = None,
) -> Desired:
    """The plan of a kind whose reconcile is: validate, then store the spec as a versioned row."""
    if problems:
        return Desired(kind, invalid=Failure(problems[0].reason, "; ".join(p.message for p in problems)))
    doc = spec.model_dump(mode="json", by_alias=True, exclude_none=True)
    row = ResourceRow(
        kind, inp.namespace, inp.name, inp.uid, inp.generation, inp.labels, doc, content_hash(doc)
    )
    return Desired(kind, db=DbConfig(row), facts=dict(facts or {}))


# -- children ----------------------------------------------------------------------------------------------
def child_labels(inp: ReconcileInput, component: str) -> dict[str, str]:
    """Labels of every child. Never the parent's own labels: Argo CD would see them as its own and prune."""
    return {**selector_labels(inp, component), "app.kubernetes.io/managed-by": MANAGED_BY}


def selector_labels(inp: ReconcileInput, component: str) -> dict[str, str]:
    # Immutable in a Deployment selector, so only labels that never change for this child.
    return {
        "app.kubernetes.io/name": APP_NAME,
        "app.kubernetes.io/instance": inp.name,
        "app.kubernetes.io/component": component,
    }


def child_selector(inp: ReconcileInput) -> str:
    """Label selector of every child this resource may have made (under any spec it ever had)."""
    return f"app.kubernetes.io/managed-by={MANAGED_BY},app.kubernetes.io/instance={inp.name}"


def stale_children(inp: ReconcileInput, desired: Desired, live: Iterable[Json]) -> list[Json]:
    """Of the ``live`` objects matching :func:`child_selector`, the ones to delete: controlled by this very
    resource (owner reference with its uid and ``controller: true``) but no longer desired — e.g. the
    in-cluster ClickHouse after ``storage.clickhouse`` moved to a URL. Objects someone else made with the
    same labels, or a namesake resource's children (another uid), are never touched."""
    if not inp.uid:
        return []  # the local mode sets no owner references, so ownership cannot be proven
    wanted = {(c["kind"], c["metadata"]["name"]) for c in desired.children}
    out = []
    for obj in live:
        meta = obj.get("metadata") or {}
        if (obj.get("kind"), meta.get("name")) in wanted:
            continue
        owners = meta.get("ownerReferences") or []
        if any(ref.get("uid") == inp.uid and ref.get("controller") is True for ref in owners):
            out.append(obj)
    return out


def owner_reference(inp: ReconcileInput) -> Json:
    return {
        "apiVersion": API_VERSION,
        "kind": inp.kind,
        "name": inp.name,
        "uid": inp.uid,
        "controller": True,
        "blockOwnerDeletion": True,
    }


def child_metadata(
    inp: ReconcileInput, name: str, component: str, annotations: Mapping[str, str] | None = None
) -> Json:
    meta: Json = {"name": name, "namespace": inp.namespace, "labels": child_labels(inp, component)}
    if annotations:
        meta["annotations"] = dict(annotations)
    if inp.uid:
        meta["ownerReferences"] = [owner_reference(inp)]
    return meta


# -- status ------------------------------------------------------------------------------------------------
def previous_conditions(status: Mapping[str, Any]) -> list[Condition]:
    """Conditions of the stored status; malformed entries (hand-edited, older operators) are dropped."""
    out: list[Condition] = []
    for item in status.get("conditions") or []:
        try:
            out.append(Condition.model_validate(item))
        except ValidationError:
            continue
    return out


def with_condition(
    conditions: Sequence[Condition], inp: ReconcileInput, type_: str, status: ConditionStatus, why: Failure
) -> list[Condition]:
    return set_condition(conditions, type_, status, why.reason, why.message, inp.generation, inp.now)


def without_condition(conditions: Sequence[Condition], type_: str) -> list[Condition]:
    return [c for c in conditions if c.type != type_]


def suspension(
    conditions: Sequence[Condition], inp: ReconcileInput, suspended: bool, message: str
) -> list[Condition]:
    """A ``Suspended=True`` condition while ``spec.suspend`` is set; removed again on resume."""
    if not suspended:
        return without_condition(conditions, SUSPENDED)
    return with_condition(conditions, inp, SUSPENDED, "True", Failure(SUSPENDED, message))


def reconciled(
    conditions: Sequence[Condition],
    inp: ReconcileInput,
    desired: Desired,
    applied: Applied | None,
    success: Failure,
) -> list[Condition]:
    """The Reconciled condition: False for an invalid spec or a failed apply, Unknown before any apply."""
    if desired.invalid is not None:
        return with_condition(conditions, inp, RECONCILED, "False", desired.invalid)
    if applied is None:
        return with_condition(conditions, inp, RECONCILED, "Unknown", Failure(PENDING, "not applied yet"))
    if applied.failure is not None:
        return with_condition(conditions, inp, RECONCILED, "False", applied.failure)
    return with_condition(conditions, inp, RECONCILED, "True", success)


def summarize(
    conditions: Sequence[Condition], inp: ReconcileInput, depends_on: Sequence[str], success: Failure
) -> list[Condition]:
    return ready_summary(
        conditions, depends_on, inp.generation, inp.now, reason=success.reason, message=success.message
    )


def render_status(
    inp: ReconcileInput,
    status_model: type[StatusBase],
    conditions: Sequence[Condition],
    owned: Mapping[str, Any],
) -> Json:
    """The new status: previous fields this controller does not own are kept (other writers, e.g. eval
    workers' counters, and facts of the last good apply), ``owned`` replaces (None deletes), plus
    ``observedGeneration`` and the conditions in JSON form."""
    known = {f.alias or name for name, f in status_model.model_fields.items()}
    out: Json = {k: v for k, v in inp.status.items() if k in known}
    for key, value in owned.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    out.pop("observedGeneration", None)
    if inp.generation is not None:
        out["observedGeneration"] = inp.generation
    out["conditions"] = [c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in conditions]
    return out


def versioned_config_status(
    inp: ReconcileInput,
    desired: Desired,
    applied: Applied | None,
    status_model: type[StatusBase],
    *,
    pending: str,
    suspended: bool,
    suspended_message: str,
) -> Json:
    """Status of a kind stored as a versioned row whose runtime behaviour is ``pending`` (Ready says so)."""
    version = applied.version if applied is not None else None
    stored = f"stored as version {version}"
    return config_status(
        inp,
        desired,
        applied,
        status_model,
        stored=Failure("Stored", stored),
        ready=Failure("Stored", f"{stored}; {pending}"),
        owned={},
        suspended=suspended,
        suspended_message=suspended_message,
    )


def config_status(
    inp: ReconcileInput,
    desired: Desired,
    applied: Applied | None,
    status_model: type[StatusBase],
    *,
    stored: Failure,
    ready: Failure,
    owned: Mapping[str, Any],
    suspended: bool = False,
    suspended_message: str = "",
) -> Json:
    """Status of a kind reconciled into database rows: Reconciled (``stored`` on success), Ready (``ready``
    on success, else Reconciled's reason), Suspended while ``suspended``. ``owned`` facts are written only
    when the apply stored something (``applied.version`` set); otherwise the last good facts stay.

    A suspended resource is still stored (its readers skip it); Ready stays True but with reason
    Suspended, which the Argo CD health check (charts/otelguard/argocd/health.lua) shows as Suspended.
    """
    conds = previous_conditions(inp.status)
    conds = reconciled(conds, inp, desired, applied, stored)
    conds = suspension(conds, inp, suspended, suspended_message)
    if suspended:
        ready = Failure(SUSPENDED, f"{ready.message}; {suspended_message}")
    conds = summarize(conds, inp, [RECONCILED], ready)
    facts = owned if desired.invalid is None and applied is not None and applied.version is not None else {}
    return render_status(inp, status_model, conds, facts)


def ready_condition(status: Mapping[str, Any]) -> Condition | None:
    """The Ready condition of a status dict (for callers printing or testing a status)."""
    return find_condition(previous_conditions(status), READY)


def unparseable_status(obj: Mapping[str, Any], message: str, now: datetime) -> Json:
    """Status for an object its kind's model rejects (``from_object`` raised): Ready=False, InvalidSpec.

    The API server validates the same schema, so this is for objects stored before a CRD upgrade or
    written with validation off; ``message`` is the validation error.
    """
    meta = obj.get("metadata") or {}
    generation = meta.get("generation")
    previous = dict(obj.get("status") or {})
    why = Failure(INVALID_SPEC, message)
    conds = previous_conditions(previous)
    for type_ in (RECONCILED, READY):
        conds = set_condition(conds, type_, "False", why.reason, why.message, generation, now)
    out = {k: v for k, v in previous.items() if k not in ("conditions", "observedGeneration")}
    if generation is not None:
        out["observedGeneration"] = generation
    out["conditions"] = [c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in conds]
    return out
