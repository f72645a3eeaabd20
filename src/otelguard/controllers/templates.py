"""Reconcile-time checks of Jinja2 templates (Prompt templates, Evaluator judge prompts).

The checks are the prompt engine's (``otelguard.prompts``, the engine the API renders with), so a
template Ready=True here is one the API accepts:

- ``check_template``: static, nothing rendered — syntax errors (with the line), variables used but not
  declared (line and column), private/dunder attribute access (template injection such as
  ``{{ ''.__class__ }}``), malformed ``{% include "prompt:NAME@LABEL|VERSION" %}`` references;
- ``include_problems``: resolves every include through a loader (the apply step reads the prompt store):
  a prompt, label or version that does not exist, and include cycles.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from otelguard.prompts import (
    IncludeLoader,
    PromptSource,
    PromptTemplateError,
    TemplateEngine,
    TemplateSyntax,
    extract_variables,
)
from otelguard.prompts import check_template as _engine_check

__all__ = ["TemplateProblem", "check_template", "include_problems", "used_variables"]

_ENGINE = TemplateEngine()


@dataclass(frozen=True)
class TemplateProblem:
    # TemplateSyntaxError, UndefinedVariable, UnsafeTemplate, InvalidInclude, IncludeNotFound, IncludeCycle
    reason: str
    message: str  # without the field path; "line L, column C: ..." when the place is known


def _problem(err: PromptTemplateError) -> TemplateProblem:
    return TemplateProblem(err.reason, str(err))


def check_template(source: str, declared: Iterable[str]) -> list[TemplateProblem]:
    """Problems of one template; ``declared`` are the variable names a caller may pass."""
    return [_problem(p) for p in _engine_check(source, list(declared))]


def used_variables(source: str) -> set[str]:
    """Variables a template reads from its context (empty when it does not parse)."""
    try:
        return set(extract_variables(source))
    except TemplateSyntax:
        return set()


def include_problems(
    content: Mapping[str, Any], loader: IncludeLoader, root: tuple[str, int] | None = None
) -> list[TemplateProblem]:
    """Includes of a prompt version's content (``prompt.prompt_content``) that do not resolve, or that
    form a cycle (``root``: the version's own (name, version), so including itself is one too). The
    message names the template part, e.g. ``spec.messages[0].content: include cycle: ...``."""
    try:
        source = PromptSource.from_content(content)
    except PromptTemplateError as exc:
        return [_problem(exc)]
    problems: list[TemplateProblem] = []
    for where, text in source.parts():
        try:
            _ENGINE.resolve_includes(PromptSource(template=text), loader, root=root)
        except PromptTemplateError as exc:
            # the part in the spec's terms: "template (in prompt:x@1)" -> "spec.template (in prompt:x@1)"
            exc.where = _spec_path(where) + (exc.where or "template").removeprefix("template")
            problems.append(_problem(exc))
    return problems


def _spec_path(where: str) -> str:
    return f"spec.{where}.content" if where.startswith("messages[") else f"spec.{where}"
