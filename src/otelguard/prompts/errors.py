"""Errors of the prompt template engine: each has a stable ``reason`` and, when known, line and column."""

from __future__ import annotations

__all__ = [
    "IncludeCycle",
    "IncludeNotFound",
    "InvalidInclude",
    "MissingVariables",
    "OutputTooLarge",
    "PromptTemplateError",
    "SandboxViolation",
    "TemplateSyntax",
    "TemplateTooLarge",
    "UndefinedValue",
]


class PromptTemplateError(Exception):
    """A template that cannot be rendered; ``reason`` is CamelCase, ``where`` names the template part."""

    reason = "TemplateError"

    def __init__(
        self, message: str, *, line: int | None = None, column: int | None = None, where: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.where = where

    def located(self, where: str) -> PromptTemplateError:
        """The same error, naming the template part (``template``, ``messages[1]``) it comes from."""
        if self.where is None:
            self.where = where
        return self

    def __str__(self) -> str:
        parts = [self.where] if self.where else []
        if self.line is not None:
            parts.append(f"line {self.line}" + (f", column {self.column}" if self.column else ""))
        return ": ".join([*parts, self.message]) if parts else self.message

    def as_dict(self) -> dict[str, object]:
        return {
            "reason": self.reason,
            "message": self.message,
            "where": self.where,
            "line": self.line,
            "column": self.column,
        }


class TemplateSyntax(PromptTemplateError):
    reason = "TemplateSyntaxError"


class TemplateTooLarge(PromptTemplateError):
    reason = "TemplateTooLarge"


class MissingVariables(PromptTemplateError):
    reason = "MissingVariables"

    def __init__(
        self,
        names: list[str],
        *,
        line: int | None = None,
        column: int | None = None,
        where: str | None = None,
    ) -> None:
        self.names = sorted(set(names))
        super().__init__(
            "missing variable(s): " + ", ".join(self.names), line=line, column=column, where=where
        )

    def as_dict(self) -> dict[str, object]:
        return {**super().as_dict(), "missing": self.names}


class UndefinedValue(PromptTemplateError):
    """A given variable lacks the attribute or key the template reads."""

    reason = "UndefinedValue"


class SandboxViolation(PromptTemplateError):
    """Template injection or resource abuse refused by the sandbox."""

    reason = "UnsafeTemplate"


class OutputTooLarge(PromptTemplateError):
    reason = "OutputTooLarge"


class InvalidInclude(PromptTemplateError):
    reason = "InvalidInclude"


class IncludeNotFound(PromptTemplateError):
    reason = "IncludeNotFound"


class IncludeCycle(PromptTemplateError):
    reason = "IncludeCycle"

    def __init__(self, chain: list[str]) -> None:
        self.chain = chain
        super().__init__("include cycle: " + " -> ".join(chain))
