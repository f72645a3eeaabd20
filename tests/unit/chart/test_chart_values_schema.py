"""values.schema.json matches values.yaml key for key, and both jsonschema and helm reject wrong values."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
import yaml
from chart_helm import CHART, helm

VALUES = yaml.safe_load((CHART / "values.yaml").read_text())
SCHEMA = json.loads((CHART / "values.schema.json").read_text())


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        assert set(node) == {"$ref"}, f"draft-07 ignores keywords beside $ref: {node}"
        ref = node["$ref"].removeprefix("#/")
        node = SCHEMA
        for part in ref.split("/"):
            node = node[part]
    return node


def value_paths(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from value_paths(item, f"{path}.{key}" if path else key)


def schema_at(path: str) -> dict[str, Any]:
    node = resolve(SCHEMA)
    for part in path.split(".") if path else []:
        props = node.get("properties", {})
        assert part in props, f"values.yaml key {path!r}: {part!r} is not in values.schema.json"
        node = resolve(props[part])
    return node


def test_schema_is_valid_draft7_and_accepts_the_defaults() -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    jsonschema.Draft7Validator(SCHEMA).validate(VALUES)


def test_every_values_key_is_in_the_schema_with_its_type() -> None:
    python_types = {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer"}
    for path, value in value_paths(VALUES):
        node = schema_at(path)
        declared = node.get("type")
        declared = declared if isinstance(declared, list) else [declared]
        assert python_types[type(value)] in declared or (isinstance(value, int) and "number" in declared), (
            path,
            value,
            declared,
        )


def test_every_closed_schema_object_is_in_values_yaml() -> None:
    """Where the schema forbids extra keys, each declared key has a default in values.yaml."""

    def walk(node: dict[str, Any], value: Any, path: str) -> Iterator[str]:
        node = resolve(node)
        if node.get("additionalProperties") is False:
            assert isinstance(value, dict), path
            for key, sub in node.get("properties", {}).items():
                if key not in value:
                    yield f"{path}.{key}" if path else key
                else:
                    yield from walk(sub, value[key], f"{path}.{key}" if path else key)

    assert list(walk(SCHEMA, VALUES, "")) == []


BAD = [
    ("replicas", "one"),
    ("replicas", 2),
    ("replicas", -1),
    ("crds.install", "yes"),
    ("crds.keep", 1),
    ("watch.namespaces", "team-a"),
    ("watch.namespaces", ["Team_A"]),
    ("rbac.secretNamespaces", ["a", "a"]),
    ("logLevel", "verbose"),
    ("image.pullPolicy", "Sometimes"),
    ("image.repository", ""),
    ("metrics.port", 70000),
    ("health.port", "8080"),
    ("serviceAccount.create", "true"),
    ("rbac.create", None),
    ("crds.bogus", True),
    ("bogus", True),
    ("resources.requests.cpu", True),
    ("podSecurityContext.runAsUser", "root"),
]


def with_value(path: str, value: Any) -> dict[str, Any]:
    values = json.loads(json.dumps(VALUES))
    node = values
    *parents, last = path.split(".")
    for part in parents:
        node = node[part]
    node[last] = value
    return values


@pytest.mark.parametrize(("path", "value"), BAD, ids=[f"{p}={v!r}" for p, v in BAD])
def test_schema_rejects_wrong_values(path: str, value: Any) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(SCHEMA).validate(with_value(path, value))


@pytest.mark.parametrize(
    "override",
    [
        "replicas: one",
        "crds: {install: 'yes'}",
        "watch: {namespaces: team-a}",
        "logLevel: verbose",
        "bogus: 1",
    ],
)
def test_helm_enforces_the_schema(override: str, tmp_path: Any) -> None:
    values = tmp_path / "values.yaml"
    values.write_text(override + "\n")
    result = helm("template", "otelguard", str(CHART), "-f", str(values), check=False)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr, result.stderr
