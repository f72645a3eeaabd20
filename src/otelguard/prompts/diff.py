"""Differences between two prompt versions: a unified diff per template part, and structured diffs of
``modelConfig`` and the declared variables."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from otelguard.prompts.engine import PromptSource, Variable

__all__ = ["diff_versions", "flatten"]

_MISSING = object()


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested mappings as dotted paths: {"params": {"seed": 1}} → {"params.seed": 1}."""
    if isinstance(value, Mapping) and value:
        out: dict[str, Any] = {}
        for key in sorted(value):
            out.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value} if prefix else {}


def _changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    for path in sorted(set(old) | set(new)):
        a, b = old.get(path, _MISSING), new.get(path, _MISSING)
        if a == b:
            continue
        op = "added" if a is _MISSING else "removed" if b is _MISSING else "changed"
        change: dict[str, Any] = {"path": path, "op": op}
        if a is not _MISSING:
            change["from"] = a
        if b is not _MISSING:
            change["to"] = b
        changes.append(change)
    return changes


def _variable(v: Variable) -> dict[str, Any]:
    return {"required": v.required, "default": v.default, "description": v.description}


def _parts(source: PromptSource) -> dict[str, str]:
    if source.template is not None:
        return {"template": source.template}
    return {f"messages[{i}] ({m.role})": m.content for i, m in enumerate(source.messages)}


def diff_versions(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    old_label: str = "a",
    new_label: str = "b",
    context: int = 3,
) -> dict[str, Any]:
    """Diff of two stored contents: ``text`` (unified diff per template part, empty parts left out),
    ``modelConfig`` and ``variables`` (lists of {path|name, op, from, to})."""
    a, b = PromptSource.from_content(old), PromptSource.from_content(new)
    pa, pb = _parts(a), _parts(b)
    text: list[dict[str, Any]] = []
    for part in list(pa) + [p for p in pb if p not in pa]:
        before, after = pa.get(part, ""), pb.get(part, "")
        if before == after:
            continue
        lines = difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            fromfile=f"{old_label}/{part}",
            tofile=f"{new_label}/{part}",
            n=context,
        )
        text.append(
            {"part": part, "diff": "".join(line if line.endswith("\n") else line + "\n" for line in lines)}
        )
    va = {v.name: _variable(v) for v in a.variables}
    vb = {v.name: _variable(v) for v in b.variables}
    variables = [{**c, "name": c.pop("path")} for c in _changes(va, vb)]
    return {
        "kind": {"from": a.kind, "to": b.kind},
        "text": text,
        "modelConfig": _changes(flatten(a.model_config or {}), flatten(b.model_config or {})),
        "variables": variables,
        "identical": not text and not variables and a.model_config == b.model_config,
    }
