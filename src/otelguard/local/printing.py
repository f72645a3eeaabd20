"""``otelguard get``'s output, as ``kubectl get`` prints custom resources.

Tables: NAME, the kind's printer columns from the registry (kind-specific ones, then Ready, Reason, Age;
``wide`` adds the priority-1 ones such as Message), three spaces between columns, AGE as kubectl's
``HumanDuration``. ``-o yaml|json``: the object as the API server would return it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

import yaml

from otelguard.api.v1alpha1 import API_VERSION, GROUP, KindInfo, PrinterColumn
from otelguard.storage.postgres import LocalObject

__all__ = [
    "ORIGIN_ANNOTATION",
    "SOURCE_ANNOTATION",
    "conditions",
    "dump",
    "format_table",
    "human_duration",
    "jsonpath",
    "object_view",
    "table",
]

SOURCE_ANNOTATION: Final = "local.otelguard.io/source"  # shown by -o yaml|json only, never stored
ORIGIN_ANNOTATION: Final = "local.otelguard.io/origin"
# One step of a printer column path: ``.name`` or ``.name[?(@.key=="value")]``.
_STEP: Final = re.compile(r'\.([A-Za-z0-9_-]+)(?:\[\?\(@\.(\w+)=="([^"]*)"\)\])?')


def human_duration(seconds: float) -> str:
    """kubectl's AGE (k8s.io/apimachinery/pkg/util/duration.HumanDuration)."""
    s = int(seconds)
    if s < -1:
        return "<invalid>"
    if s < 0:
        return "0s"
    if s < 120:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        return f"{minutes}m{s % 60}s" if s % 60 else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return f"{hours // 24}d{hours % 24}h" if hours % 24 else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        years, days = hours // 24 // 365, (hours // 24) % 365
        return f"{years}y{days}d" if days else f"{years}y"
    return f"{hours // 24 // 365}y"


def jsonpath(obj: Any, path: str) -> Any:
    """The value at a printer column's path (``.a.b`` and ``.list[?(@.key=="value")].field``), or None."""
    node = obj
    for match in _STEP.finditer(path):
        name, key, want = match.groups()
        node = node.get(name) if isinstance(node, dict) else None
        if key is not None:
            node = next((i for i in node or [] if isinstance(i, dict) and i.get(key) == want), None)
        if node is None:
            return None
    return node


def _timestamp(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def object_view(obj: LocalObject) -> dict[str, Any]:
    """The stored object as ``kubectl get -o yaml`` shows it: metadata the API server sets, and status."""
    manifest = dict(obj.manifest)
    meta = dict(manifest.get("metadata") or {})
    annotations = {**(meta.get("annotations") or {}), SOURCE_ANNOTATION: obj.source}
    if obj.origin:
        annotations[ORIGIN_ANNOTATION] = obj.origin
    meta.update(
        annotations=annotations,
        creationTimestamp=_timestamp(obj.created_at),
        generation=obj.generation,
        resourceVersion=str(obj.resource_version),
    )
    return {
        "apiVersion": manifest.get("apiVersion", API_VERSION),
        "kind": obj.kind,
        "metadata": dict(sorted(meta.items())),
        **{k: v for k, v in manifest.items() if k not in ("apiVersion", "kind", "metadata")},
        "status": obj.status,
    }


def _cell(column: PrinterColumn, value: Any, now: datetime) -> str:
    if value is None:
        return ""
    if column.type == "date":
        try:
            then = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return str(value)
        return human_duration((now - then).total_seconds())
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def format_table(rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell plus three spaces (kubectl's tabwriter)."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))] if rows else []
    lines = ["   ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return "\n".join(lines)


def table(
    info: KindInfo,
    objects: Sequence[LocalObject],
    *,
    wide: bool = False,
    namespaces: bool = True,
    qualified: bool = False,
    now: datetime | None = None,
) -> str:
    """A ``kubectl get`` table of ``objects`` of one kind. ``namespaces``: a NAMESPACE column first (like
    ``-A``); ``qualified``: names as ``prompt.otelguard.io/x`` (like ``kubectl get all``)."""
    now = now or datetime.now(UTC)
    columns = [c for c in info.printer_columns if wide or not c.priority]
    header = [*(["NAMESPACE"] if namespaces else []), "NAME", *(c.name.upper() for c in columns)]
    rows = [header]
    for obj in objects:
        view = object_view(obj)
        name = f"{info.singular}.{GROUP}/{obj.name}" if qualified else obj.name
        cells = [_cell(c, jsonpath(view, c.json_path), now) for c in columns]
        rows.append([*([obj.namespace] if namespaces else []), name, *cells])
    return format_table(rows)


def conditions(status: Mapping[str, Any]) -> list[str]:
    """One line per condition: ``Ready=True Stored: message``."""
    out = []
    for cond in status.get("conditions") or []:
        if isinstance(cond, dict):
            out.append(f"{cond.get('type')}={cond.get('status')} {cond.get('reason')}: {cond.get('message')}")
    return out


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as ``|`` blocks, as kubectl prints them."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(doc: Any, output: str) -> str:
    """``doc`` as ``-o yaml`` or ``-o json`` (keys sorted, like kubectl)."""
    if output == "json":
        return json.dumps(doc, indent=4, sort_keys=True, ensure_ascii=False)
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=True, allow_unicode=True, width=1 << 16).rstrip()
