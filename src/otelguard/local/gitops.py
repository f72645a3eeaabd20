"""The local GitOps mode: reconcile manifests with the operator's controllers into the embedded runtime.

``Reconciler`` plays the API server and the operator at once, for one object at a time:

1. validate like the API server (``check_manifest``: schema defaults, schema, CEL). A rejected manifest is
   still stored — there is no ``kubectl`` to show the rejection to — with ``Ready=False``, reason
   InvalidSpec and the API server's message; its configuration rows stay as they were (the API server
   would have kept the previous object);
2. ``metadata.generation``: 1 on creation, +1 whenever anything outside metadata and status changes;
3. the controller: ``plan`` → ``apply_db`` (configuration rows; 0 writes when unchanged) → the OTelGuard
   storage step (ClickHouse DDL + TTLs) when this process owns ClickHouse, i.e. in ``otelguard up``
   (elsewhere StorageReady waits, saying ``otelguard up`` applies it) → ``status``;
4. store manifest, generation and status in Postgres (``local_objects``) when anything changed, so
   ``otelguard get`` in another process sees them. Unchanged manifests write nothing at all.

``sync`` does that for every manifest of a source (a directory or file given to ``otelguard up
--manifests``) and prunes objects of that source whose manifest is gone (``delete_db``: the finalizer's
job). It never prunes while any manifest failed to load or reconcile, nor everything at once (Argo CD's
``allowEmpty: false``). ``GitOpsLoop`` polls the source's files every second and re-syncs on change.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import ValidationError

from otelguard.api.v1alpha1 import GROUP, Condition, InvalidManifest, check_manifest, find_condition
from otelguard.controllers import (
    CONTROLLERS,
    STORAGE_READY,
    ReconcileInput,
    apply_db,
    apply_storage,
    delete_db,
    ready_condition,
    unparseable_status,
)
from otelguard.controllers.base import PENDING, RECONCILED, previous_conditions
from otelguard.local.manifests import Loaded, Manifest, load_manifests, manifest_files
from otelguard.storage import postgres
from otelguard.storage.clickhouse import ClickHouseTransport

__all__ = [
    "APPLY_SOURCE",
    "LOCAL_ACTOR",
    "STORAGE_BY_UP",
    "GitOpsLoop",
    "Pass",
    "Reconciler",
    "Result",
    "Verdict",
    "dry_run",
    "snapshot",
    "source_of",
]

log = logging.getLogger(__name__)

LOCAL_ACTOR: Final = "otelguard-local"  # audit_log actor, prompt_versions.created_by
APPLY_SOURCE: Final = "apply"  # objects from `otelguard apply`: never pruned
STORAGE_BY_UP: Final = (
    "the ClickHouse schema and retention are applied by `otelguard up` (the process that owns the embedded "
    "ClickHouse); a running `otelguard up` picks this up within seconds, otherwise at its next start"
)
LOCAL_OTELGUARD_NOTE: Final = (
    "local mode: no Deployments, Services or ConfigMap are created (this `otelguard up` process is the "
    "runtime); spec.retention is applied to its ClickHouse, while replicas, ports, images and "
    "spec.storage URLs and Secrets are not used"
)
# metadata fields the API server owns; a manifest exported with `get -o yaml` may carry them.
_SERVER_FIELDS: Final = frozenset(
    {
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "managedFields",
        "selfLink",
    }
)
_ATTEMPTS: Final = 5

Action = Literal["created", "configured", "unchanged", "deleted"]


def source_of(path: Path) -> str:
    """The source name of a manifests path: its absolute path."""
    return str(path.resolve())


@dataclass(frozen=True)
class Result:
    """What reconciling (or deleting) one object did."""

    kind: str
    namespace: str
    name: str
    action: Action
    generation: int
    ready: Condition | None
    before: Condition | None = None  # Ready before this reconcile
    writes: int = 0  # configuration rows + storage changes + object-store writes (0: steady state)
    rejected: str | None = None  # the API server's message, when validation rejected the manifest
    origin: str = ""
    note: str | None = None
    source: str = ""

    @property
    def ref(self) -> str:
        """``kubectl apply``'s name for it: ``prompt.otelguard.io/support-triage``."""
        return f"{self.kind.lower()}.{GROUP}/{self.name}"

    @property
    def flipped(self) -> bool:
        """Ready's status, reason or message changed."""
        return _summary(self.before) != _summary(self.ready)

    @property
    def ready_text(self) -> str:
        cond = self.ready
        if cond is None:
            return "Ready=<none>"
        return f"Ready={cond.status} {cond.reason}: {cond.message}"


def _summary(cond: Condition | None) -> tuple[str, str, str] | None:
    return None if cond is None else (cond.status, cond.reason, cond.message)


@dataclass
class Pass:
    """One sync of a source: per-object results, pruned objects, and what was not reconciled."""

    source: str
    results: list[Result] = field(default_factory=list)
    pruned: list[Result] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def writes(self) -> int:
        return sum(r.writes for r in (*self.results, *self.pruned))


# -- one object --------------------------------------------------------------------------------------------
def _clean(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest as stored: no status, no server-owned metadata."""
    out = {k: v for k, v in manifest.items() if k != "status"}
    meta = out.get("metadata")
    if isinstance(meta, dict):
        out["metadata"] = {k: v for k, v in meta.items() if k not in _SERVER_FIELDS}
    return out


def _spec_part(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """What bumps the generation: everything but metadata and status (CRDs with a status subresource)."""
    return {k: v for k, v in manifest.items() if k not in ("metadata", "status")}


def _storage_current(status: Mapping[str, Any], generation: int) -> bool:
    """StorageReady was decided (True or False) for this generation."""
    cond = find_condition(previous_conditions(status), STORAGE_READY)
    return cond is not None and cond.status != "Unknown" and cond.observed_generation == generation


def _awaiting_up(status: Mapping[str, Any], generation: int, now: datetime) -> dict[str, Any]:
    """``status`` with StorageReady Unknown, saying `otelguard up` applies it (unless decided for this
    generation); the controller keeps a StorageReady it does not run, and Ready repeats it."""
    if _storage_current(status, generation):
        return dict(status)
    pending = Condition(
        type=STORAGE_READY,
        status="Unknown",
        reason=PENDING,
        message=STORAGE_BY_UP,
        observed_generation=generation,
        last_transition_time=now.replace(microsecond=0),
    )
    previous = previous_conditions(status)
    old = find_condition(previous, STORAGE_READY)
    if old is None:
        conditions = [*previous, pending]
    else:
        if old.status == "Unknown":
            pending = pending.model_copy(update={"last_transition_time": old.last_transition_time})
        conditions = [pending if c.type == STORAGE_READY else c for c in previous]
    return {
        **status,
        "conditions": [c.model_dump(mode="json", by_alias=True, exclude_none=True) for c in conditions],
    }


def _model_message(kind: str, name: str, exc: ValidationError) -> str:
    errors = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors(include_url=False)
    )
    return f'{kind}.{GROUP} "{name}" is invalid: {errors}'


@dataclass(frozen=True)
class Verdict:
    """What applying a manifest would report, found without writing anything (``otelguard apply
    --dry-run``): the API server's rejection, or the controller's reason for Ready=False."""

    rejected: str | None = None
    failure: str | None = None

    @property
    def ok(self) -> bool:
        return self.rejected is None and self.failure is None


def dry_run(manifest: Manifest, *, now: datetime | None = None) -> Verdict:
    """Validate like the API server, then plan (pure) like the controller."""
    try:
        checked = _clean(check_manifest(manifest.body))
    except InvalidManifest as exc:
        return Verdict(rejected=str(exc))
    obj = {**checked, "metadata": {**checked["metadata"], "generation": 1}}
    try:
        inp = ReconcileInput.from_object(obj, now=now or datetime.now(UTC))
    except ValidationError as exc:
        return Verdict(rejected=_model_message(manifest.kind, manifest.name, exc))
    desired = CONTROLLERS[inp.kind].plan(inp)
    if desired.invalid is not None:
        return Verdict(failure=f"{desired.invalid.reason}: {desired.invalid.message}")
    return Verdict()


class Reconciler:
    """Reconcile manifests into Postgres (and, given ``storage``, the OTelGuard storage step into that
    ClickHouse). Thread-compatible, not thread-safe: one caller at a time."""

    def __init__(
        self,
        db: postgres.Database,
        *,
        storage: ClickHouseTransport | None = None,
        actor: str = LOCAL_ACTOR,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.storage = storage
        self.actor = actor
        self.clock = clock

    # -- public ----------------------------------------------------------------------------------------
    def apply(self, manifest: Manifest, *, source: str) -> Result:
        """Reconcile one manifest; retried when another process wrote the object meanwhile."""
        body, origin = manifest.body, str(manifest.origin)
        return self._with_retries(manifest.kind, manifest.namespace, manifest.name, body, source, origin)

    def reconcile_stored(self, obj: postgres.LocalObject) -> Result:
        """Reconcile an object again from its stored manifest (resync; the storage step of `up`)."""
        return self._with_retries(obj.kind, obj.namespace, obj.name, obj.manifest, obj.source, obj.origin)

    def sync(self, loaded: Loaded, *, source: str, prune: bool = True) -> Pass:
        """Reconcile every loaded manifest as owned by ``source``; prune that source's other objects."""
        out = Pass(source, errors=[str(e) for e in loaded.errors], notes=list(loaded.notes))
        keys = set()
        for manifest in loaded.manifests:
            keys.add(manifest.key)
            try:
                out.results.append(self.apply(manifest, source=source))
            except Exception as exc:  # one object's failure must not stop the others
                log.exception("reconciling %s failed", manifest)
                out.errors.append(f"{manifest.origin}: {manifest}: reconcile failed: {exc}")
        if prune:
            self._prune(out, keys)
        return out

    def delete(self, kind: str, namespace: str, name: str) -> Result | None:
        """Delete an object and its configuration rows (``delete_db``); None when there is no such object."""
        stored = postgres.get_local_object(self.db, kind, namespace, name)
        if stored is None:
            return None
        rows = delete_db(self.db, kind, namespace, name, actor=self.actor)
        deleted = postgres.delete_local_object(self.db, kind, namespace, name)
        return Result(
            kind,
            namespace,
            name,
            "deleted",
            stored.generation,
            ready=None,
            before=ready_condition(stored.status),
            writes=rows + int(deleted),
            origin=stored.origin,
            source=stored.source,
        )

    def needs_storage(self, obj: postgres.LocalObject) -> bool:
        """An OTelGuard whose storage step has not run for its generation (valid and not suspended)."""
        if obj.kind != "OTelGuard" or self.storage is None:
            return False
        reconciled = find_condition(previous_conditions(obj.status), RECONCILED)
        suspended = bool((obj.manifest.get("spec") or {}).get("suspend"))
        if reconciled is None or reconciled.status == "False" or suspended:
            return False
        return not _storage_current(obj.status, obj.generation)

    # -- internals -------------------------------------------------------------------------------------
    def _prune(self, out: Pass, keys: set[tuple[str, str, str]]) -> None:
        stale = [
            o
            for o in postgres.list_local_objects(self.db, source=out.source)
            if (o.kind, o.namespace, o.name) not in keys
        ]
        if not stale:
            return
        if out.errors:
            out.notes.append(
                f"not pruning {len(stale)} object(s) of {out.source} while there are errors: fix them first"
            )
        elif not keys:
            out.notes.append(
                f"no {GROUP} objects left in {out.source}: not pruning all {len(stale)} (like Argo CD "
                "without allowEmpty); use `otelguard delete` to remove them"
            )
        else:
            for obj in stale:
                result = self.delete(obj.kind, obj.namespace, obj.name)
                if result is not None:
                    out.pruned.append(result)

    def _with_retries(
        self, kind: str, namespace: str, name: str, body: Mapping[str, Any], source: str, origin: str
    ) -> Result:
        for attempt in range(_ATTEMPTS):
            stored = postgres.get_local_object(self.db, kind, namespace, name)
            try:
                return self._reconcile(kind, namespace, name, body, source, origin, stored)
            except postgres.ConflictError:
                if attempt == _ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _reconcile(
        self,
        kind: str,
        namespace: str,
        name: str,
        body: Mapping[str, Any],
        source: str,
        origin: str,
        stored: postgres.LocalObject | None,
    ) -> Result:
        now = self.clock()
        rejected: str | None = None
        try:
            manifest = _clean(check_manifest(body))
        except InvalidManifest as exc:
            manifest, rejected = _clean(body), str(exc)
        changed = stored is None or _spec_part(manifest) != _spec_part(stored.manifest)
        generation = 1 if stored is None else stored.generation + int(changed)
        obj = {**manifest, "metadata": {**manifest["metadata"], "generation": generation}}
        previous = stored.status if stored is not None else {}
        writes, note = 0, None
        if rejected is not None:
            status = unparseable_status({**obj, "status": previous}, rejected, now)
        else:
            status, writes = self._run_controller(obj, previous, now)
            if kind == "OTelGuard" and changed:
                note = LOCAL_OTELGUARD_NOTE
        action: Action = (
            "created" if stored is None else ("configured" if manifest != stored.manifest else "unchanged")
        )
        put = postgres.put_local_object(
            self.db,
            kind=kind,
            namespace=namespace,
            name=name,
            generation=generation,
            manifest=manifest,
            status=status,
            source=source,
            origin=origin,
            expected_version=stored.resource_version if stored is not None else None,
        )
        return Result(
            kind,
            namespace,
            name,
            action,
            generation,
            ready=ready_condition(status),
            before=ready_condition(previous),
            writes=writes + int(put.written),
            rejected=rejected,
            origin=origin,
            note=note,
            source=source,
        )

    def _run_controller(
        self, obj: dict[str, Any], previous: Mapping[str, Any], now: datetime
    ) -> tuple[dict[str, Any], int]:
        try:
            inp = ReconcileInput.from_object(obj, now=now, status=previous)
        except ValidationError as exc:  # the schema accepted what the model rejects: a bug, report it
            message = _model_message(str(obj["kind"]), str(obj["metadata"]["name"]), exc)
            return unparseable_status({**obj, "status": previous}, message, now), 0
        controller = CONTROLLERS[inp.kind]
        desired = controller.plan(inp)
        applied = apply_db(self.db, desired, actor=self.actor)
        writes = applied.writes
        if desired.storage is not None and desired.invalid is None:
            if self.storage is not None:
                outcome = apply_storage(desired.storage, self.storage, self.db)
                applied = replace(applied, storage=outcome)
                writes += outcome.writes
            else:
                inp = replace(inp, status=_awaiting_up(inp.status, int(obj["metadata"]["generation"]), now))
        return controller.status(inp, desired, applied), writes


# -- the loop of `otelguard up` ------------------------------------------------------------------------------
Snapshot = frozenset[tuple[str, int, int, int]]


def snapshot(path: Path, *, recursive: bool = False) -> Snapshot:
    """(file, mtime_ns, size, inode) of every manifest file under ``path``; empty when it is missing."""
    out: set[tuple[str, int, int, int]] = set()
    try:
        files = manifest_files(path, recursive=recursive)
    except OSError:
        return frozenset()
    for file in files:
        try:
            st = file.stat()
        except OSError:
            continue  # removed between listing and stat: the next poll sees it gone
        out.add((str(file), st.st_mtime_ns, st.st_size, st.st_ino))
    return frozenset(out)


class GitOpsLoop:
    """What `otelguard up` runs in the background: watch ``path`` (optional) and re-sync it on change;
    resync everything every ``resync`` seconds (self-heal); run the storage step for OTelGuard objects
    that `otelguard apply` stored. Logs each object's Ready condition when it flips."""

    def __init__(
        self,
        reconciler: Reconciler,
        path: Path | None,
        *,
        recursive: bool = False,
        interval: float = 1.0,
        settle: float = 0.2,
        resync: float = 60.0,
    ) -> None:
        self.reconciler = reconciler
        self.path = path
        self.source = source_of(path) if path is not None else None
        self.recursive = recursive
        self.interval = interval
        self.settle = settle
        self.resync = resync
        self._seen: Snapshot | None = None
        self._last_sync = 0.0
        self._said: set[str] = set()  # notes and errors logged already (each is logged once until it goes)
        self._swept: set[tuple[str, str, str, int]] = set()  # storage steps tried (once per generation)

    def sync(self, *, quiet: bool = False) -> Pass | None:
        """Load the path and reconcile it. ``quiet``: log nothing (`otelguard up` prints the first pass)."""
        if self.path is None or self.source is None:
            return None
        seen = snapshot(self.path, recursive=self.recursive)
        loaded = load_manifests([self.path], recursive=self.recursive)
        result = self.reconciler.sync(loaded, source=self.source)
        self._seen, self._last_sync = seen, time.monotonic()  # only now: a failed sync is retried
        if quiet:
            self._said = {*result.notes, *result.errors}
        else:
            self._log(result)
        return result

    def tick(self) -> Pass | None:
        """One poll: re-sync when files changed (once they stop changing) or a resync is due; then the
        storage step for stored OTelGuard objects waiting for it."""
        out: Pass | None = None
        due = time.monotonic() - self._last_sync >= self.resync
        if self.path is not None:
            now = snapshot(self.path, recursive=self.recursive)
            if now != self._seen:
                while True:  # let an editor finish writing: wait until two polls agree
                    time.sleep(self.settle)
                    again = snapshot(self.path, recursive=self.recursive)
                    if again == now:
                        break
                    now = again
                out = self.sync()
            elif due:
                out = self.sync()
        if due:
            self._last_sync = time.monotonic()
            self._resync_stored()
        self._storage_sweep()
        return out

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until ``stop`` is set; errors (Postgres restarting, ...) are logged and retried."""
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.tick)
            except Exception:
                log.exception("local GitOps: reconcile failed; retrying in %.0f s", self.interval)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.interval)

    # -- internals -------------------------------------------------------------------------------------
    def _resync_stored(self) -> None:
        for obj in postgres.list_local_objects(self.reconciler.db):
            if obj.source != self.source:  # this path's objects were synced from their files
                self._reconcile_stored(obj)

    def _storage_sweep(self) -> None:
        for obj in postgres.list_local_objects(self.reconciler.db, kind="OTelGuard"):
            key = (obj.kind, obj.namespace, obj.name, obj.generation)
            if key not in self._swept and self.reconciler.needs_storage(obj):
                self._swept.add(key)  # a failure is retried by the periodic resync, not every second
                self._reconcile_stored(obj)

    def _reconcile_stored(self, obj: postgres.LocalObject) -> None:
        try:
            self._log_result(self.reconciler.reconcile_stored(obj))
        except Exception:  # one object's failure must not stop the others
            log.exception("reconciling %s %s/%s failed", obj.kind, obj.namespace, obj.name)

    def _log(self, result: Pass) -> None:
        said = set()
        for note in result.notes:
            said.add(note)
            if note not in self._said:
                log.info("%s", note)
        for error in result.errors:
            said.add(error)
            if error not in self._said:
                log.warning("%s", error)
        self._said = said
        for item in result.results:
            self._log_result(item)
        for item in result.pruned:
            log.info("%s %s/%s pruned (its manifest is gone)", item.kind, item.namespace, item.name)

    @staticmethod
    def _log_result(item: Result) -> None:
        if item.action == "unchanged" and not item.flipped:
            return
        what = f"{item.kind} {item.namespace}/{item.name} {item.action} (generation {item.generation})"
        level = logging.WARNING if item.ready is not None and item.ready.status == "False" else logging.INFO
        log.log(level, "%s: %s", what, item.ready_text)
        if item.note:
            log.info("%s %s/%s: %s", item.kind, item.namespace, item.name, item.note)
