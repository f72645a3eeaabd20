"""The generated CRDs: committed files are fresh, schemas are structural, bounded and documented."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import Field

from otelguard.api.v1alpha1 import KINDS, ApiModel, render_crds
from otelguard.api.v1alpha1.base import RULES
from otelguard.api.v1alpha1.crdgen import HEADER, main, stale_files
from otelguard.api.v1alpha1.schema import SchemaError, structural_schema

REPO = Path(__file__).resolve().parents[3]
CRDS = {name: yaml.safe_load(text) for name, text in render_crds().items()}
SCHEMAS = {
    doc["spec"]["names"]["kind"]: doc["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    for doc in CRDS.values()
}

# Keywords a structural schema may not use here (or that the API server rejects outright).
FORBIDDEN = {
    "$ref",
    "$defs",
    "definitions",
    "allOf",
    "oneOf",
    "not",
    "nullable",
    "title",
    "const",
    "uniqueItems",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "patternProperties",
    "propertyNames",
    "additionalItems",
}


def walk(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node below (and including) ``node`` with a readable path."""
    yield path, node
    for name, sub in node.get("properties", {}).items():
        yield from walk(sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from walk(node["additionalProperties"], f"{path}{{}}")


def structural_problems(root: dict[str, Any]) -> list[str]:
    problems = []
    for path, node in walk(root):
        if path.startswith(".metadata"):
            continue  # only name/generateName restrictions are allowed there, checked by the API server
        where = path or "<root>"
        free = node.get("x-kubernetes-preserve-unknown-fields") or node.get("x-kubernetes-int-or-string")
        if "type" not in node and not free:
            problems.append(f"{where}: no type")
        for key in FORBIDDEN & node.keys():
            problems.append(f"{where}: forbidden keyword {key}")
        if "anyOf" in node and not node.get("x-kubernetes-int-or-string"):
            problems.append(f"{where}: anyOf outside the int-or-string pattern")
        if "properties" in node and "additionalProperties" in node:
            problems.append(f"{where}: both properties and additionalProperties")
        if node.get("additionalProperties") is False:
            problems.append(f"{where}: additionalProperties: false")
        if node.get("x-kubernetes-preserve-unknown-fields") and node.get("properties"):
            problems.append(f"{where}: preserve-unknown-fields is only for free-form params")
        bounded = "maxLength" in node or "enum" in node or path in (".apiVersion", ".kind")
        if node.get("type") == "string" and not bounded:
            problems.append(f"{where}: string without maxLength or enum")
        if node.get("type") == "array" and ("maxItems" not in node or "items" not in node):
            problems.append(f"{where}: array without maxItems/items")
        if isinstance(node.get("additionalProperties"), dict) and "maxProperties" not in node:
            problems.append(f"{where}: map without maxProperties")
        if node.get("x-kubernetes-list-type") == "map":
            item = node["items"]
            for key in node["x-kubernetes-list-map-keys"]:
                if key not in item.get("required", []) and "default" not in item["properties"][key]:
                    problems.append(f"{where}: list-map key {key} neither required nor defaulted")
    return problems


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_schema_is_structural_and_bounded(kind: str) -> None:
    assert structural_problems(SCHEMAS[kind]) == []


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_every_field_has_a_description(kind: str) -> None:
    missing = [
        path
        for path, node in walk(SCHEMAS[kind])
        if not path.startswith(".metadata")
        and path.split(".")[-1] not in ("", "[]")
        and not path.endswith(("[]", "{}"))
        and len(node.get("description", "")) < 5
    ]
    assert missing == []


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_defaults_are_valid_constants(kind: str) -> None:
    """The API server rejects a CRD whose defaults do not validate; check against the node's own schema."""
    for path, node in walk(SCHEMAS[kind]):
        if "default" in node:
            jsonschema.validate(node["default"], node)
            assert not isinstance(node["default"], list), f"{path}: list defaults are not constant-friendly"


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_cel_rules_have_python_twins_and_valid_field_paths(kind: str) -> None:
    for path, node in walk(SCHEMAS[kind]):
        for rule in node.get("x-kubernetes-validations", []):
            assert rule["rule"] in RULES, f"{path}: no Python twin for {rule['rule']}"
            assert rule["message"].strip()
            if "fieldPath" in rule:
                assert rule["fieldPath"].lstrip(".") in node["properties"], f"{path}: {rule['fieldPath']}"


def test_committed_crds_are_fresh() -> None:
    """Fails when a model changed and `otelguard crds` was not run."""
    assert stale_files(REPO / "crds") == [], "run `otelguard crds` (or crdgen.main()) and commit crds/"


def test_check_mode_detects_stale_and_extra_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check", "--output", str(tmp_path)]) == 1
    assert main(["--output", str(tmp_path)]) == 0
    assert main(["--check", "--output", str(tmp_path)]) == 0
    victim = tmp_path / "otelguard.io_prompts.yaml"
    victim.write_text(victim.read_text().replace("maxLength: 2048", "maxLength: 4096", 1))
    (tmp_path / "otelguard.io_widgets.yaml").write_text("# left over from a removed kind\n")
    assert main(["--check", "--output", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "otelguard.io_prompts.yaml" in err and "otelguard.io_widgets.yaml" in err


def test_files_carry_the_generated_header() -> None:
    for name, text in render_crds().items():
        assert text.startswith(HEADER), name
        assert re.fullmatch(r"otelguard\.io_[a-z]+\.yaml", name)


def test_names_printer_columns_and_subresources() -> None:
    short_names = [s for doc in CRDS.values() for s in doc["spec"]["names"]["shortNames"]]
    assert len(short_names) == len(set(short_names))
    for doc in CRDS.values():
        spec = doc["spec"]
        assert doc["apiVersion"] == "apiextensions.k8s.io/v1"
        assert spec["scope"] == "Namespaced"
        assert spec["names"]["categories"] == ["otelguard"]
        assert doc["metadata"]["name"] == f"{spec['names']['plural']}.otelguard.io"
        (version,) = spec["versions"]
        assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
        assert version["subresources"] == {"status": {}}
        columns = version["additionalPrinterColumns"]
        names = [c["name"] for c in columns]
        assert names[-4:] == ["Ready", "Reason", "Message", "Age"] and len(names) >= 5
        assert columns[names.index("Ready")]["jsonPath"] == '.status.conditions[?(@.type=="Ready")].status'


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_printer_columns_point_at_schema_fields(kind: str) -> None:
    (info,) = [k for k in KINDS if k.kind == kind]
    for column in info.printer_columns:
        if column.json_path.startswith((".metadata", ".status.conditions")):
            continue
        node = SCHEMAS[kind]
        for part in column.json_path.strip(".").split("."):
            node = node["properties"][part]
        expected = {"integer": "integer", "string": "string", "number": "number"}[column.type]
        assert node["type"] == expected, column


def test_status_has_observed_generation_and_conditions() -> None:
    for kind, schema in SCHEMAS.items():
        status = schema["properties"]["status"]["properties"]
        assert status["observedGeneration"]["type"] == "integer", kind
        conditions = status["conditions"]
        assert conditions["x-kubernetes-list-type"] == "map"
        assert conditions["x-kubernetes-list-map-keys"] == ["type"]
        assert set(conditions["items"]["required"]) == {"type", "status", "lastTransitionTime", "reason"}


def test_free_form_params_preserve_unknown_fields() -> None:
    policy = SCHEMAS["GuardrailPolicy"]["properties"]["spec"]["properties"]["rules"]["items"]
    assert policy["properties"]["params"] == {
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": True,
        "description": policy["properties"]["params"]["description"],
    }


def test_converter_refuses_what_a_structural_schema_cannot_express() -> None:
    class Mixed(ApiModel):
        """Either a number or text."""

        value: int | str = Field(description="A number or some text.")

    class Exclusive(ApiModel):
        """A strictly positive ratio."""

        ratio: float = Field(gt=0, description="Above zero.")

    with pytest.raises(SchemaError, match="anyOf"):
        structural_schema(Mixed)
    with pytest.raises(SchemaError, match="exclusiveMinimum"):
        structural_schema(Exclusive)


def test_checker_flags_non_structural_schemas() -> None:
    bad = {
        "type": "object",
        "properties": {
            "untyped": {"description": "no type"},
            "text": {"type": "string", "description": "unbounded"},
            "list": {
                "type": "array",
                "items": {"type": "string", "maxLength": 5},
                "description": "unbounded",
            },
            "map": {
                "type": "object",
                "additionalProperties": {"type": "integer"},
                "description": "unbounded",
            },
            "ref": {"$ref": "#/definitions/x", "description": "a reference"},
            "either": {"anyOf": [{"type": "string"}, {"type": "integer"}], "description": "mixed"},
        },
    }
    problems = structural_problems(bad)
    assert problems == [
        ".untyped: no type",
        ".text: string without maxLength or enum",
        ".list: array without maxItems/items",
        ".map: map without maxProperties",
        ".ref: no type",
        ".ref: forbidden keyword $ref",
        ".either: no type",
        ".either: anyOf outside the int-or-string pattern",
    ]
