"""Validate manifests the way the API server does, without a cluster (the local GitOps mode's gate).

The API server's create path, step by step: strict decoding (unknown fields are an error with kubectl's
default ``--validate=strict``), ``status`` dropped, schema defaults applied, metadata and the openAPIV3Schema
checked (here with jsonschema), list-type uniqueness, then the CEL rules — skipped when an earlier error is
"blocking". CEL rules run as their Python twins (``base.CelRule.check``), found by rule text in the very
schema the CRD carries. Errors print as the API server prints them.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import cache
from typing import Any, Final

import jsonschema

from otelguard.api.v1alpha1.base import API_VERSION, RULES
from otelguard.api.v1alpha1.common import DNS_SUBDOMAIN, Resource
from otelguard.api.v1alpha1.crdgen import root_schema
from otelguard.api.v1alpha1.errors import (
    BLOCKED_DETAIL,
    BLOCKING,
    OMIT,
    FieldError,
    InvalidManifest,
    UnknownKindError,
    go_value,
)
from otelguard.api.v1alpha1.registry import KINDS, KindInfo

_BY_KIND: Final = {info.kind: info for info in KINDS}
_OBJECT_META_FIELDS: Final = frozenset(
    {
        "name",
        "generateName",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "labels",
        "annotations",
        "ownerReferences",
        "finalizers",
        "managedFields",
        "selfLink",
    }
)
_DNS_SUBDOMAIN_MSG: Final = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must "
    "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)


def kind_of(manifest: Mapping[str, Any]) -> KindInfo:
    """The kind of a manifest; raises UnknownKindError like kubectl's 'no matches for kind'."""
    api_version, kind = manifest.get("apiVersion"), manifest.get("kind")
    info = _BY_KIND.get(kind) if isinstance(kind, str) else None
    if api_version != API_VERSION or info is None:
        raise UnknownKindError(f'no matches for kind "{kind}" in version "{api_version}"')
    return info


@cache
def openapi_schema(kind: str) -> dict[str, Any]:
    """The openAPIV3Schema of a kind, exactly as in its CRD."""
    return root_schema(_BY_KIND[kind])


# -- defaulting --------------------------------------------------------------------------------------------
def apply_defaults(schema: Mapping[str, Any], value: Any) -> None:
    """Fill schema defaults into ``value`` in place, recursing into defaulted values too (structural
    defaulting: a missing field, or a null one, takes its default)."""
    if isinstance(value, dict):
        for name, sub in schema.get("properties", {}).items():
            if "default" in sub and value.get(name) is None:
                value[name] = copy.deepcopy(sub["default"])
        for name, item in value.items():
            sub = schema.get("properties", {}).get(name)
            if sub is None and isinstance(schema.get("additionalProperties"), dict):
                sub = schema["additionalProperties"]
            if sub is not None:
                apply_defaults(sub, item)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_defaults(schema["items"], item)


def default_manifest(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``manifest`` with its kind's schema defaults applied."""
    out = copy.deepcopy(dict(manifest))
    apply_defaults(openapi_schema(kind_of(manifest).kind), out)
    return out


# -- the checks, in API-server order ----------------------------------------------------------------------
def unknown_fields(schema: Mapping[str, Any], value: Any, path: str = "") -> Iterator[FieldError]:
    """Fields the schema does not declare (the API server would prune them; strict validation rejects)."""
    if schema.get("x-kubernetes-preserve-unknown-fields"):
        return
    if isinstance(value, dict):
        props = schema.get("properties")
        if path == "metadata":
            known: Any = _OBJECT_META_FIELDS
        elif props is not None:
            known = props
        else:
            known = None
        for name, item in value.items():
            child = f"{path}.{name}" if path else name
            if known is not None and name not in known:
                yield FieldError("UnknownField", child)
            elif props is not None and name in props:
                yield from unknown_fields(props[name], item, child)
            elif isinstance(schema.get("additionalProperties"), dict):
                yield from unknown_fields(schema["additionalProperties"], item, child)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value):
            yield from unknown_fields(schema["items"], item, f"{path}[{i}]")


def _metadata_errors(manifest: Mapping[str, Any]) -> list[FieldError]:
    meta = manifest.get("metadata")
    if not isinstance(meta, dict):
        return [FieldError("FieldValueRequired", "metadata.name", detail="name or generateName is required")]
    name = meta.get("name")
    if not name:
        return [FieldError("FieldValueRequired", "metadata.name", detail="name or generateName is required")]
    if not isinstance(name, str) or len(name) > 253 or not re.search(DNS_SUBDOMAIN, name):
        return [FieldError("FieldValueInvalid", "metadata.name", name, _DNS_SUBDOMAIN_MSG)]
    return []


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _openapi_path(parts: Any) -> str:
    # kube-openapi names fields "a.b", items "a[0]", map entries "a.key".
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _schema_error(err: jsonschema.ValidationError) -> Iterator[FieldError]:
    path, kw = _openapi_path(err.absolute_path), err.validator
    value: Any = err.instance
    limit: Any = err.validator_value
    where = f"{path} in body"
    if kw == "required":
        for name in limit:
            if name not in value:
                yield FieldError("FieldValueRequired", f"{path}.{name}" if path else name)
    elif kw in ("type", "anyOf"):
        expected = "integer,string" if kw == "anyOf" else limit
        actual = _json_type(value)
        yield FieldError(
            "FieldValueTypeInvalid", path, actual, f'{where} must be of type {expected}: "{actual}"'
        )
    elif kw == "format":
        yield FieldError(
            "FieldValueTypeInvalid", path, value, f"{where} must be of type {limit}: {go_value(value)}"
        )
    elif kw == "enum":
        supported = ", ".join(json.dumps(v if isinstance(v, str) else json.dumps(v)) for v in limit)
        yield FieldError("FieldValueNotSupported", path, value, f"supported values: {supported}")
    elif kw == "maxLength":
        yield FieldError(
            "FieldValueTooLong", path, detail=f"may not be more than {limit} byte{'s' * (limit != 1)}"
        )
    elif kw in ("maxItems", "maxProperties"):
        yield FieldError(
            "FieldValueTooMany", path, len(value), f"must have at most {limit} item{'s' * (limit != 1)}"
        )
    elif kw == "minItems":
        yield FieldError("FieldValueInvalid", path, len(value), f"{where} should have at least {limit} items")
    elif kw == "minLength":
        yield FieldError("FieldValueInvalid", path, value, f"{where} should be at least {limit} chars long")
    elif kw == "pattern":
        yield FieldError("FieldValueInvalid", path, value, f"{where} should match '{limit}'")
    elif kw in ("minimum", "maximum"):
        relation = "greater than or equal to" if kw == "minimum" else "less than or equal to"
        yield FieldError("FieldValueInvalid", path, value, f"{where} should be {relation} {go_value(limit)}")
    else:  # pragma: no cover - the generated schemas use no other keywords
        yield FieldError("FieldValueInvalid", path, value, err.message)


_FORMATS: Final = jsonschema.FormatChecker(formats=())


@_FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if isinstance(value, str):
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    return True


@cache
def _validator(kind: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(openapi_schema(kind), format_checker=_FORMATS)


def _list_type_errors(schema: Mapping[str, Any], value: Any, path: str) -> Iterator[FieldError]:
    if isinstance(value, list):
        list_type, keys = schema.get("x-kubernetes-list-type"), schema.get("x-kubernetes-list-map-keys", [])
        seen: set[str] = set()
        for i, item in enumerate(value):
            if list_type not in ("set", "map"):
                break
            shown = item if list_type == "set" else {k: item.get(k) for k in keys if k in item}
            key = json.dumps(shown, sort_keys=True)
            if key in seen:
                yield FieldError("FieldValueDuplicate", f"{path}[{i}]", shown)
            seen.add(key)
        for i, item in enumerate(value):
            yield from _list_type_errors(schema.get("items", {}), item, f"{path}[{i}]")
    elif isinstance(value, dict):
        yield from _walk_children(schema, value, path, _list_type_errors)


def _walk_children(
    schema: Mapping[str, Any], value: dict[str, Any], path: str, fn: Any
) -> Iterator[FieldError]:
    # field.Path: properties as ".name", map entries as "[key]".
    props, extra = schema.get("properties", {}), schema.get("additionalProperties")
    for name, item in value.items():
        if name in props:
            yield from fn(props[name], item, f"{path}.{name}" if path else name)
        elif isinstance(extra, dict):
            yield from fn(extra, item, f"{path}[{name}]")


def cel_errors(schema: Mapping[str, Any], value: Any, path: str = "") -> Iterator[FieldError]:
    """Evaluate every x-kubernetes-validations rule of ``schema`` on ``value`` through its Python twin."""
    if value is None:
        return
    for rule in schema.get("x-kubernetes-validations", ()):
        if RULES[rule["rule"]].check(value):
            continue
        field = path + ("." + rule["fieldPath"].lstrip(".") if "fieldPath" in rule else "")
        reason, message = rule.get("reason", "FieldValueInvalid"), rule["message"]
        shown = OMIT if isinstance(value, (dict, list)) else value
        if reason == "FieldValueDuplicate":
            yield FieldError("FieldValueDuplicate", field, shown)
        else:
            yield FieldError(reason, field, shown, message)
    if isinstance(value, dict):
        yield from _walk_children(schema, value, path, cel_errors)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from cel_errors(schema.get("items", {}), item, f"{path}[{i}]")


def validate_manifest(manifest: Mapping[str, Any], *, include_status: bool = False) -> list[FieldError]:
    """All errors the API server would report for creating ``manifest``; empty when it would be accepted.

    Unknown fields alone are reported when present (strict decoding fails before validation). ``status``
    is ignored like on create, unless ``include_status`` (to check what a controller writes to /status).
    """
    info = kind_of(manifest)
    schema = openapi_schema(info.kind)
    obj = copy.deepcopy(dict(manifest))
    if not include_status:
        obj.pop("status", None)
    unknown = list(unknown_fields(schema, obj))
    if unknown:
        return unknown
    apply_defaults(schema, obj)
    errors = _metadata_errors(obj)
    for err in _validator(info.kind).iter_errors(obj):
        errors.extend(e for e in _schema_error(err) if e not in errors)
    errors.extend(_list_type_errors(schema, obj, ""))
    if any(e.type in BLOCKING for e in errors):
        errors.append(FieldError("FieldValueInvalid", "", None, BLOCKED_DETAIL))
    else:
        errors.extend(cel_errors(schema, obj))
    return errors


def check_manifest(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest with defaults applied, as the API server would store it; raises InvalidManifest."""
    info = kind_of(manifest)
    errors = validate_manifest(manifest)
    if errors:
        name = (manifest.get("metadata") or {}).get("name", "")
        raise InvalidManifest(info.kind, str(name), errors)
    out = default_manifest(manifest)
    out.pop("status", None)
    return out


def parse_manifest(manifest: Mapping[str, Any]) -> Resource:
    """Validate like the API server, then build the kind's model (e.g. ``GuardrailPolicy``)."""
    return kind_of(manifest).resource.model_validate(check_manifest(manifest))
