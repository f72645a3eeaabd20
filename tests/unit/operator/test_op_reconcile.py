"""The operator's pure pieces: status merge patches and the child digest that keeps resyncs write-free."""

from __future__ import annotations

from otelguard.controllers import content_hash
from otelguard.operator.reconcile import status_patch


def test_status_patch_is_minimal_and_removes_stale_keys() -> None:
    old = {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True"}], "lastRun": "x"}
    new = {"observedGeneration": 2, "conditions": [{"type": "Ready", "status": "True"}]}
    assert status_patch(old, new) == {"observedGeneration": 2, "lastRun": None}


def test_unchanged_status_is_an_empty_patch() -> None:
    status = {"observedGeneration": 3, "conditions": [], "currentVersion": 2}
    assert status_patch(status, dict(status)) == {}


def test_child_digest_is_stable_and_content_sensitive() -> None:
    child = {"kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}, "data": {"a": "1"}}
    same = {"metadata": {"namespace": "n", "name": "c"}, "data": {"a": "1"}, "kind": "ConfigMap"}
    assert content_hash(child) == content_hash(same)
    assert content_hash(child) != content_hash({**child, "data": {"a": "2"}})
