"""Building blocks every ``otelguard.io/v1alpha1`` model shares.

``ApiModel`` is the pydantic base: camelCase aliases, unknown fields rejected (like ``kubectl apply``'s
strict field validation), frozen values. ``CelRule`` keeps a CEL ``x-kubernetes-validations`` rule and its
Python twin in one object, so the CRD (API server) and the local no-cluster mode (``validation.py``) enforce
the same rule and cannot drift. ``ListMap``/``ListSet`` declare Kubernetes list types and check uniqueness.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, GetCoreSchemaHandler, GetJsonSchemaHandler, model_validator
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

GROUP = "otelguard.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

# The field error reasons a CEL rule may report (apiextensions.k8s.io/v1 ValidationRule.reason).
Reason = Literal["FieldValueInvalid", "FieldValueRequired", "FieldValueForbidden", "FieldValueDuplicate"]

# Every rule by its CEL text; validation.py finds the Python twin of a rule it meets in a generated schema.
RULES: dict[str, CelRule] = {}


@dataclass(frozen=True)
class CelRule:
    """A CEL validation rule (``rule``) and its Python twin (``check``).

    ``check`` receives what CEL calls ``self``: the JSON value of the object the rule is attached to, after
    defaulting. Pydantic dumps an omitted list as ``[]`` where the API server leaves it absent, so rules test
    lists with ``has(self.x) && self.x.size() > 0`` and twins with ``present()``, which treats both alike.
    ``field_path``/``reason`` shape the error like the API server does.
    """

    rule: str
    message: str
    check: Callable[[Mapping[str, Any]], bool]
    field_path: str | None = None
    reason: Reason | None = None

    def __post_init__(self) -> None:
        known = RULES.setdefault(self.rule, self)
        if known.message != self.message or known.field_path != self.field_path:
            raise ValueError(f"CEL rule declared twice with different messages: {self.rule}")

    def to_schema(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule": self.rule, "message": self.message}
        if self.field_path is not None:
            out["fieldPath"] = self.field_path
        if self.reason is not None:
            out["reason"] = self.reason
        return out


def cel_string(value: str) -> str:
    """``value`` as a single-quoted CEL string literal (regex backslashes must be escaped)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def present(obj: Mapping[str, Any], key: str) -> bool:
    """``has(self.key)`` (and, for lists, ``self.key.size() > 0``) for twins."""
    value = obj.get(key)
    return value is not None and value != []


def rules_of(cls: type[Any]) -> list[CelRule]:
    """The CEL rules of a model class, its bases' first (a subclass keeps every rule of its bases)."""
    return [rule for klass in reversed(cls.__mro__) for rule in klass.__dict__.get("cel_rules", ())]


def _add_cel_rules(schema: dict[str, Any], cls: type[Any]) -> None:
    if rules := rules_of(cls):
        schema["x-kubernetes-validations"] = [r.to_schema() for r in rules]


class ApiModel(BaseModel):
    """Base of every spec/status model: camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
        frozen=True,
        json_schema_extra=_add_cel_rules,
    )

    # CEL rules on this object; subclasses inherit their bases' rules (also in the generated schema).
    cel_rules: ClassVar[tuple[CelRule, ...]] = ()

    @model_validator(mode="after")
    def _check_cel_rules(self) -> Self:
        if rules := rules_of(type(self)):
            data = self.model_dump(mode="json", by_alias=True, exclude_none=True)
            for rule in rules:
                if not rule.check(data):
                    raise PydanticCustomError("cel_rule", "{message}", {"message": rule.message})
        return self


@dataclass(frozen=True)
class ListMap:
    """``x-kubernetes-list-type: map``: objects unique by ``keys``; server-side apply merges items by key."""

    keys: tuple[str, ...]

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(schema)
        out.update({"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": list(self.keys)})
        return out

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._unique, handler(source))

    def _unique(self, items: list[Any]) -> list[Any]:
        seen: set[tuple[Any, ...]] = set()
        for item in items:
            key = tuple(getattr(item, k) for k in self.keys)
            if key in seen:
                raise PydanticCustomError(
                    "duplicate", "duplicate {keys} {key}", {"keys": self.keys, "key": key}
                )
            seen.add(key)
        return items


@dataclass(frozen=True)
class ListSet:
    """``x-kubernetes-list-type: set``: scalar items, each at most once."""

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(schema)
        out["x-kubernetes-list-type"] = "set"
        return out

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._unique, handler(source))

    @staticmethod
    def _unique(items: list[Any]) -> list[Any]:
        if len(set(items)) != len(items):
            raise PydanticCustomError("duplicate", "duplicate items in a set")
        return items
