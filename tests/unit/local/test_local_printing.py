"""`otelguard get` output: kubectl's AGE, printer column paths, tables and -o yaml."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from otelguard.api.v1alpha1 import kind_info
from otelguard.local.printing import (
    SOURCE_ANNOTATION,
    dump,
    format_table,
    human_duration,
    jsonpath,
    object_view,
    table,
)
from otelguard.storage.postgres import LocalObject

T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (-5, "<invalid>"), (-1, "0s"), (0, "0s"), (119, "119s"), (120, "2m"), (150, "2m30s"), (600, "10m"),
        (3 * 3600 - 1, "179m"), (3 * 3600, "3h"), (3 * 3600 + 60, "3h1m"), (8 * 3600, "8h"),
        (47 * 3600, "47h"), (48 * 3600, "2d"), (49 * 3600, "2d1h"), (8 * 86400, "8d"), (729 * 86400, "729d"),
        (730 * 86400, "2y"), (731 * 86400, "2y1d"), (8 * 365 * 86400, "8y"),
    ],
)  # fmt: skip
def test_human_duration_is_kubectls(seconds: int, shown: str) -> None:
    assert human_duration(seconds) == shown


STATUS: dict[str, Any] = {
    "currentVersion": 3,
    "conditions": [
        {"type": "Reconciled", "status": "True", "reason": "Stored", "message": "m1"},
        {"type": "Ready", "status": "False", "reason": "UnknownVersion", "message": "no such version"},
    ],
}


def prompt(name: str = "greeting", namespace: str = "team", **status: Any) -> LocalObject:
    manifest = {
        "apiVersion": "otelguard.io/v1alpha1",
        "kind": "Prompt",
        "metadata": {"name": name, "namespace": namespace, "labels": {"a": "b"}},
        "spec": {"template": "line one\nline two\n"},
    }
    return LocalObject(
        "Prompt", namespace, name, 2, manifest, {**STATUS, **status}, "/m", "/m/p.yaml:3", 17, T0, T0
    )


def test_jsonpath_follows_fields_and_the_ready_filter() -> None:
    view = {"status": STATUS, "spec": {"a": {"b": 0}}}
    assert jsonpath(view, '.status.conditions[?(@.type=="Ready")].reason') == "UnknownVersion"
    assert jsonpath(view, '.status.conditions[?(@.type=="Nope")].reason') is None
    assert jsonpath(view, ".spec.a.b") == 0
    assert jsonpath(view, ".spec.a.b.c") is None
    assert jsonpath({}, ".status.currentVersion") is None


def test_table_has_printer_columns_and_wide_adds_priority_ones() -> None:
    info = kind_info("pmpt")
    now = T0 + timedelta(minutes=5)
    assert table(info, [prompt(), prompt("other", currentVersion=None)], now=now).splitlines() == [
        "NAMESPACE   NAME       VERSION   READY   REASON           AGE",
        "team        greeting   3         False   UnknownVersion   5m",
        "team        other                False   UnknownVersion   5m",
    ]
    wide = table(info, [prompt()], wide=True, namespaces=False, qualified=True, now=now).splitlines()
    assert wide[0].split() == ["NAME", "VERSION", "HASH", "READY", "REASON", "MESSAGE", "AGE"]
    assert wide[1].startswith("prompt.otelguard.io/greeting   3")
    assert "no such version" in wide[1]


def test_format_table_pads_with_three_spaces() -> None:
    assert format_table([["A", "BB"], ["ccc", ""]]) == "A     BB\nccc"


def test_object_view_adds_server_metadata_and_dump_sorts_and_keeps_blocks() -> None:
    view = object_view(prompt())
    meta = view["metadata"]
    assert (meta["generation"], meta["resourceVersion"], meta["creationTimestamp"]) == (
        2,
        "17",
        "2025-01-01T00:00:00Z",
    )
    assert meta["annotations"] == {
        SOURCE_ANNOTATION: "/m",
        "local.otelguard.io/origin": "/m/p.yaml:3",
    }
    assert view["status"]["currentVersion"] == 3
    text = dump(view, "yaml")
    assert "template: |\n    line one\n    line two\n" in text
    assert yaml.safe_load(text) == view
    assert text.index("apiVersion") < text.index("kind") < text.index("metadata") < text.index("spec")
    assert dump({"b": 1, "a": "é"}, "json") == '{\n    "a": "é",\n    "b": 1\n}'
