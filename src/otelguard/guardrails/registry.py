"""Validators by name: the single source of truth for which validators exist and what they accept.

A validator class declares its canonical ``snake_case`` name (kebab-case ``prompt-injection`` is accepted
everywhere as an alias, plus any extra ``aliases``), a pydantic ``Params`` model (camelCase or snake_case
keys; unknown keys rejected), the stages it supports, and the RE2 ``patterns`` it contributes to the
policy's combined pattern set. Instances are *bound*: constructed once per policy from validated params,
with everything precompiled, and then only :meth:`Validator.check` runs per request.

``check(name, text, params, context)`` binds and checks in one call (tests, ad-hoc use: not the hot path).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from otelguard.guardrails.base import CheckContext, Finding, GuardrailError, Stage
from otelguard.guardrails.patterns import PatternError, ScanText

__all__ = [
    "PLANNED_VALIDATORS",
    "ParamsError",
    "UnknownValidator",
    "Validator",
    "ValidatorParams",
    "all_validators",
    "bind",
    "canonical_name",
    "check",
    "get",
    "names",
    "register",
]

# Named in the GuardrailPolicy controller's provisional list, not implemented yet (none at present).
PLANNED_VALIDATORS: frozenset[str] = frozenset()


class ValidatorParams(BaseModel):
    """Base of every validator's params: camelCase or snake_case keys, unknown keys rejected, frozen."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        str_strip_whitespace=False,
    )


class NoParams(ValidatorParams):
    pass


class UnknownValidator(GuardrailError, KeyError):
    def __init__(self, name: str) -> None:
        self.name = name
        if canonical_name(name, strict=False) in PLANNED_VALIDATORS:
            message = f"validator {name!r} is planned but not implemented in this release"
        else:
            message = f"unknown validator {name!r} (known: {', '.join(sorted(_REGISTRY))})"
        self.message = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.message


class ParamsError(GuardrailError, ValueError):
    """Params a validator (or action) does not accept; ``problems`` are ``path: message`` strings."""

    def __init__(self, owner: str, problems: list[str], reason: str = "InvalidParams") -> None:
        self.owner = owner
        self.problems = problems
        self.reason = reason
        super().__init__(f"{owner}: " + "; ".join(problems))


def format_validation_error(exc: ValidationError, prefix: str = "params") -> list[str]:
    out = []
    for err in exc.errors(include_url=False):
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown parameter"
        out.append(f"{prefix}{loc}: {msg}")
    return out


class Validator(ABC):
    """A validator bound to its (validated, precompiled) params."""

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    Params: ClassVar[type[ValidatorParams]] = NoParams
    stages: ClassVar[frozenset[Stage]] = frozenset({"input", "output", "ingest"})
    description: ClassVar[str] = ""

    # RE2 patterns for the combined pattern set. When non-empty the validator promises to find nothing
    # unless one of them matches, so the engine skips ``check`` when the set reports none of them.
    patterns: tuple[str, ...] = ()

    # Takes milliseconds (model inference) rather than microseconds: the engine runs it on a worker thread
    # and stops waiting once its budget is spent, so a slow or hung run cannot hold the request (the thread
    # hop costs tens of microseconds, which is why the regex tier does not do this).
    preemptible: ClassVar[bool] = False

    def __init__(self, params: ValidatorParams) -> None:
        self.params = params

    @abstractmethod
    def check(
        self, text: ScanText, context: CheckContext, hits: Collection[int] | None = None
    ) -> list[Finding]:
        """Findings in ``text``. ``hits``: indices into ``patterns`` that the pattern set saw (None: unknown,
        run them all)."""

    def score(self, findings: list[Finding]) -> float:
        """The validator's score for a text (the rule fails when it is >= the rule's threshold)."""
        return max((f.score for f in findings), default=0.0)


_REGISTRY: dict[str, type[Validator]] = {}
_ALIASES: dict[str, str] = {}
V = TypeVar("V", bound=type[Validator])


def register(cls: V) -> V:
    """Class decorator: add a validator under its name, its kebab-case spelling and its aliases."""
    name = cls.name
    if name in _REGISTRY:
        raise ValueError(f"validator {name!r} registered twice")
    _REGISTRY[name] = cls
    for alias in {name, name.replace("_", "-"), *cls.aliases}:
        if _ALIASES.setdefault(alias, name) != name:
            raise ValueError(f"validator alias {alias!r} is taken by {_ALIASES[alias]!r}")
    return cls


def _load() -> None:
    from otelguard.guardrails import validators  # noqa: F401  (registers the built-in families)


def canonical_name(name: str, *, strict: bool = True) -> str:
    """The canonical name of ``name`` (an alias or kebab-case spelling); UnknownValidator when unknown."""
    _load()
    found = _ALIASES.get(name) or _ALIASES.get(name.replace("-", "_"))
    if found is None:
        if strict:
            raise UnknownValidator(name)
        return name.replace("-", "_")
    return found


def get(name: str) -> type[Validator]:
    return _REGISTRY[canonical_name(name)]


def names() -> frozenset[str]:
    """Canonical names of every implemented validator."""
    _load()
    return frozenset(_REGISTRY)


def all_validators() -> Mapping[str, type[Validator]]:
    _load()
    return dict(_REGISTRY)


def bind(name: str, params: Mapping[str, Any] | ValidatorParams | None = None) -> Validator:
    """A validator ready to check: params validated (ParamsError) and everything precompiled."""
    cls = get(name)
    if isinstance(params, ValidatorParams):
        if not isinstance(params, cls.Params):
            raise ParamsError(cls.name, [f"params: expected {cls.Params.__name__}"])
        return cls(params)
    try:
        model = cls.Params.model_validate(dict(params or {}))
    except ValidationError as exc:
        raise ParamsError(cls.name, format_validation_error(exc)) from None
    try:
        return cls(model)
    except PatternError as exc:
        raise ParamsError(cls.name, [str(exc)], "InvalidPattern") from None
    except ParamsError:
        raise
    except ValueError as exc:  # other semantic problems found while precompiling
        raise ParamsError(cls.name, [str(exc)]) from None


def check(
    name: str,
    text: str,
    params: Mapping[str, Any] | None = None,
    context: CheckContext | None = None,
) -> list[Finding]:
    """Bind ``name`` with ``params`` and check ``text`` (no pattern-set prefilter)."""
    return bind(name, params).check(ScanText(text), context or CheckContext())
