"""Field errors printed exactly as the Kubernetes API server prints them (k8s.io/apimachinery field.Error).

``FieldError("FieldValueInvalid", "spec.rules[0].threshold", 1.5, "... less than or equal to 1")`` prints
``spec.rules[0].threshold: Invalid value: 1.5: ... less than or equal to 1``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final, Literal

ErrorType = Literal[
    "FieldValueRequired",
    "FieldValueForbidden",
    "FieldValueInvalid",
    "FieldValueTypeInvalid",
    "FieldValueNotSupported",
    "FieldValueDuplicate",
    "FieldValueTooLong",
    "FieldValueTooMany",
    "UnknownField",  # not a field.Error: strict field validation rejects these before validation runs
]
_TITLES: Final[dict[str, str]] = {
    "FieldValueRequired": "Required value",
    "FieldValueForbidden": "Forbidden",
    "FieldValueInvalid": "Invalid value",
    "FieldValueTypeInvalid": "Invalid value",
    "FieldValueNotSupported": "Unsupported value",
    "FieldValueDuplicate": "Duplicate value",
    "FieldValueTooLong": "Too long",
    "FieldValueTooMany": "Too many",
}
# Types whose message never shows the value (field.Error.ErrorBody).
_NO_VALUE: Final = frozenset({"FieldValueRequired", "FieldValueForbidden", "FieldValueTooLong"})
# Errors after which the API server skips CEL rules (customresource strategy hasBlockingErr).
BLOCKING: Final = frozenset(
    {
        "FieldValueNotSupported",
        "FieldValueRequired",
        "FieldValueTooLong",
        "FieldValueTooMany",
        "FieldValueTypeInvalid",
    }
)
BLOCKED_DETAIL: Final = (
    "some validation rules were not checked because the object was invalid; "
    "correct the existing errors to complete validation"
)


class _Omit:
    """The value is not shown (field.OmitValueType), e.g. CEL errors on objects."""

    def __repr__(self) -> str:
        return "OMIT"


OMIT: Final = _Omit()


def go_float(value: float) -> str:
    """Go's ``%v`` of a float64: shortest digits, exponent form outside 1e-4 <= |v| < 1e21 (here: 1e6)."""
    if value == 0:
        return "0"
    digits = Decimal(repr(value)).normalize()
    exponent = digits.adjusted()
    if exponent < -4 or exponent >= 6:
        mantissa = f"{digits.scaleb(-exponent):f}"
        return f"{mantissa}e{'+' if exponent >= 0 else '-'}{abs(exponent):02d}"
    return f"{digits:f}"


def go_value(value: Any) -> str:
    """How field.Error renders a bad value: ``%v`` for numbers and booleans, ``%q`` for strings, JSON else."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class FieldError:
    """One validation error: type, field path, offending value and detail."""

    type: ErrorType
    field: str
    bad_value: Any = OMIT
    detail: str = ""

    def __str__(self) -> str:
        if self.type == "UnknownField":
            return f'unknown field "{self.field}"'
        return f"{self.field or '<nil>'}: {self.body}"

    @property
    def body(self) -> str:
        title = _TITLES[self.type]
        out = (
            title
            if self.type in _NO_VALUE or self.bad_value is OMIT
            else f"{title}: {go_value(self.bad_value)}"
        )
        return f"{out}: {self.detail}" if self.detail else out


class ManifestError(ValueError):
    """A manifest the API server would not accept."""


class UnknownKindError(ManifestError):
    """apiVersion/kind name no otelguard.io kind (kubectl: 'no matches for kind')."""


class InvalidManifest(ManifestError):
    """A manifest rejected with field errors; ``str()`` is the API server's message."""

    def __init__(self, kind: str, name: str, errors: Sequence[FieldError]) -> None:
        self.kind = kind
        self.name = name
        self.errors = list(errors)
        super().__init__(self._message())

    def _message(self) -> str:
        if self.errors and all(e.type == "UnknownField" for e in self.errors):
            fields = ", ".join(str(e) for e in self.errors)
            handled = f'{self.kind} in version "v1alpha1" cannot be handled as a {self.kind}'
            return f"{handled}: strict decoding error: {fields}"
        # utilerrors.Aggregate: duplicates dropped, one error bare, several in brackets.
        texts = list(dict.fromkeys(str(e) for e in self.errors))
        joined = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
        return f'{self.kind}.otelguard.io "{self.name}" is invalid: {joined}'
