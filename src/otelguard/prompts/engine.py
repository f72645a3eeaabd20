"""Render prompt versions: text and chat templates in the bounded sandbox, includes, variables.

A stored version's content (``controllers.prompt.prompt_content``: ``template`` or ``messages``,
``variables``, ``modelConfig``) parses into ``PromptSource``; ``render`` turns it and the caller's
variables into text or messages.

Includes: ``{% include "prompt:NAME@LABEL" %}`` or ``"prompt:NAME@VERSION"`` name another (text) prompt.
They are resolved *before* rendering, through the injected ``IncludeLoader`` (the API reads Postgres, the
SDK calls the API), recursively; an include chain that reaches the same prompt version again is an
``IncludeCycle``, a reference the loader cannot resolve is ``IncludeNotFound``. Included templates see
the includer's variables (Jinja2's default).

Variables: declared ones with a default get it; declared required ones must be given; undeclared names a
template reads must be given. Every missing name is listed at once (``MissingVariables``); names read
only under a condition that was not taken are not required (StrictUndefined raises at the first use).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from jinja2 import Template, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateNotFound

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
from otelguard.prompts.sandbox import Limits, Sandbox, bounded

__all__ = [
    "INCLUDE_REF",
    "IncludeLoader",
    "IncludeRef",
    "Included",
    "Message",
    "PromptSource",
    "Rendered",
    "TemplateEngine",
    "Variable",
    "check_template",
    "decode_template",
    "extract_variables",
]

# prompt:NAME@LABEL or prompt:NAME@VERSION (DNS-label-like names and labels; digits only: a version).
INCLUDE_REF = re.compile(
    r"prompt:(?P<name>[a-z0-9]([-.a-z0-9]*[a-z0-9])?)@(?P<ref>[a-z0-9]([-a-z0-9]*[a-z0-9])?)"
)
_UNDEFINED = re.compile(r"^'([A-Za-z_][A-Za-z0-9_]*)' is undefined$")
_ROOT = "<template>"
_GLOBALS = frozenset(Sandbox().globals)


@dataclass(frozen=True, slots=True)
class IncludeRef:
    name: str
    label: str | None = None
    version: int | None = None

    @classmethod
    def parse(cls, text: str) -> IncludeRef:
        match = INCLUDE_REF.fullmatch(text)
        if match is None:
            raise InvalidInclude(f"include {text!r} must look like prompt:NAME@LABEL or prompt:NAME@VERSION")
        ref = match["ref"]
        if ref.isdigit():
            if ref.startswith("0"):
                raise InvalidInclude(f"include {text!r}: versions start at 1")
            return cls(match["name"], version=int(ref))
        return cls(match["name"], label=ref)

    def __str__(self) -> str:
        return f"prompt:{self.name}@{self.label if self.label is not None else self.version}"


@dataclass(frozen=True, slots=True)
class Included:
    """What a loader returns for an include: the resolved version and its text template."""

    name: str
    version: int
    template: str | None  # None: a chat prompt, which cannot be included


IncludeLoader = Callable[[IncludeRef], Included | None]


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    required: bool = False
    default: str | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Message:
    role: str
    content: str


@dataclass(frozen=True, slots=True)
class PromptSource:
    """One prompt version's templates and declared variables (the stored content, parsed)."""

    template: str | None = None
    messages: tuple[Message, ...] = ()
    variables: tuple[Variable, ...] = ()
    model_config: Mapping[str, Any] | None = None

    @property
    def kind(self) -> Literal["text", "chat"]:
        return "text" if self.template is not None else "chat"

    def parts(self) -> list[tuple[str, str]]:
        """(where, template) of every template in it: ``template`` or ``messages[i]``."""
        if self.template is not None:
            return [("template", self.template)]
        return [(f"messages[{i}]", m.content) for i, m in enumerate(self.messages)]

    @classmethod
    def from_content(cls, content: Mapping[str, Any]) -> PromptSource:
        template = content.get("template")
        messages = tuple(Message(str(m["role"]), str(m["content"])) for m in content.get("messages") or ())
        if (template is None) == (not messages):
            raise PromptTemplateError("a prompt has either a template or messages")
        variables = tuple(
            Variable(
                str(v["name"]),
                bool(v.get("required", False)),
                None if v.get("default") is None else str(v["default"]),
                v.get("description"),
            )
            for v in content.get("variables") or ()
        )
        config = content.get("modelConfig")
        return cls(None if template is None else str(template), messages, variables, config)


@dataclass(frozen=True, slots=True)
class Rendered:
    kind: Literal["text", "chat"]
    text: str | None = None
    messages: list[dict[str, str]] | None = None
    variables: dict[str, Any] = field(default_factory=dict)  # the values used, defaults filled in
    includes: dict[str, int] = field(default_factory=dict)  # include reference → version used


def decode_template(data: bytes, limits: Limits | None = None) -> str:
    """Template bytes (a file, a request body) as text; clear errors for non-UTF-8 and oversize input."""
    limit = (limits or Limits()).max_template_chars
    if len(data) > 4 * limit:
        raise TemplateTooLarge(f"template of {len(data):,} bytes exceeds {limit:,} characters")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise TemplateSyntax(
            f"template is not valid UTF-8 (byte {exc.start}: {data[exc.start]:#04x})"
        ) from None
    _check_source(text, limit)
    return text


def _check_source(text: str, limit: int) -> None:
    if len(text) > limit:
        raise TemplateTooLarge(f"template of {len(text):,} characters exceeds {limit:,}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise TemplateSyntax(f"template is not valid Unicode (character {exc.start})") from None


class TemplateEngine:
    """Compiles and renders prompt templates; thread-safe, compiled templates cached by source."""

    def __init__(self, limits: Limits | None = None, *, cache_size: int = 512) -> None:
        self.limits = limits or Limits()
        self.env = Sandbox()
        self._cache: OrderedDict[str, Template] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    # -- parsing -------------------------------------------------------------------------------------

    def parse(self, source: str) -> nodes.Template:
        _check_source(source, self.limits.max_template_chars)
        try:
            return self.env.parse(source)
        except TemplateSyntaxError as exc:
            raise TemplateSyntax(exc.message or "syntax error", line=exc.lineno) from None

    def compiled(self, source: str) -> Template:
        with self._lock:
            hit = self._cache.get(source)
            if hit is not None:
                self._cache.move_to_end(source)
                return hit
        ast = self.parse(source)
        template = self.env.from_string(ast)
        with self._lock:
            self._cache[source] = template
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return template

    def variables(self, source: str) -> list[str]:
        """Variables a template reads from its context, in order of first use."""
        return _ordered_names(self.parse(source))

    # -- includes ------------------------------------------------------------------------------------

    def resolve_includes(
        self,
        prompt: PromptSource,
        loader: IncludeLoader | None,
        *,
        root: tuple[str, int] | None = None,
    ) -> tuple[dict[str, str], dict[str, int]]:
        """Every include reachable from the prompt: (reference → source, reference → version).

        ``root`` is the (name, version) being rendered, so that including itself is a cycle too.
        """
        sources: dict[str, str] = {}
        versions: dict[str, int] = {}
        resolved: dict[str, Included] = {}

        def visit(source: str, where: str, chain: list[tuple[str, tuple[str, int] | None]]) -> None:
            try:
                ast = self.parse(source)
            except PromptTemplateError as exc:
                raise exc.located(where if len(chain) == 1 else f"{where} (in {chain[-1][0]})") from None
            for ref_text in meta.find_referenced_templates(ast):
                if ref_text is None:
                    raise InvalidInclude("includes must name a constant template", where=where)
                ref = IncludeRef.parse(ref_text)
                key = str(ref)
                included = resolved.get(key)
                if included is None:
                    if loader is None:
                        raise IncludeNotFound(f"{key}: includes are not available here", where=where)
                    if len(resolved) >= self.limits.max_includes:
                        raise InvalidInclude(f"more than {self.limits.max_includes} includes", where=where)
                    included = loader(ref)
                    if included is None:
                        what = f"label {ref.label!r}" if ref.label is not None else f"version {ref.version}"
                        raise IncludeNotFound(f"{key}: no prompt {ref.name!r} with {what}", where=where)
                    if included.template is None:
                        raise InvalidInclude(f"{key} is a chat prompt; only text prompts can be included")
                    resolved[key] = included
                identity = (included.name, included.version)
                seen = [ident for _, ident in chain]
                if identity in seen:
                    names = [label for label, _ in chain[seen.index(identity) :]]
                    raise IncludeCycle([*names, f"{key} (version {included.version})"]).located(where)
                if len(chain) > self.limits.max_include_depth:
                    raise InvalidInclude(f"includes nest deeper than {self.limits.max_include_depth}")
                sources[key] = included.template or ""
                versions[key] = included.version
                label = f"{key} (version {included.version})"
                visit(sources[key], where, [*chain, (label, identity)])

        start = "this prompt" if root is None else f"prompt:{root[0]}@{root[1]}"
        for where, source in prompt.parts():
            visit(source, where, [(start, root)])
        return sources, versions

    # -- rendering -----------------------------------------------------------------------------------

    def render(
        self,
        prompt: PromptSource,
        variables: Mapping[str, Any],
        *,
        loader: IncludeLoader | None = None,
        root: tuple[str, int] | None = None,
    ) -> Rendered:
        sources, versions = self.resolve_includes(prompt, loader, root=root)
        values = self._values(prompt, variables, sources)
        remaining = self.limits.max_output_chars
        out: list[str] = []
        with bounded(self.limits, sources) as budget:
            for where, source in prompt.parts():
                budget.limits = Limits(
                    self.limits.max_template_chars,
                    remaining,
                    self.limits.max_loop_steps,
                    self.limits.max_include_depth,
                    self.limits.max_includes,
                )
                text = self._render_one(where, source, values, remaining, prompt, sources)
                remaining -= len(text)
                out.append(text)
        if prompt.template is not None:
            return Rendered("text", text=out[0], variables=values, includes=versions)
        messages = [{"role": m.role, "content": t} for m, t in zip(prompt.messages, out, strict=True)]
        return Rendered("chat", messages=messages, variables=values, includes=versions)

    def _values(
        self, prompt: PromptSource, given: Mapping[str, Any], sources: Mapping[str, str]
    ) -> dict[str, Any]:
        values = dict(given)
        for var in prompt.variables:
            if var.name not in values and var.default is not None:
                values[var.name] = var.default
        missing = [v.name for v in prompt.variables if v.required and v.name not in values]
        if missing:
            raise MissingVariables(missing + self._unprovided(prompt, values, sources))
        return values

    def _unprovided(
        self, prompt: PromptSource, values: Mapping[str, Any], sources: Mapping[str, str]
    ) -> list[str]:
        """Undeclared names the templates read that are not given (declared optional ones may be absent)."""
        declared = {v.name for v in prompt.variables}
        used: set[str] = set()
        for source in [s for _, s in prompt.parts()] + list(sources.values()):
            used |= set(self.variables(source))
        return sorted(used - set(values) - declared - set(self.env.globals))

    def _render_one(
        self,
        where: str,
        source: str,
        values: dict[str, Any],
        limit: int,
        prompt: PromptSource,
        sources: Mapping[str, str],
    ) -> str:
        try:
            template = self.compiled(source)
        except PromptTemplateError as exc:
            raise exc.located(where) from None
        chunks: list[str] = []
        size = 0
        try:
            for chunk in template.generate(values):
                size += len(chunk)
                if size > limit:
                    raise OutputTooLarge(
                        f"rendered output exceeds {self.limits.max_output_chars:,} characters"
                    )
                chunks.append(chunk)
        except PromptTemplateError as exc:
            line, file = _template_line(exc)
            exc.line = exc.line or line
            raise exc.located(_where(where, file)) from None
        except UndefinedError as exc:
            line, file = _template_line(exc)
            match = _UNDEFINED.match(exc.message or "")
            if match is None:
                raise UndefinedValue(
                    exc.message or "undefined value", line=line, where=_where(where, file)
                ) from None
            name = match[1]
            text = source if file == _ROOT else sources.get(file, "")
            column = _column(text, line, name) if line else None
            missing = [name, *self._unprovided(prompt, values, sources)]
            raise MissingVariables(missing, line=line, column=column, where=_where(where, file)) from None
        except SecurityError as exc:
            line, file = _template_line(exc)
            raise SandboxViolation(
                f"refused by the sandbox: {exc}", line=line, where=_where(where, file)
            ) from None
        except TemplateNotFound as exc:
            raise IncludeNotFound(f"{exc.name}: not resolved", where=where) from None
        except (RecursionError, MemoryError, OverflowError) as exc:
            raise OutputTooLarge(f"rendering aborted: {type(exc).__name__}", where=where) from None
        except Exception as exc:  # a template error in the caller's data (TypeError, ZeroDivisionError, ...)
            line, file = _template_line(exc)
            raise PromptTemplateError(
                f"{type(exc).__name__}: {exc}", line=line, where=_where(where, file)
            ) from None
        text = "".join(chunks)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise PromptTemplateError(
                "rendered text is not valid Unicode (lone surrogate)", where=where
            ) from None
        return text


def _where(part: str, file: str) -> str:
    return part if file == _ROOT else f"{part} (in {file})"


def _template_line(exc: BaseException) -> tuple[int | None, str]:
    """Line in the template where ``exc`` was raised (Jinja2 rewrites tracebacks to template lines)."""
    tb = exc.__traceback__
    found: tuple[int | None, str] = (None, _ROOT)
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename == _ROOT or filename.startswith("prompt:"):
            found = (tb.tb_lineno, filename)
        tb = tb.tb_next
    return found


def _ordered_names(ast: nodes.Template) -> list[str]:
    undeclared = meta.find_undeclared_variables(ast)
    order: dict[str, tuple[int, int]] = {}
    for i, node in enumerate(ast.find_all(nodes.Name)):
        if node.name in undeclared and node.name not in order:
            order[node.name] = (node.lineno, i)
    return sorted(undeclared - _GLOBALS, key=lambda n: order.get(n, (0, 0)))


def extract_variables(source: str) -> list[str]:
    """Variables a template reads (in order of first use); ``TemplateSyntax`` when it does not parse."""
    return _ordered_names(_ENGINE.parse(source))


def _column(source: str, line: int | None, name: str) -> int:
    """1-based column of ``name`` on ``line``, preferring an occurrence inside ``{{ }}``/``{% %}``."""
    lines = source.splitlines()
    text = lines[line - 1] if line and 0 < line <= len(lines) else ""
    first = None
    for match in re.finditer(rf"(?<![\w]){re.escape(name)}(?!\w)", text):
        before = text[: match.start()]
        if before.count("{{") + before.count("{%") > before.count("}}") + before.count("%}"):
            return match.start() + 1
        first = match.start() + 1 if first is None else first
    return first or 1


def check_template(source: str, declared: Iterable[str]) -> list[PromptTemplateError]:
    """Static problems of one template (what reconcile reports): syntax, undeclared variables, private
    attribute access, malformed include references. Nothing is rendered; includes are not resolved
    (``TemplateEngine.resolve_includes`` does that with a loader). ``str(problem)`` reads
    "line L, column C: message"."""
    try:
        ast = _ENGINE.parse(source)
    except PromptTemplateError as exc:
        return [exc]
    problems: list[PromptTemplateError] = []
    undeclared = [n for n in _ordered_names(ast) if n not in set(declared)]
    for name in undeclared:
        line = min(
            (n.lineno for n in ast.find_all(nodes.Name) if n.name == name and n.ctx == "load"), default=1
        )
        err = PromptTemplateError(
            f"variable {name!r} is used but not declared in spec.variables",
            line=line,
            column=_column(source, line, name),
        )
        err.reason = "UndefinedVariable"
        problems.append(err)
    for attr, line in _private_accesses(ast):
        problems.append(
            SandboxViolation(
                f"access to {attr!r} is not allowed (names starting with '_' are private)",
                line=line,
                column=_column(source, line, attr),
            )
        )
    for ref in meta.find_referenced_templates(ast):
        try:
            if ref is None:
                raise InvalidInclude("includes must name a constant template")
            IncludeRef.parse(ref)
        except InvalidInclude as exc:
            problems.append(exc)
    return problems


def _private_accesses(ast: nodes.Template) -> list[tuple[str, int]]:
    found = [(n.attr, n.lineno) for n in ast.find_all(nodes.Getattr) if n.attr.startswith("_")]
    for item in ast.find_all(nodes.Getitem):
        arg = item.arg
        if isinstance(arg, nodes.Const) and isinstance(arg.value, str) and arg.value.startswith("_"):
            found.append((arg.value, item.lineno))
    return found


_ENGINE = TemplateEngine()
