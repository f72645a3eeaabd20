"""Read Kubernetes manifests from files and directories for the local GitOps mode.

Like ``kubectl apply -f``: a path is a file or a directory of ``*.yaml``/``*.yml``/``*.json`` files (sorted;
subdirectories only with ``recursive``; hidden and editor lock files are ignored); a file holds one or more
YAML documents, and a ``v1 List`` is expanded into its items. What comes back:

- ``manifests``: every ``otelguard.io`` object, once per kind/namespace/name, with the file:line it came from;
- ``secrets``: ``v1 Secret`` data (decoded), to resolve ``secretKeyRef``s where a controller needs a value;
- ``notes``: objects skipped on purpose (Namespaces, other kinds) — worth telling, not an error;
- ``errors``: YAML syntax errors (file:line:column), objects without apiVersion/kind/name, unknown
  ``otelguard.io`` kinds or versions, and duplicates (the first definition wins, the later ones are reported).

A file with a syntax error contributes no object at all: half a file must never look like a file from
which objects were removed (the GitOps loop does not prune while there are errors).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from otelguard.api.v1alpha1 import GROUP, KINDS, ManifestError, kind_of

__all__ = [
    "SUFFIXES",
    "LoadError",
    "Loaded",
    "Manifest",
    "Origin",
    "load_manifests",
    "manifest_files",
]

SUFFIXES: Final = (".yaml", ".yml", ".json")
_DNS_LABEL: Final = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_KNOWN: Final = ", ".join(info.kind for info in KINDS)


@dataclass(frozen=True, order=True)
class Origin:
    """Where a document starts: ``path:line`` (1-based line; 0 when the whole file is meant)."""

    path: Path
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        where = str(self.path)
        if self.line:
            where += f":{self.line}"
            if self.column:
                where += f":{self.column}"
        return where


@dataclass(frozen=True)
class Manifest:
    """One ``otelguard.io`` object as written (nothing validated beyond kind and name)."""

    kind: str
    namespace: str
    name: str
    body: dict[str, Any]  # metadata.namespace filled in
    origin: Origin

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.kind, self.namespace, self.name)

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


@dataclass(frozen=True)
class LoadError:
    origin: Origin
    message: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.message}"


@dataclass(frozen=True)
class _Secret:
    data: Mapping[str, str] = field(repr=False)  # never printed


@dataclass
class Loaded:
    manifests: list[Manifest] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    errors: list[LoadError] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    _secrets: dict[tuple[str, str], _Secret] = field(default_factory=dict, repr=False)

    @property
    def secrets(self) -> list[tuple[str, str]]:
        """(namespace, name) of the Secrets read."""
        return sorted(self._secrets)

    def secret_value(self, namespace: str, name: str, key: str) -> str | None:
        """The value a ``secretKeyRef`` {name, key} in ``namespace`` resolves to, None when missing."""
        secret = self._secrets.get((namespace, name))
        return None if secret is None else secret.data.get(key)


# -- files -------------------------------------------------------------------------------------------------
def _wanted(path: Path) -> bool:
    name = path.name
    return name.endswith(SUFFIXES) and not name.startswith((".", "#", "~"))


def manifest_files(path: Path, *, recursive: bool = False) -> list[Path]:
    """The manifest files ``path`` names: itself if a file, else its YAML/JSON files in name order.
    Raises OSError when ``path`` does not exist."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"the path {str(path)!r} does not exist")
    pattern = "**/*" if recursive else "*"
    found = [p for p in path.glob(pattern) if _wanted(p) and p.is_file()]
    if recursive:
        found = [p for p in found if not any(part.startswith(".") for part in p.relative_to(path).parts)]
    return sorted(found)


# -- documents ---------------------------------------------------------------------------------------------
def _documents(text: str) -> Iterator[tuple[yaml.Node, Any]]:
    """(node, value) of each YAML document; syntax errors raise yaml.MarkedYAMLError."""
    loader = yaml.SafeLoader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # pragma: no cover - check_node said there is one
                break
            yield node, loader.construct_document(node)
    finally:
        loader.dispose()


def _syntax_error(path: Path, exc: yaml.YAMLError) -> LoadError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        origin = Origin(path, mark.line + 1, mark.column + 1) if mark is not None else Origin(path)
        return LoadError(origin, f"YAML syntax error: {problem}{context}; nothing in this file was read")
    return LoadError(Origin(path), f"YAML error: {exc}; nothing in this file was read")


def _list_items(node: yaml.Node, value: Mapping[str, Any]) -> list[tuple[int, Any]]:
    """Items of a ``v1 List`` with the line of each (the items node of the mapping)."""
    items = value.get("items") or []
    lines = [node.start_mark.line + 1] * len(items)
    if isinstance(node, yaml.MappingNode):
        for key, sub in node.value:
            if getattr(key, "value", None) == "items" and isinstance(sub, yaml.SequenceNode):
                lines = [item.start_mark.line + 1 for item in sub.value]
    return list(zip(lines, items, strict=False)) if isinstance(items, list) else []


def _describe(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    return "a string" if isinstance(value, str) else f"a {type(value).__name__}"


class _Reader:
    def __init__(self, default_namespace: str) -> None:
        self.default_namespace = default_namespace
        self.out = Loaded()
        self.seen: dict[tuple[str, str, str], Origin] = {}

    def file(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.out.errors.append(LoadError(Origin(path), f"cannot read: {exc}"))
            return
        found: list[tuple[Origin, Any]] = []
        try:
            for node, value in _documents(text):
                if isinstance(value, dict) and (value.get("apiVersion"), value.get("kind")) == ("v1", "List"):
                    found.extend((Origin(path, n), item) for n, item in _list_items(node, value))
                else:
                    found.append((Origin(path, node.start_mark.line + 1), value))
        except yaml.YAMLError as exc:
            self.out.errors.append(_syntax_error(path, exc))
            return
        self.out.files.append(path)
        skipped: list[str] = []
        for origin, value in found:
            if value is not None:
                self.document(origin, value, skipped)
        if skipped:
            shown = ", ".join(skipped)
            self.out.notes.append(f"{path}: skipped {shown} (local mode reconciles {GROUP} kinds only)")

    def document(self, origin: Origin, value: Any, skipped: list[str]) -> None:
        if not isinstance(value, dict):
            self.error(origin, f"expected a Kubernetes object (a mapping), got {_describe(value)}")
            return
        api_version, kind = value.get("apiVersion"), value.get("kind")
        missing = [f"{f} not set" for f, v in (("apiVersion", api_version), ("kind", kind)) if not v]
        if missing:
            self.error(origin, f"error validating data: [{', '.join(missing)}]")
            return
        meta = value.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        if str(api_version).split("/", 1)[0] != GROUP:
            if api_version == "v1" and kind == "Secret" and isinstance(name, str):
                self.secret(value, name)  # noted once for all Secrets, by load_manifests
            else:
                skipped.append(f"{api_version} {kind} {name or '<unnamed>'}")
            return
        try:
            info = kind_of(value)
        except ManifestError as exc:
            self.error(origin, f"{exc}; {GROUP} serves v1alpha1 {_KNOWN}")
            return
        if not isinstance(meta, dict) or not isinstance(name, str) or not name:
            self.error(origin, f"{info.kind}: metadata.name: Required value (apply needs a name)")
            return
        namespace = meta.get("namespace") or self.default_namespace
        if not isinstance(namespace, str) or not _DNS_LABEL.match(namespace) or len(namespace) > 63:
            shown = f"{info.kind} {name}: metadata.namespace: Invalid value: {namespace!r}"
            self.error(origin, f"{shown}: a namespace is a lowercase RFC 1123 label")
            return
        key = (info.kind, namespace, name)
        if key in self.seen:
            first = self.seen[key]
            self.error(
                origin,
                f"duplicate {info.kind} {namespace}/{name}: already defined at {first}; this one is ignored",
            )
            return
        self.seen[key] = origin
        body = {**value, "metadata": {**meta, "namespace": namespace}}
        self.out.manifests.append(Manifest(info.kind, namespace, name, body, origin))

    def secret(self, value: Mapping[str, Any], name: str) -> None:
        meta = value.get("metadata") or {}
        namespace = str(meta.get("namespace") or self.default_namespace)
        data: dict[str, str] = {}
        for key, encoded in (value.get("data") or {}).items():
            try:
                data[str(key)] = base64.b64decode(str(encoded), validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                continue  # binary or malformed: not usable as a DSN, URL or key anyway
        data.update({str(k): str(v) for k, v in (value.get("stringData") or {}).items()})
        self.out._secrets[(namespace, name)] = _Secret(data)

    def error(self, origin: Origin, message: str) -> None:
        self.out.errors.append(LoadError(origin, message))


def load_manifests(
    paths: Iterable[Path], *, default_namespace: str = "default", recursive: bool = False
) -> Loaded:
    """Read every manifest under ``paths`` (files or directories). Never raises for bad input: problems
    are in ``Loaded.errors``, each with its file and line."""
    reader = _Reader(default_namespace)
    files: dict[Path, Path] = {}  # resolved -> as given (messages show paths the way the user wrote them)
    for path in paths:
        try:
            for file in manifest_files(path, recursive=recursive):
                files.setdefault(file.resolve(), file)
        except OSError as exc:
            reader.error(Origin(path), str(exc))
    for file in files.values():
        reader.file(file)
    secrets = reader.out.secrets
    if secrets:
        shown = ", ".join(f"{ns}/{name}" for ns, name in secrets)
        reader.out.notes.append(
            f"Secrets {shown}: read to resolve secretKeyRefs, never stored (eval workers read a judge's "
            "API key from here)"
        )
    return reader.out
