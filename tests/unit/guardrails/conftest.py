"""Helpers for guardrails tests: run a validator both with and without the pattern-set prefilter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from otelguard.guardrails import registry
from otelguard.guardrails.base import CheckContext, Finding
from otelguard.guardrails.patterns import PatternSet, ScanText

Detect = Callable[..., list[Finding]]


def _detect(
    name: str, text: str, params: dict[str, Any] | None = None, stage: str = "input"
) -> list[Finding]:
    validator = registry.bind(name, params)
    scan = ScanText(text)
    ctx = CheckContext(stage=stage)  # type: ignore[arg-type]
    direct = validator.check(scan, ctx, None)
    if validator.patterns:
        hits = PatternSet(validator.patterns).match(scan)
        # The prefilter contract: no pattern hit → nothing to find; with hits → the same findings.
        prefiltered = validator.check(scan, ctx, hits) if hits else []
        assert sorted(prefiltered) == sorted(direct), (text, prefiltered, direct)
    return direct


@pytest.fixture
def detect() -> Detect:
    return _detect


def entities(findings: list[Finding]) -> list[str]:
    return [f.entity for f in findings]


def spans(text: str, findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.entity, text[f.start or 0 : f.end or 0]) for f in findings]
