"""Static checks of Jinja2 templates (Prompt templates, Evaluator judge prompts) at reconcile time.

Parse-only, in a SandboxedEnvironment: nothing is rendered here. Reports syntax errors, variables used
but not declared (with line and column), attribute access to private/dunder names (template injection,
e.g. ``{{ ''.__class__ }}``, which the sandbox would refuse at render time anyway) and malformed
``{% include "prompt:NAME@LABEL|VERSION" %}`` references. The prompt template engine (otelguard.prompts,
its own issue) will own rendering and include resolution; this module moves there when it lands.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from jinja2 import TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

# prompt:NAME@LABEL or prompt:NAME@VERSION (DNS-label-like names and labels).
INCLUDE_REF = re.compile(r"prompt:[a-z0-9]([-.a-z0-9]*[a-z0-9])?@([a-z0-9]([-a-z0-9]*[a-z0-9])?|[1-9][0-9]*)")

_ENV = SandboxedEnvironment(autoescape=False)


@dataclass(frozen=True)
class TemplateProblem:
    reason: str  # TemplateSyntaxError, UndefinedVariable, UnsafeTemplate, InvalidInclude
    message: str  # without the field path; "line L, column C: ..."


def check_template(source: str, declared: Iterable[str]) -> list[TemplateProblem]:
    """Problems of one template; ``declared`` are the variable names a caller may pass."""
    try:
        ast = _ENV.parse(source)
    except TemplateSyntaxError as exc:
        return [TemplateProblem("TemplateSyntaxError", f"line {exc.lineno}: {exc.message}")]
    problems: list[TemplateProblem] = []
    undeclared = meta.find_undeclared_variables(ast) - set(declared) - set(_ENV.globals)
    for name in sorted(undeclared, key=lambda n: (_first_line(ast, n), n)):
        line = _first_line(ast, name)
        problems.append(
            TemplateProblem(
                "UndefinedVariable",
                f"line {line}, column {_column(source, line, name)}: variable {name!r} is used but not "
                "declared in spec.variables",
            )
        )
    for attr, line in _private_accesses(ast):
        problems.append(
            TemplateProblem(
                "UnsafeTemplate",
                f"line {line}, column {_column(source, line, attr)}: access to {attr!r} is not allowed "
                "(names starting with '_' are private)",
            )
        )
    for ref in meta.find_referenced_templates(ast):
        if ref is None:
            problems.append(TemplateProblem("InvalidInclude", "includes must name a constant template"))
        elif not INCLUDE_REF.fullmatch(ref):
            problems.append(
                TemplateProblem(
                    "InvalidInclude",
                    f"include {ref!r} must look like prompt:NAME@LABEL or prompt:NAME@VERSION",
                )
            )
    return problems


def used_variables(source: str) -> set[str]:
    """Variables a template reads from its context (empty when it does not parse)."""
    try:
        return meta.find_undeclared_variables(_ENV.parse(source)) - set(_ENV.globals)
    except TemplateSyntaxError:
        return set()


def _first_line(ast: nodes.Template, name: str) -> int:
    lines = [n.lineno for n in ast.find_all(nodes.Name) if n.name == name and n.ctx == "load"]
    return min(lines, default=1)


def _private_accesses(ast: nodes.Template) -> list[tuple[str, int]]:
    found = [(n.attr, n.lineno) for n in ast.find_all(nodes.Getattr) if n.attr.startswith("_")]
    for item in ast.find_all(nodes.Getitem):
        arg = item.arg
        if isinstance(arg, nodes.Const) and isinstance(arg.value, str) and arg.value.startswith("_"):
            found.append((arg.value, item.lineno))
    return found


def _column(source: str, line: int, name: str) -> int:
    """1-based column of ``name`` on ``line``, preferring an occurrence inside ``{{ }}``/``{% %}``.

    Jinja2's AST records lines only, so the column is found in the text; 1 when not found.
    """
    lines = source.splitlines()
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    first = None
    for match in re.finditer(rf"(?<![\w]){re.escape(name)}(?!\w)", text):
        before = text[: match.start()]
        opened = before.count("{{") + before.count("{%")
        closed = before.count("}}") + before.count("%}")
        if opened > closed:
            return match.start() + 1
        first = match.start() + 1 if first is None else first
    return first or 1
