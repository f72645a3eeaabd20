"""Pydantic JSON schema → Kubernetes structural OpenAPI v3 schema.

Pydantic's output is close, but the API server rejects ``$ref``, ``title``, ``const``, ``anyOf`` over
different types and ``additionalProperties: false``. This module rewrites each of those, and raises on any
keyword it does not know, so a model change cannot silently produce a non-structural CRD.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, NoDefault
from pydantic_core import core_schema

from otelguard.api.v1alpha1.base import ApiModel

# Keywords passed through unchanged (the subset of JSONSchemaProps the generated schemas use).
_SCALAR_KEYS = frozenset(
    {
        "type",
        "description",
        "required",
        "enum",
        "default",
        "format",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "pattern",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-int-or-string",
        "x-kubernetes-list-type",
        "x-kubernetes-list-map-keys",
        "x-kubernetes-map-type",
        "x-kubernetes-validations",
    }
)
INT_OR_STRING_ANY_OF = [{"type": "integer"}, {"type": "string"}]


class SchemaError(ValueError):
    """A model produced something a structural schema cannot express."""


class _Generator(GenerateJsonSchema):
    """Defaults as Kubernetes applies them: ``{}`` for nested objects built by a default factory, none for
    ``None``; and no ``null`` branch for optional fields (absent means unset)."""

    def get_default_value(self, schema: core_schema.WithDefaultSchema) -> Any:
        factory = schema.get("default_factory")
        if factory is not None:
            if schema.get("default_factory_takes_data"):
                return NoDefault
            value = factory()  # type: ignore[call-arg]
            if not isinstance(value, BaseModel):
                return NoDefault
            # The whole default object, not `{}`: the API server checks defaults against CEL rules without
            # first filling in the nested defaults.
            return _prune(value.model_dump(mode="json", by_alias=True, exclude_none=True))
        default = schema.get("default", NoDefault)
        return NoDefault if default is None else default

    def nullable_schema(self, schema: core_schema.NullableSchema) -> dict[str, Any]:
        return self.generate_inner(schema["schema"])


def _prune(value: Any) -> Any:
    """Drop empty lists and maps (unset optional fields), recursively."""
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in ([], {})}
    return value


def structural_schema(model: type[ApiModel]) -> dict[str, Any]:
    """The structural schema of ``model`` (camelCase properties, inlined, Kubernetes keywords only)."""
    raw = model.model_json_schema(by_alias=True, mode="validation", schema_generator=_Generator)
    defs: dict[str, Any] = raw.pop("$defs", {})
    return _convert(raw, defs, model.__name__)


def _convert(node: dict[str, Any], defs: dict[str, Any], where: str) -> dict[str, Any]:
    node = dict(node)
    ref = node.pop("$ref", None)
    if ref is not None:
        # Field-level keys (description, default) win over the referenced model's.
        target = _convert(defs[ref.rsplit("/", 1)[-1]], defs, ref)
        node = {**target, **{k: v for k, v in node.items() if k != "title"}}
    node.pop("title", None)
    if node.get("additionalProperties") is False:
        del node["additionalProperties"]
    if "const" in node:
        node["enum"] = [node.pop("const")]
    if "anyOf" in node and (
        node["anyOf"] != INT_OR_STRING_ANY_OF or not node.get("x-kubernetes-int-or-string")
    ):
        raise SchemaError(f"{where}: anyOf is only allowed as the int-or-string pattern: {node['anyOf']}")
    if "enum" in node and "type" not in node:
        types = {type(v) for v in node["enum"]}
        if types != {str}:
            raise SchemaError(f"{where}: enums must be strings: {node['enum']}")
        node["type"] = "string"
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: _convert(sub, defs, f"{where}.{name}") for name, sub in value.items()}
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            out[key] = _convert(value, defs, f"{where}.{key}")
        elif key == "anyOf" or key in _SCALAR_KEYS:
            out[key] = value
        else:
            raise SchemaError(f"{where}: keyword {key!r} is not allowed in a structural schema")
    return out
