"""The Jinja2 environment prompts render in: ``ImmutableSandboxedEnvironment`` plus resource bounds.

The stock sandbox refuses private/dunder attributes, unsafe callables and mutation of builtin containers
(``{{ ''.__class__ }}`` raises ``SecurityError``); it does not bound sizes. This one also refuses, before
the memory is spent:

- ``*``, ``+`` and ``~`` results longer than the output bound (``'a' * 10**9``, doubling in a loop);
- ``**`` results above 4,096 bits;
- numbers above the output bound passed to filters and calls (``center(10**9)``), and ``%``/``format``
  field widths of seven or more digits;
- more than ``max_loop_steps`` items produced by ``range()`` over one render (nested loops).

The rendered output itself is counted while it streams (``engine``). The bounds of the current render
live in a ContextVar, so one environment (and its compiled-template cache) serves every render and thread.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps
from typing import Any

from jinja2 import BaseLoader, Environment, StrictUndefined, TemplateNotFound, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import _PassArg

from otelguard.prompts.errors import OutputTooLarge, SandboxViolation

__all__ = ["Limits", "Sandbox", "bounded"]

_BIG_WIDTH = re.compile(r"\d{7,}")


@dataclass(frozen=True, slots=True)
class Limits:
    max_template_chars: int = 131_072  # one template (the CRD's maxLength)
    max_output_chars: int = 1_000_000  # one render, all messages together
    max_loop_steps: int = 1_000_000  # items produced by range() over one render
    max_include_depth: int = 8
    max_includes: int = 64  # distinct include references over one render


@dataclass(slots=True)
class _Budget:
    limits: Limits
    sources: dict[str, str]  # include reference → resolved template source
    loop_steps: int = 0


_BUDGET: ContextVar[_Budget | None] = ContextVar("otelguard_prompt_budget", default=None)
_DEFAULT = Limits()


def _limits() -> Limits:
    budget = _BUDGET.get()
    return budget.limits if budget is not None else _DEFAULT


@contextmanager
def bounded(limits: Limits, sources: dict[str, str]) -> Iterator[_Budget]:
    """Bounds (and resolved includes) for the renders inside the block, in this context only."""
    budget = _Budget(limits, sources)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def _check_size(size: int, what: str) -> None:
    limit = _limits().max_output_chars
    if size > limit:
        raise OutputTooLarge(f"{what} would produce {size:,} characters (the limit is {limit:,})")


def _check_number(value: Any, what: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _limits().max_output_chars:
        raise SandboxViolation(f"{what}: the number {value} is too large")


def _sized(value: Any) -> int | None:
    return len(value) if isinstance(value, str | list | tuple) else None


def _bounded_range(*args: int) -> range:
    for arg in args:
        _check_number(arg, "range()")
    rng = range(*args)
    budget = _BUDGET.get()
    if budget is not None:
        budget.loop_steps += len(rng)
        if budget.loop_steps > budget.limits.max_loop_steps:
            raise OutputTooLarge(
                f"loops would run more than {budget.limits.max_loop_steps:,} steps (range() items)"
            )
    return rng


def _bounded_concat(values: tuple[Any, ...]) -> str:
    parts = [str(v) for v in values]
    _check_size(sum(map(len, parts)), "'~' concatenation")
    return "".join(parts)


def _guard_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    skip = 1 if _PassArg.from_obj(func) is None else 2  # the value (and context/environment)

    @wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        for arg in (*args[skip:], *kwargs.values()):  # parameters, not the value: {{ 10**7|int }} is fine
            _check_number(arg, f"filter {name!r}")
        if name == "format" and args and isinstance(args[-1], str) and _BIG_WIDTH.search(args[-1]):
            raise SandboxViolation("filter 'format': field width too large")
        result = func(*args, **kwargs)
        if isinstance(result, str):
            _check_size(len(result), f"filter {name!r}")
        return result

    return guarded


class _Generator(CodeGenerator):
    """Compiles ``a ~ b`` to a size-checked join (Jinja2 offers no interception hook for ``~``)."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:  # noqa: N802 - Jinja2's name
        self.write("environment.bounded_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _IncludeLoader(BaseLoader):
    """Serves ``prompt:NAME@REF`` sources resolved before the render (``engine.resolve_includes``)."""

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        budget = _BUDGET.get()
        if budget is None or template not in budget.sources:
            raise TemplateNotFound(template)
        return budget.sources[template], template, lambda: False


class Sandbox(ImmutableSandboxedEnvironment):
    code_generator_class = _Generator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self) -> None:
        super().__init__(
            undefined=StrictUndefined,
            autoescape=False,
            keep_trailing_newline=True,
            loader=_IncludeLoader(),
            cache_size=0,  # included sources change when a label moves; never cache them by name
            auto_reload=False,
        )
        self.globals["range"] = _bounded_range
        self.filters = {name: _guard_filter(name, f) for name, f in self.filters.items()}
        self.bounded_concat = _bounded_concat

    def call_binop(self, context: Context, op: str, left: Any, right: Any) -> Any:
        if op == "*":
            for seq, times in ((left, right), (right, left)):
                size = _sized(seq)
                if size is not None and isinstance(times, int):
                    _check_size(size * max(times, 0), "'*'")
            return left * right
        if op == "**":
            big = isinstance(left, int) and isinstance(right, int) and abs(left) > 1
            if big and (right > 4096 or abs(left).bit_length() * right > 4096):
                raise SandboxViolation(f"'**': {left} ** {right} is too large")
            return left**right
        if op == "+":
            a, b = _sized(left), _sized(right)
            if a is not None and b is not None:
                _check_size(a + b, "'+'")
            return left + right
        if isinstance(left, str):  # '%' formatting
            if _BIG_WIDTH.search(left):
                raise SandboxViolation("'%' formatting: field width too large")
            result = left % right
            _check_size(len(result), "'%' formatting")
            return result
        return operator.mod(left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        target = getattr(__obj, "__wrapped__", __obj)
        owner = getattr(target, "__self__", None)
        if isinstance(owner, str):  # 'a'.center(10**9), '{:999999999}'.format(1)
            for arg in (*args, *kwargs.values()):
                _check_number(arg, f"str.{getattr(target, '__name__', 'method')}")
            if getattr(target, "__name__", "") in {"format", "format_map"} and _BIG_WIDTH.search(owner):
                raise SandboxViolation("str.format: field width too large")
        result = super().call(__context, __obj, *args, **kwargs)
        if isinstance(result, str | list | tuple):
            _check_size(len(result), "call")
        return result
