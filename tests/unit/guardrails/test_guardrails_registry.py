from __future__ import annotations

import pytest

from otelguard.guardrails import registry
from otelguard.guardrails.base import STAGES
from otelguard.guardrails.registry import PLANNED_VALIDATORS, ParamsError, UnknownValidator


def test_planned_validators_are_not_registered() -> None:
    assert not registry.names() & PLANNED_VALIDATORS


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [
        ("prompt-injection", "prompt_injection"),
        ("prompt_injection", "prompt_injection"),
        ("injection", "prompt_injection"),
        ("json-schema", "json_schema"),
        ("invisible-text", "invisible_text"),
        ("token-limit", "token_limit"),
        ("secret", "secrets"),
    ],
)
def test_aliases(alias: str, canonical: str) -> None:
    assert registry.canonical_name(alias) == canonical


def test_unknown_and_planned_validators() -> None:
    with pytest.raises(UnknownValidator, match="unknown validator 'piii' \\(known: citations, competitors, "):
        registry.canonical_name("piii")
    if PLANNED_VALIDATORS:
        with pytest.raises(UnknownValidator, match="planned but not implemented"):
            registry.bind(min(PLANNED_VALIDATORS))


def test_a_planned_name_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    # The planned-name message must keep working when a name is added to PLANNED_VALIDATORS again.
    monkeypatch.setattr(registry, "PLANNED_VALIDATORS", PLANNED_VALIDATORS | {"not_built_yet"})
    with pytest.raises(UnknownValidator, match="'not-built-yet' is planned but not implemented"):
        registry.bind("not-built-yet")
    with pytest.raises(UnknownValidator, match="unknown validator 'other'"):
        registry.bind("other")


@pytest.mark.parametrize("name", sorted(registry.names()))
def test_every_validator_is_well_formed(name: str) -> None:
    cls = registry.get(name)
    assert cls.stages and cls.stages <= set(STAGES)
    assert cls.description
    assert cls.Params.model_config.get("extra") == "forbid"
    with pytest.raises(ParamsError, match="unknown parameter"):
        registry.bind(name, {"noSuchParam": 1})


def test_camel_and_snake_case_params() -> None:
    a = registry.bind("secrets", {"minLength": 30, "high_entropy": False})
    assert a.params.min_length == 30 and a.params.high_entropy is False  # type: ignore[attr-defined]


def test_check_convenience() -> None:
    (finding,) = registry.check("pii", "mail me: a@example.com", {"entities": ["email"]})
    assert (finding.validator, finding.entity, finding.start, finding.end) == ("pii", "EMAIL", 9, 22)
    assert finding.preview == "a@…om (13 chars)"
    assert 0 <= finding.score <= 1
