"""Guard an LLM call: check the input, call the model, check the output, and apply the decisions.

Decorator (sync or async; the function takes the prompt text or a list of chat messages and returns text)::

    @guard("team-a/safety", client=client, labels={"app": "chat"})
    def ask(prompt: str, *, model: str = "gpt-4o", temperature: float = 0.7) -> str: ...

Context manager::

    with guard(policy_manifest) as g:
        text = g.check_input(prompt)
        out = g.check_output(call_llm(text))

Modes: **local** (no ``client``) evaluates in-process with an :class:`~otelguard.guardrails.Engine` (from
``engine=``, or built from ``policy`` given as a :class:`CompiledPolicy` or a manifest/spec mapping), no
network; **remote** (``client=``) calls ``POST /api/v1/guard`` (``policy`` as a name restricts the check to
that policy; a retried output check sends its ``attempt``, so the server's retry action runs out after
``maxAttempts`` and the rule's later actions apply, as in local mode). Both return the same
:class:`GuardVerdict` and emit one ``guardrail`` span per check (``openinference.span.kind=GUARDRAIL``)
whose trace/span ids are sent with the check, linking its events.

Decisions: ``block`` raises :class:`GuardrailBlocked` unless ``fallback_response`` is given (the decorator
then returns it, as does ``check_output``); sanitize/transform substitute the text; ``retry`` (output) calls
the function again with the rule's ``params`` merged into its keyword arguments and its ``instruction``
appended to the prompt, at most ``max_retries`` times (and within the rule's ``maxAttempts``); ``fallback``
returns the canned ``response`` or calls the function once more with ``model=`` the fallback model.
Remote failures (unreachable, 5xx) raise :class:`GuardUnavailable`, or pass the text through unchecked with
``fail_open=True``.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, cast

import httpx
from opentelemetry import trace

from otelguard.guardrails import CompiledPolicy, Engine, RequestMeta, Stage, compile_policy
from otelguard.guardrails.actions import deanonymize as _deanonymize
from otelguard.sdk.prompts import OTelGuardClient

__all__ = [
    "Guard",
    "GuardRequestError",
    "GuardUnavailable",
    "GuardVerdict",
    "GuardrailBlocked",
    "guard",
]

log = logging.getLogger("otelguard.sdk")
P = ParamSpec("P")
R = TypeVar("R")

SPAN_NAME = "guardrail"
ATTR_PREFIX = "otelguard.guardrail."
_LOCAL_POLICY_NAME = "sdk/local"


class GuardrailBlocked(RuntimeError):
    """A policy blocked the text; ``verdict`` has the decision, ``message`` the safe response."""

    def __init__(self, verdict: GuardVerdict) -> None:
        self.verdict = verdict
        block = verdict.block or {}
        self.message = str(block.get("message") or verdict.text)
        self.reason = str(block.get("reason") or "")
        super().__init__(f"guardrail blocked the {verdict.stage}: {self.reason or self.message}")


class GuardUnavailable(RuntimeError):
    """The guard API could not be reached or failed (5xx), and ``fail_open`` is off."""


class GuardRequestError(ValueError):
    """The guard API refused the check (4xx: bad input, text too large, unknown policy)."""

    def __init__(self, status: int, detail: str) -> None:
        self.status = status
        self.detail = detail
        super().__init__(f"guard API HTTP {status}: {detail}")


@dataclass(frozen=True, slots=True)
class GuardVerdict:
    """One check's decision, the same for local and remote mode (the guard API's response shape)."""

    stage: str
    verdict: str  # pass | flag | block
    text: str
    changed: bool = False
    block: Mapping[str, Any] | None = None
    retry: Mapping[str, Any] | None = None
    fallback: Mapping[str, Any] | None = None
    findings: Sequence[Mapping[str, Any]] = ()
    policies: Sequence[str] = ()
    unavailable: bool = False  # fail_open pass-through: nothing was checked
    # Stand-in → original of a reversible sanitize (input checks); the model's output is restored with it.
    mapping: Mapping[str, str] = field(default_factory=dict, repr=False)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_dict(cls, body: Mapping[str, Any]) -> GuardVerdict:
        return cls(
            stage=str(body.get("stage", "")),
            verdict=str(body.get("verdict", "pass")),
            text=str(body.get("text", "")),
            changed=bool(body.get("changed", False)),
            block=body.get("block"),
            retry=body.get("retry"),
            fallback=body.get("fallback"),
            findings=tuple(body.get("findings") or ()),
            policies=tuple(body.get("policies") or ()),
            mapping={str(k): str(v) for k, v in (body.get("mapping") or {}).items()},
            raw=body,
        )

    @property
    def blocked(self) -> bool:
        return self.verdict == "block"

    @property
    def actions(self) -> list[str]:
        return [
            a for item in self.raw.get("actions") or () if not item.get("shadow") for a in item["actions"]
        ]


# -- backends ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class _Meta:
    model: str | None
    labels: Mapping[str, str]
    project: str | None
    trace_id: str
    span_id: str


class _Local:
    mode = "local"

    def __init__(self, engine: Engine, policies: Sequence[str] | None) -> None:
        self.engine = engine
        self.policies = policies

    def check(
        self, stage: Stage, text: str, input_text: str | None, meta: _Meta, attempt: int
    ) -> GuardVerdict:
        request = RequestMeta(meta.project, meta.model, dict(meta.labels), meta.trace_id, meta.span_id)
        result = self.engine.evaluate(
            text, stage, request, input_text=input_text, attempt=attempt, policies=self.policies
        )
        return GuardVerdict.from_dict(result.to_dict())


class _Remote:
    mode = "remote"

    def __init__(self, client: OTelGuardClient, policy: str | None, fail_open: bool) -> None:
        self.client = client
        self.policy = policy
        self.fail_open = fail_open

    def check(
        self, stage: Stage, text: str, input_text: str | None, meta: _Meta, attempt: int
    ) -> GuardVerdict:
        metadata: dict[str, Any] = {"labels": dict(meta.labels)}
        if meta.model is not None:
            metadata["model"] = meta.model
        if meta.trace_id:
            metadata["trace_id"], metadata["span_id"] = meta.trace_id, meta.span_id
        body: dict[str, Any] = {"stage": stage, "metadata": metadata}
        if stage == "input":
            body["input"] = text
        else:
            body["output"] = text
            if input_text is not None:
                body["input"] = input_text
        if self.policy is not None:
            body["policy"] = self.policy
        if attempt != 1:  # the server's retry action needs it; omitted on first calls (older servers)
            body["attempt"] = attempt
        try:
            response = self.client.post("/api/v1/guard", body)
        except httpx.HTTPError as exc:
            return self._unavailable(stage, text, f"cannot reach the guard API: {exc}", exc)
        if response.status_code >= 500:
            return self._unavailable(
                stage, text, f"guard API HTTP {response.status_code}: {_detail(response)}"
            )
        if response.status_code != 200:
            raise GuardRequestError(response.status_code, _detail(response))
        return GuardVerdict.from_dict(response.json())

    def _unavailable(self, stage: Stage, text: str, why: str, cause: Exception | None = None) -> GuardVerdict:
        if not self.fail_open:
            raise GuardUnavailable(why) from cause
        log.warning("otelguard: %s; passing the %s through unchecked (fail_open)", why, stage)
        return GuardVerdict(stage=stage, verdict="pass", text=text, unavailable=True)


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except (ValueError, AttributeError):
        return response.text[:200]


# -- prompt text in/out of the call's arguments -------------------------------------------------------------
def _prompt_text(value: Any) -> tuple[str, int | None]:
    """The text to check and, for chat messages, the index of the (last) user message it came from."""
    if isinstance(value, str):
        return value, None
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        for index in range(len(value) - 1, -1, -1):
            message = value[index]
            if isinstance(message, Mapping) and message.get("role") == "user":
                content = message.get("content")
                if isinstance(content, str):
                    return content, index
    raise TypeError("the guarded argument must be a str or a list of chat messages with a user message")


def _with_text(value: Any, index: int | None, text: str) -> Any:
    if index is None:
        return text
    messages = list(value)
    messages[index] = {**messages[index], "content": text}
    return messages


# -- the guard ---------------------------------------------------------------------------------------------
class Guard:
    """See the module docstring; made by :func:`guard`."""

    def __init__(
        self,
        backend: _Local | _Remote,
        *,
        model: str | None,
        labels: Mapping[str, str],
        project: str | None,
        input_arg: str | int,
        model_arg: str,
        max_retries: int,
        fallback_response: str | None,
        tracer_provider: trace.TracerProvider | None,
        deanonymize: bool = True,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self._backend = backend
        self.model = model
        self.labels = dict(labels)
        self.project = project
        self.input_arg = input_arg
        self.model_arg = model_arg
        self.max_retries = max_retries
        self.fallback_response = fallback_response
        self.deanonymize = deanonymize
        self._tracer = trace.get_tracer("otelguard.sdk", tracer_provider=tracer_provider)
        self.input_verdict: GuardVerdict | None = None
        self.output_verdict: GuardVerdict | None = None
        self._input_text: str | None = None

    @property
    def mode(self) -> str:
        return self._backend.mode

    # -- one check, in a guardrail span -----------------------------------------------------------------
    def check(
        self,
        stage: Stage,
        text: str,
        *,
        input_text: str | None = None,
        attempt: int = 1,
        model: str | None = None,
    ) -> GuardVerdict:
        """Check ``text`` at ``stage`` and return the decision; raises nothing for a block."""
        with self._span(stage, attempt) as (span, meta):
            verdict = self._backend.check(stage, text, input_text, self._meta(meta, model), attempt)
            self._record(span, verdict)
            return verdict

    async def acheck(
        self,
        stage: Stage,
        text: str,
        *,
        input_text: str | None = None,
        attempt: int = 1,
        model: str | None = None,
    ) -> GuardVerdict:
        """:meth:`check` for async code: remote checks run in a worker thread."""
        if isinstance(self._backend, _Local):
            return self.check(stage, text, input_text=input_text, attempt=attempt, model=model)
        with self._span(stage, attempt) as (span, meta):
            verdict = await asyncio.to_thread(
                self._backend.check, stage, text, input_text, self._meta(meta, model), attempt
            )
            self._record(span, verdict)
            return verdict

    def _meta(self, meta: _Meta, model: str | None) -> _Meta:
        return meta if model is None else _Meta(model, meta.labels, meta.project, meta.trace_id, meta.span_id)

    def _span(self, stage: Stage, attempt: int) -> _SpanScope:
        return _SpanScope(self, stage, attempt)

    def _record(self, span: trace.Span, verdict: GuardVerdict) -> None:
        if not span.is_recording():
            return
        entities = sorted({str(f.get("entity")) for f in verdict.findings})
        span.set_attributes(
            {
                ATTR_PREFIX + "verdict": verdict.verdict,
                ATTR_PREFIX + "changed": verdict.changed,
                ATTR_PREFIX + "policies": list(verdict.policies),
                ATTR_PREFIX + "actions": verdict.actions,
                ATTR_PREFIX + "entities": entities,
                ATTR_PREFIX + "findings": len(verdict.findings),
                ATTR_PREFIX + "unavailable": verdict.unavailable,
            }
        )
        if verdict.block:
            span.set_attribute(ATTR_PREFIX + "block.reason", str(verdict.block.get("reason") or ""))

    # -- context manager --------------------------------------------------------------------------------
    def __enter__(self) -> Guard:
        self.input_verdict = self.output_verdict = None
        self._input_text = None
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    async def __aenter__(self) -> Guard:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def check_input(self, prompt: str) -> str:
        """The text to send to the model (sanitized); raises GuardrailBlocked on a block."""
        self.input_verdict = verdict = self.check("input", prompt)
        self._input_text = verdict.text
        if verdict.blocked:
            raise GuardrailBlocked(verdict)
        return verdict.text

    async def acheck_input(self, prompt: str) -> str:
        self.input_verdict = verdict = await self.acheck("input", prompt)
        self._input_text = verdict.text
        if verdict.blocked:
            raise GuardrailBlocked(verdict)
        return verdict.text

    def check_output(self, output: str) -> str:
        """The text to use (sanitized), ``fallback_response`` or the policy's fallback response on a block /
        fallback; raises GuardrailBlocked on a block without one. ``output_verdict.retry`` tells whether the
        policy asks for another attempt (the context manager leaves retrying to the caller)."""
        self.output_verdict = verdict = self.check("output", output, input_text=self._input_text)
        return self._output_text(verdict)

    async def acheck_output(self, output: str) -> str:
        self.output_verdict = verdict = await self.acheck("output", output, input_text=self._input_text)
        return self._output_text(verdict)

    def _output_text(self, verdict: GuardVerdict) -> str:
        if verdict.blocked:
            if self.fallback_response is not None:
                return self.fallback_response
            raise GuardrailBlocked(verdict)
        if verdict.fallback and verdict.fallback.get("response") is not None:
            return str(verdict.fallback["response"])
        return self.restore(verdict.text)

    def restore(self, text: str) -> str:
        """``text`` with the stand-ins of the last input check's reversible sanitize put back (unless
        ``deanonymize=False``): the model saw ``<EMAIL_1>``, the caller gets the address it sent."""
        mapping = self.input_verdict.mapping if self.input_verdict is not None else None
        return _deanonymize(text, mapping) if mapping and self.deanonymize else text

    # -- decorator --------------------------------------------------------------------------------------
    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(fn)
        params = list(signature.parameters.values())
        if isinstance(self.input_arg, int):
            positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            if self.input_arg >= len(positional):
                raise TypeError(f"{fn.__qualname__} has no positional parameter {self.input_arg}")
            arg_name = positional[self.input_arg].name
        else:
            if self.input_arg not in signature.parameters:
                raise TypeError(f"{fn.__qualname__} has no parameter {self.input_arg!r}")
            arg_name = self.input_arg
        plan = _CallPlan(self, signature, arg_name)

        if inspect.iscoroutinefunction(fn):
            afn = cast(Callable[..., Awaitable[Any]], fn)

            @functools.wraps(fn)
            async def aguarded(*args: Any, **kwargs: Any) -> Any:
                return await plan.arun(afn, args, kwargs)

            return cast(Callable[P, R], aguarded)

        @functools.wraps(fn)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            return plan.run(fn, args, kwargs)

        return cast(Callable[P, R], guarded)


class _SpanScope:
    """Starts the ``guardrail`` span and yields it with the request metadata carrying its ids."""

    def __init__(self, owner: Guard, stage: Stage, attempt: int) -> None:
        self.owner, self.stage, self.attempt = owner, stage, attempt
        self._cm: Any = None
        self._span: trace.Span | None = None
        self._started = 0

    def __enter__(self) -> tuple[trace.Span, _Meta]:
        owner = self.owner
        self._cm = owner._tracer.start_as_current_span(
            SPAN_NAME,
            attributes={
                "openinference.span.kind": "GUARDRAIL",
                ATTR_PREFIX + "stage": self.stage,
                ATTR_PREFIX + "mode": owner.mode,
                ATTR_PREFIX + "attempt": self.attempt,
            },
        )
        span: trace.Span = self._cm.__enter__()
        self._span = span
        self._started = time.perf_counter_ns()
        ctx = span.get_span_context()
        trace_id = format(ctx.trace_id, "032x") if ctx.is_valid else ""
        span_id = format(ctx.span_id, "016x") if ctx.is_valid else ""
        meta = _Meta(owner.model, owner.labels, owner.project, trace_id, span_id)
        return span, meta

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._cm is not None and self._span is not None
        span = self._span
        if exc is not None and span.is_recording():
            span.set_attribute(ATTR_PREFIX + "error", type(exc).__name__)
        if span.is_recording():
            span.set_attribute(ATTR_PREFIX + "latency_us", (time.perf_counter_ns() - self._started) // 1000)
        self._cm.__exit__(exc_type, exc, tb)


class _CallPlan:
    """The decorator's flow, shared by the sync and async wrappers (a small state machine: each step says
    whether the function must be called (again) with which arguments, or what to return)."""

    def __init__(self, owner: Guard, signature: inspect.Signature, arg_name: str) -> None:
        self.owner = owner
        self.signature = signature
        self.arg_name = arg_name
        self.var_kw = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())

    # -- argument handling ------------------------------------------------------------------------------
    def _bind(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> inspect.BoundArguments:
        return self.signature.bind(*args, **kwargs)

    def _accepts(self, name: str) -> bool:
        return self.var_kw or name in self.signature.parameters

    def _merge(self, bound: inspect.BoundArguments, params: Mapping[str, Any]) -> None:
        for key, value in params.items():
            if self._accepts(key):
                if key in self.signature.parameters:
                    bound.arguments[key] = value
                else:
                    bound.arguments.setdefault(_var_kw_name(self.signature), {})[key] = value
            else:
                log.debug("otelguard: retry parameter %r is not accepted by the guarded function", key)

    # -- flow -------------------------------------------------------------------------------------------
    def _after_input(
        self, verdict: GuardVerdict, bound: inspect.BoundArguments, index: int | None
    ) -> tuple[bool, Any]:
        """(call?, value): value is the result to return when not calling."""
        owner = self.owner
        if verdict.blocked:
            if owner.fallback_response is not None:
                return False, owner.fallback_response
            raise GuardrailBlocked(verdict)
        fallback = verdict.fallback or {}
        if fallback.get("response") is not None:
            return False, str(fallback["response"])
        original = bound.arguments[self.arg_name]
        bound.arguments[self.arg_name] = _with_text(original, index, verdict.text)
        if fallback.get("model") and self._accepts(self.owner.model_arg):
            self._merge(bound, {self.owner.model_arg: fallback["model"]})
        return True, None

    def _after_output(
        self,
        verdict: GuardVerdict,
        bound: inspect.BoundArguments,
        state: dict[str, Any],
    ) -> tuple[bool, Any]:
        owner = self.owner
        if verdict.blocked:
            if owner.fallback_response is not None:
                return False, owner.fallback_response
            raise GuardrailBlocked(verdict)
        retry = verdict.retry
        if retry is not None:
            max_attempts = int(retry.get("maxAttempts") or 1)
            if state["retries"] < owner.max_retries and state["attempt"] < max_attempts:
                state["retries"] += 1
                state["attempt"] += 1
                self._merge(bound, retry.get("params") or {})
                instruction = retry.get("instruction")
                if instruction:
                    current, idx = _prompt_text(bound.arguments[self.arg_name])
                    bound.arguments[self.arg_name] = _with_text(
                        bound.arguments[self.arg_name], idx, f"{current}\n\n{instruction}"
                    )
                return True, None
            return False, verdict.text  # retries exhausted: use the (remediated) text
        fallback = verdict.fallback or {}
        if fallback.get("response") is not None:
            return False, str(fallback["response"])
        model = fallback.get("model")
        if model and not state["fell_back"] and self._accepts(owner.model_arg):
            state["fell_back"] = True
            state["model"] = str(model)
            self._merge(bound, {owner.model_arg: model})
            return True, None
        return False, verdict.text

    def _output_of(self, result: Any) -> str:
        if not isinstance(result, str):
            raise TypeError(f"a guarded function must return str, not {type(result).__name__}")
        return result

    def run(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        owner = self.owner
        bound = self._bind(args, kwargs)
        prompt, index = _prompt_text(bound.arguments[self.arg_name])
        verdict = owner.check("input", prompt)
        call, value = self._after_input(verdict, bound, index)
        if not call:
            return value
        input_text = verdict.text
        state: dict[str, Any] = {"attempt": 1, "retries": 0, "fell_back": False, "model": None}
        while True:
            output = self._output_of(fn(*bound.args, **bound.kwargs))
            checked = owner.check(
                "output", output, input_text=input_text, attempt=state["attempt"], model=state["model"]
            )
            call, value = self._after_output(checked, bound, state)
            if not call:
                return self._restore(value, verdict)

    async def arun(
        self, fn: Callable[..., Awaitable[Any]], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        owner = self.owner
        bound = self._bind(args, kwargs)
        prompt, index = _prompt_text(bound.arguments[self.arg_name])
        verdict = await owner.acheck("input", prompt)
        call, value = self._after_input(verdict, bound, index)
        if not call:
            return value
        input_text = verdict.text
        state: dict[str, Any] = {"attempt": 1, "retries": 0, "fell_back": False, "model": None}
        while True:
            output = self._output_of(await fn(*bound.args, **bound.kwargs))
            checked = await owner.acheck(
                "output", output, input_text=input_text, attempt=state["attempt"], model=state["model"]
            )
            call, value = self._after_output(checked, bound, state)
            if not call:
                return self._restore(value, verdict)

    def _restore(self, value: Any, input_verdict: GuardVerdict) -> Any:
        if isinstance(value, str) and input_verdict.mapping and self.owner.deanonymize:
            return _deanonymize(value, input_verdict.mapping)
        return value


def _var_kw_name(signature: inspect.Signature) -> str:
    return next(p.name for p in signature.parameters.values() if p.kind is p.VAR_KEYWORD)


def guard(
    policy: str | CompiledPolicy | Mapping[str, Any] | None = None,
    *,
    client: OTelGuardClient | None = None,
    engine: Engine | None = None,
    model: str | None = None,
    labels: Mapping[str, str] | None = None,
    project: str | None = None,
    input_arg: str | int = 0,
    model_arg: str = "model",
    max_retries: int = 2,
    fallback_response: str | None = None,
    fail_open: bool = False,
    tracer_provider: trace.TracerProvider | None = None,
    deanonymize: bool = True,
) -> Guard:
    """A :class:`Guard` usable as ``@guard(...)`` or ``with guard(...) as g`` (see the module docstring).

    ``policy``: a policy name (remote: sent as ``policy``; local: restricts ``engine`` to it), a
    :class:`CompiledPolicy`, or a manifest/spec mapping (local mode; a bare spec is named ``sdk/local``).
    ``client`` selects remote mode; otherwise ``engine`` and/or ``policy`` give the local engine.
    """
    backend: _Local | _Remote
    if client is not None:
        if engine is not None:
            raise ValueError("pass either client= (remote mode) or engine= (local mode), not both")
        if policy is not None and not isinstance(policy, str):
            raise TypeError("remote mode takes the policy by name (the server holds the policies)")
        backend = _Remote(client, policy, fail_open)
    else:
        names: list[str] | None = None
        if isinstance(policy, str):
            if engine is None:
                raise ValueError("a policy name needs engine= (local mode) or client= (remote mode)")
            names = [policy]
        elif policy is not None:
            compiled = policy if isinstance(policy, CompiledPolicy) else _compile(policy)
            if engine is None:
                engine = Engine([compiled])
            else:
                engine.upsert(compiled)
            names = [compiled.name]
        if engine is None:
            raise ValueError("guard() needs a policy, engine= (local mode) or client= (remote mode)")
        backend = _Local(engine, names)
    return Guard(
        backend,
        model=model,
        labels=labels or {},
        project=project,
        input_arg=input_arg,
        model_arg=model_arg,
        max_retries=max_retries,
        fallback_response=fallback_response,
        tracer_provider=tracer_provider,
        deanonymize=deanonymize,
    )


def _compile(source: Mapping[str, Any]) -> CompiledPolicy:
    has_name = isinstance(source.get("metadata"), Mapping) and source["metadata"].get("name")
    return compile_policy(source, name=None if has_name else _LOCAL_POLICY_NAME)
