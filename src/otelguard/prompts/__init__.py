"""Prompt templates: the sandboxed Jinja2 engine (text and chat prompts, includes, variables) and diffs.

Public surface: ``TemplateEngine`` (render, resolve_includes, variables), ``PromptSource`` (a stored
version's content), ``check_template`` (static checks for reconcile), ``extract_variables``,
``diff_versions``, ``Limits`` and the ``PromptTemplateError`` family.
"""

from otelguard.prompts.diff import diff_versions
from otelguard.prompts.engine import (
    INCLUDE_REF,
    Included,
    IncludeLoader,
    IncludeRef,
    Message,
    PromptSource,
    Rendered,
    TemplateEngine,
    Variable,
    check_template,
    decode_template,
    extract_variables,
)
from otelguard.prompts.errors import (
    IncludeCycle,
    IncludeNotFound,
    InvalidInclude,
    MissingVariables,
    OutputTooLarge,
    PromptTemplateError,
    SandboxViolation,
    TemplateSyntax,
    TemplateTooLarge,
    UndefinedValue,
)
from otelguard.prompts.sandbox import Limits

__all__ = [
    "INCLUDE_REF",
    "IncludeCycle",
    "IncludeLoader",
    "IncludeNotFound",
    "IncludeRef",
    "Included",
    "InvalidInclude",
    "Limits",
    "Message",
    "MissingVariables",
    "OutputTooLarge",
    "PromptSource",
    "PromptTemplateError",
    "Rendered",
    "SandboxViolation",
    "TemplateEngine",
    "TemplateSyntax",
    "TemplateTooLarge",
    "UndefinedValue",
    "Variable",
    "check_template",
    "decode_template",
    "diff_versions",
    "extract_variables",
]
