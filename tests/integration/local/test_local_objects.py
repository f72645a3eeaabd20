"""The local object store (``local_objects``): create, optimistic updates, no-op writes, delete."""

from __future__ import annotations

import pytest

from otelguard.storage.postgres import (
    ConflictError,
    Database,
    delete_local_object,
    get_local_object,
    list_local_objects,
    put_local_object,
)

MANIFEST = {"apiVersion": "otelguard.io/v1alpha1", "kind": "Prompt", "metadata": {"name": "p"}, "spec": {}}


def put(db: Database, expected: int | None, **changes: object) -> int:
    args: dict[str, object] = {
        "kind": "Prompt",
        "namespace": "team",
        "name": "p",
        "generation": 1,
        "manifest": MANIFEST,
        "status": {"observedGeneration": 1},
        "source": "/manifests",
        "origin": "/manifests/p.yaml:1",
        **changes,
    }
    result = put_local_object(db, expected_version=expected, **args)  # type: ignore[arg-type]
    return result.resource_version if result.written else -result.resource_version


def test_create_update_and_no_op(db: Database) -> None:
    v1 = put(db, None)
    stored = get_local_object(db, "Prompt", "team", "p")
    assert stored is not None
    assert (stored.generation, stored.manifest, stored.status, stored.source, stored.resource_version) == (
        1, MANIFEST, {"observedGeneration": 1}, "/manifests", v1
    )  # fmt: skip
    assert put(db, v1) == -v1  # nothing changed: nothing written, same version
    v2 = put(db, v1, status={"observedGeneration": 1, "conditions": []})
    assert v2 > v1
    after = get_local_object(db, "Prompt", "team", "p")
    assert (
        after is not None and after.updated_at >= stored.updated_at and after.created_at == stored.created_at
    )


def test_conflicts_are_detected(db: Database) -> None:
    v1 = put(db, None)
    with pytest.raises(ConflictError, match="already exists"):
        put(db, None)
    v2 = put(db, v1, generation=2)
    with pytest.raises(ConflictError, match="modified meanwhile"):
        put(db, v1, generation=3)
    with pytest.raises(ConflictError, match="modified meanwhile"):
        put(db, v1)  # even a no-op is refused from a stale read
    assert not delete_local_object(db, "Prompt", "team", "p", expected_version=v1)
    assert delete_local_object(db, "Prompt", "team", "p", expected_version=v2)
    with pytest.raises(ConflictError, match="deleted meanwhile"):
        put(db, v2)


def test_list_filters_and_orders(db: Database) -> None:
    put(db, None)
    put(db, None, name="a", source="apply")
    put(db, None, kind="Dashboard", namespace="ops", name="d")
    assert [(o.kind, o.name) for o in list_local_objects(db)] == [
        ("Dashboard", "d"),
        ("Prompt", "a"),
        ("Prompt", "p"),
    ]
    assert [o.name for o in list_local_objects(db, "Prompt")] == ["a", "p"]
    assert [o.name for o in list_local_objects(db, namespace="ops")] == ["d"]
    assert [o.name for o in list_local_objects(db, source="apply")] == ["a"]
    assert delete_local_object(db, "Prompt", "team", "a")
    assert not delete_local_object(db, "Prompt", "team", "a")
