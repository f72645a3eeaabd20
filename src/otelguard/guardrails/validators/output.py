"""Output validators: JSON validity, JSON Schema, formats (email, URL, date, number range), refusals,
completeness (required sections or JSON fields)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection
from datetime import date, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import jsonschema
from pydantic import Field, field_validator, model_validator

from otelguard.guardrails.base import CheckContext, Finding, Stage
from otelguard.guardrails.patterns import ScanText
from otelguard.guardrails.registry import Validator, ValidatorParams, register
from otelguard.guardrails.validators._detect import Detector, Pattern

__all__ = ["Completeness", "Format", "JsonSchema", "JsonValid", "Refusal", "strip_fences"]

_OUTPUT: frozenset[Stage] = frozenset({"output"})
_FENCE = re.compile(r"^\s*```[A-Za-z0-9_-]*[ \t]*\n(.*?)\n?```\s*$", re.DOTALL)


def strip_fences(text: str) -> str:
    """The body of a Markdown code fence (```json ... ```) around the whole text, else the text."""
    m = _FENCE.match(text)
    return m.group(1) if m else text


def _parse_json(text: str, allow_fenced: bool) -> tuple[Any, Finding | None, str]:
    body = strip_fences(text) if allow_fenced else text
    try:
        return json.loads(body), None, body
    except json.JSONDecodeError as exc:
        offset = text.find(body) + exc.pos if body else 0
        detail = f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        return None, Finding("json_valid", "INVALID_JSON", offset, offset, 1.0, detail=detail), body


class JsonValidParams(ValidatorParams):
    allow_fenced: bool = Field(True, description="Accept JSON inside a Markdown code fence.")
    require: Literal["any", "object", "array"] = Field("any", description="Required top-level type.")


@register
class JsonValid(Validator):
    name = "json_valid"
    aliases = ("json",)
    Params = JsonValidParams
    stages = _OUTPUT
    description = "The output parses as JSON (optionally inside a code fence)."

    def check(
        self, text: ScanText, context: CheckContext, hits: Collection[int] | None = None
    ) -> list[Finding]:
        p: JsonValidParams = self.params  # type: ignore[assignment]
        value, error, _ = _parse_json(text.text, p.allow_fenced)
        if error is not None:
            return [error]
        want = {"object": dict, "array": list}.get(p.require)
        if want is not None and not isinstance(value, want):
            return [
                Finding(self.name, "INVALID_JSON", None, None, 1.0, detail=f"top level is not an {p.require}")
            ]
        return []


class JsonSchemaParams(ValidatorParams):
    json_schema: dict[str, Any] = Field(alias="schema", description="A JSON Schema (draft 2020-12).")
    allow_fenced: bool = Field(True, description="Accept JSON inside a Markdown code fence.")
    max_errors: int = Field(10, ge=1, le=100, description="Schema violations reported at most.")

    @field_validator("json_schema")
    @classmethod
    def _valid_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        try:
            jsonschema.Draft202012Validator.check_schema(schema)
        except jsonschema.SchemaError as exc:
            where = "/".join(str(p) for p in exc.absolute_path)
            raise ValueError(f"invalid JSON Schema{f' at {where}' if where else ''}: {exc.message}") from None
        return schema


@register
class JsonSchema(Validator):
    name = "json_schema"
    Params = JsonSchemaParams
    stages = _OUTPUT
    description = "The output is JSON valid against a JSON Schema."

    def __init__(self, params: JsonSchemaParams) -> None:
        super().__init__(params)
        self._validator = jsonschema.Draft202012Validator(
            params.json_schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )

    def check(
        self, text: ScanText, context: CheckContext, hits: Collection[int] | None = None
    ) -> list[Finding]:
        p: JsonSchemaParams = self.params  # type: ignore[assignment]
        value, error, _ = _parse_json(text.text, p.allow_fenced)
        if error is not None:
            return [Finding(self.name, error.entity, error.start, error.end, 1.0, detail=error.detail)]
        out = []
        for err in self._validator.iter_errors(value):
            path = "/" + "/".join(str(x) for x in err.absolute_path)
            out.append(
                Finding(self.name, "SCHEMA_VIOLATION", None, None, 1.0, detail=f"{path}: {err.message}")
            )
            if len(out) >= p.max_errors:
                break
        return out


# -- formats -----------------------------------------------------------------------------------------------
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]{1,64}@(?:[A-Za-z0-9\-]{1,63}\.){1,8}[A-Za-z]{2,24}", re.ASCII)


class FormatParams(ValidatorParams):
    format: Literal["email", "url", "date", "datetime", "number", "integer"]
    minimum: float | None = Field(None, description="number/integer: smallest allowed value.")
    maximum: float | None = Field(None, description="number/integer: largest allowed value.")
    date_format: str | None = Field(None, description="date/datetime: strptime format; default ISO 8601.")
    schemes: list[str] = Field(default_factory=lambda: ["http", "https"], description="url: allowed schemes.")

    @model_validator(mode="after")
    def _range(self) -> FormatParams:
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError("minimum is greater than maximum")
        return self


@register
class Format(Validator):
    name = "format"
    Params = FormatParams
    stages = _OUTPUT
    description = "The whole output is an email, URL, date, datetime or number (with range)."

    def check(
        self, text: ScanText, context: CheckContext, hits: Collection[int] | None = None
    ) -> list[Finding]:
        p: FormatParams = self.params  # type: ignore[assignment]
        problem = self._problem(text.text.strip(), p)
        return (
            []
            if problem is None
            else [Finding(self.name, "FORMAT_MISMATCH", None, None, 1.0, detail=problem)]
        )

    @staticmethod
    def _problem(value: str, p: FormatParams) -> str | None:
        fmt = p.format
        if fmt == "email":
            return None if _EMAIL.fullmatch(value) else "not an email address"
        if fmt == "url":
            parts = urlsplit(value)
            ok = parts.scheme in p.schemes and bool(parts.netloc) and not any(c.isspace() for c in value)
            return None if ok else f"not a URL with scheme {'/'.join(p.schemes)}"
        if fmt in ("date", "datetime"):
            try:
                if p.date_format:
                    datetime.strptime(value, p.date_format)
                elif fmt == "date":
                    date.fromisoformat(value)
                else:
                    datetime.fromisoformat(value)
            except ValueError:
                return f"not a {fmt} ({p.date_format or 'ISO 8601'})"
            return None
        try:
            number = int(value) if fmt == "integer" else float(value)
        except ValueError:
            return f"not an {fmt}" if fmt == "integer" else "not a number"
        if not math.isfinite(number):
            return "not a finite number"
        if p.minimum is not None and number < p.minimum:
            return f"{value} < minimum {p.minimum:g}"
        if p.maximum is not None and number > p.maximum:
            return f"{value} > maximum {p.maximum:g}"
        return None


# -- refusal -----------------------------------------------------------------------------------------------
_REFUSALS: tuple[Pattern, ...] = (
    Pattern(
        "REFUSAL",
        r"(?i)\bI(?:'m| am)?\s*(?:sorry,?\s*(?:but\s+)?I\s+)?(?:can(?:no|')t|cannot|won't|will\s+not"
        r"|am\s+(?:not\s+able|unable)|'m\s+(?:not\s+able|unable))\s+(?:to\s+)?(?:help|assist|provide|comply"
        r"|do\s+that|fulfil+|answer|support|engage|generate|create|share)",
        0.9,
    ),
    Pattern("REFUSAL", r"(?i)\bI\s+(?:must|have\s+to)\s+(?:respectfully\s+)?decline\b", 0.9),
    Pattern(
        "REFUSAL",
        r"(?i)\bas\s+an\s+AI(?:\s+language\s+model)?,?\s+I\s+(?:can(?:no|')t|cannot|don't|am\s+not)",
        0.9,
    ),
    Pattern("REFUSAL", r"(?i)\b(?:this|that|your)\s+request\s+(?:violates|goes\s+against)\b", 0.7),
)


class RefusalParams(ValidatorParams):
    within_chars: int = Field(
        300, ge=1, description="A refusal phrase this close to the start scores high; later ones score 0.5."
    )


@register
class Refusal(Validator):
    name = "refusal"
    Params = RefusalParams
    stages = _OUTPUT
    description = 'The model refused ("I can\'t help with that" and its family).'

    def __init__(self, params: RefusalParams) -> None:
        super().__init__(params)
        self._detector = Detector(self.name, _REFUSALS)
        self.patterns = self._detector.sources
        self._within = params.within_chars

    def check(
        self, text: ScanText, context: CheckContext, hits: Collection[int] | None = None
    ) -> list[Finding]:
        return [
            f
            if (f.start or 0) < self._within
            else Finding(f.validator, f.entity, f.start, f.end, min(f.score, 0.5), f.preview, f.detail)
            for f in self._detector.run(text, hits)
        ]


# -- completeness ------------------------------------------------------------------------------------------
class CompletenessParams(ValidatorParams):
    sections: list[str] = Field(default_factory=list, description="Phrases/headings that must appear.")
    fields: list[str] = Field(default_factory=list, description="Dotted JSON paths that must be present.")
    allow_fenced: bool = True

    @model_validator(mode="after")
    def _something(self) -> CompletenessParams:
        if not self.sections and not self.fields:
            raise ValueError("set sections and/or fields")
        return self


@register
class Completeness(Validator):
    name = "completeness"
    Params = CompletenessParams
    stages = _OUTPUT
    description = "Required sections (case-insensitive phrases) or JSON fields are present."

    def __init__(self, params: CompletenessParams) -> None:
        super().__init__(params)
        self._sections = [(s, re.compile(re.escape(s), re.IGNORECASE)) for s in params.sections]
        self._fields = [f.split(".") for f in params.fields]

    def check(
        self, text: ScanText, context: CheckContext, hits: Collection[int] | None = None
    ) -> list[Finding]:
        out = [
            Finding(self.name, "MISSING_SECTION", None, None, 1.0, detail=f"missing section {name!r}")
            for name, rx in self._sections
            if not rx.search(text.text)
        ]
        if self._fields:
            p: CompletenessParams = self.params  # type: ignore[assignment]
            value, error, _ = _parse_json(text.text, p.allow_fenced)
            for path in self._fields:
                if error is not None or not _has_path(value, path):
                    out.append(
                        Finding(
                            self.name,
                            "MISSING_FIELD",
                            None,
                            None,
                            1.0,
                            detail=f"missing field {'.'.join(path)!r}",
                        )
                    )
        return out


def _has_path(value: Any, path: list[str]) -> bool:
    for key in path:
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return False
    return True
