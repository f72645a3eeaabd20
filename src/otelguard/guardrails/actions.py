"""Remediation actions: typed params per action type, and what each one does.

The engine decides; callers execute. ``block`` yields a safe message, ``sanitize`` redacts finding spans
(one pass over the original text, overlapping spans merged, offsets of findings unchanged), ``transform``
repairs JSON / trims, ``retry`` and ``fallback`` become instructions for the caller (the SDK or guard API
client carries them out, bounded by ``maxAttempts``), ``alert`` is recorded with a dedup key and, once per
dedup window, handed to an :class:`AlertSink` (``guardrails.webhooks.WebhookAlertSink`` posts it to
``params.url`` or the URL in ``params.urlSecretRef`` in the background).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from otelguard.api.v1alpha1.common import SecretKeyRef
from otelguard.guardrails.base import Finding, Stage
from otelguard.guardrails.registry import ParamsError, format_validation_error
from otelguard.guardrails.validators.output import strip_fences
from otelguard.guardrails.webhooks import check_webhook_url

__all__ = [
    "ACTION_PARAMS",
    "Alert",
    "AlertDeduper",
    "AlertParams",
    "AlertSink",
    "BlockDecision",
    "BlockParams",
    "CompiledAction",
    "FallbackDecision",
    "FallbackParams",
    "Redaction",
    "RetryDecision",
    "RetryParams",
    "SanitizeParams",
    "TransformParams",
    "apply_redactions",
    "compile_action",
    "deanonymize",
    "plan_redactions",
    "repair_json",
    "transform_text",
]

DEFAULT_BLOCK_MESSAGE = "This request was blocked by a guardrail policy."


class ActionParams(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


class BlockParams(ActionParams):
    message: str = Field(DEFAULT_BLOCK_MESSAGE, max_length=4096, description="Safe response for the caller.")
    reason: str | None = Field(None, max_length=1024, description="Reason reported with the block.")


class SanitizeParams(ActionParams):
    style: Literal["placeholder", "mask", "hash", "remove"] = "placeholder"
    placeholder: str = Field("<{entity}>", max_length=256, description="Template; {entity} is replaced.")
    replacements: dict[str, str] = Field(default_factory=dict, description="Per-entity replacement text.")
    mask_char: str = Field("*", min_length=1, max_length=1)
    reversible: bool = Field(
        False,
        description="Number the placeholders (<EMAIL_1>, <EMAIL_2>; one per distinct value) and return the "
        "placeholder → original mapping to the caller, so the model's output can be de-anonymised. The "
        "mapping is never stored. Only with style placeholder.",
    )

    @model_validator(mode="after")
    def _template(self) -> SanitizeParams:
        try:
            self.placeholder.format(entity="X")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"placeholder may only use {{entity}}: {exc}") from None
        if self.reversible:
            if self.style != "placeholder":
                raise ValueError(f"reversible needs style placeholder, not {self.style!r}")
            if "{entity}" not in self.placeholder:
                raise ValueError("a reversible placeholder must contain {entity} (it carries the number)")
        return self


class RetryParams(ActionParams):
    max_attempts: int = Field(2, ge=1, le=5, description="Total attempts including the first.")
    params: dict[str, Any] = Field(
        default_factory=dict, description="Request parameters to change, e.g. temperature."
    )
    instruction: str | None = Field(None, max_length=4096, description="Text to add to the prompt on retry.")


class FallbackParams(ActionParams):
    model: str | None = Field(None, max_length=256, description="Alternative model to call instead.")
    response: str | None = Field(None, max_length=16384, description="Canned response to return instead.")

    @model_validator(mode="after")
    def _one(self) -> FallbackParams:
        if (self.model is None) == (self.response is None):
            raise ValueError("fallback needs exactly one of params.model or params.response")
        return self


class AlertParams(ActionParams):
    severity: Literal["info", "warning", "critical"] = "warning"
    channel: str | None = Field(None, max_length=253, description="Notification channel (webhook) name.")
    dedup_seconds: int = Field(300, ge=0, le=86400, description="Same alert key is sent once per window.")
    url: str | None = Field(
        None, description="Webhook to POST the alert to (http/https, no credentials in the URL)."
    )
    url_secret_ref: SecretKeyRef | None = Field(
        None,
        description="The webhook URL from a key of a Secret in the policy's namespace, read when the alert "
        "is sent (for URLs that carry a token); instead of url.",
    )

    @model_validator(mode="after")
    def _url(self) -> AlertParams:
        if self.url is not None and self.url_secret_ref is not None:
            raise ValueError("alert takes params.url or params.urlSecretRef, not both")
        if self.url is not None:
            check_webhook_url(self.url)
        return self


class TransformParams(ActionParams):
    json_repair: bool = Field(True, description="Repair JSON: fences, trailing commas, quotes, truncation.")
    trim: bool = Field(True, description="Strip leading/trailing whitespace.")
    max_chars: int | None = Field(None, ge=1, description="Cut the text to this many characters.")


ACTION_PARAMS: dict[str, type[ActionParams]] = {
    "block": BlockParams,
    "sanitize": SanitizeParams,
    "retry": RetryParams,
    "fallback": FallbackParams,
    "alert": AlertParams,
    "transform": TransformParams,
}


@dataclass(frozen=True, slots=True)
class CompiledAction:
    type: str
    params: ActionParams


def compile_action(kind: str, params: Mapping[str, Any] | None, where: str = "params") -> CompiledAction:
    model = ACTION_PARAMS.get(kind)
    if model is None:
        raise ParamsError(kind, [f"unknown action type {kind!r} (known: {', '.join(ACTION_PARAMS)})"])
    try:
        return CompiledAction(kind, model.model_validate(dict(params or {})))
    except ValidationError as exc:
        raise ParamsError(kind, format_validation_error(exc, where)) from None


# -- decisions ---------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class BlockDecision:
    message: str
    reason: str
    policy: str
    rule: str


@dataclass(frozen=True, slots=True)
class RetryDecision:
    attempt: int  # the attempt the caller should make next
    max_attempts: int
    params: Mapping[str, Any]
    instruction: str | None
    policy: str
    rule: str


@dataclass(frozen=True, slots=True)
class FallbackDecision:
    model: str | None
    response: str | None
    policy: str
    rule: str


@dataclass(frozen=True, slots=True)
class Alert:
    dedup_key: str
    policy: str
    rule: str
    validator: str
    stage: Stage
    severity: str
    channel: str | None
    entities: tuple[str, ...]
    project: str | None
    shadow: bool
    timestamp: float = field(default_factory=time.time)
    url: str | None = None  # the action's webhook, if it names one
    url_secret_ref: SecretKeyRef | None = None  # or the Secret key holding it (the policy's namespace)


class AlertSink(Protocol):
    """Receives alerts that passed deduplication; must not block (the engine calls it on the request path)."""

    def send(self, alert: Alert) -> None: ...


def alert_key(policy: str, rule: str, project: str | None, entities: Sequence[str]) -> str:
    return _alert_key(policy, rule, project or "", tuple(sorted(set(entities))))


@functools.lru_cache(maxsize=4096)  # the same few keys recur on every failing check
def _alert_key(policy: str, rule: str, project: str, entities: tuple[str, ...]) -> str:
    raw = "\x00".join([policy, rule, project, *entities])
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


class AlertDeduper:
    """Suppresses an alert key seen within its window (thread-safe)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, max_keys: int = 10000) -> None:
        self._clock = clock
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._max = max_keys

    def admit(self, key: str, window_s: float) -> bool:
        now = self._clock()
        with self._lock:
            last = self._seen.get(key)
            if last is not None and now - last < window_s:
                return False
            if len(self._seen) >= self._max:
                self._seen = {k: t for k, t in self._seen.items() if now - t < 3600}
            self._seen[key] = now
            return True


# -- sanitize ----------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Redaction:
    """A span of the original text and what replaces it."""

    start: int
    end: int
    entity: str
    replacement: str
    reversible: bool = False  # a numbered placeholder the caller may map back (see ``deanonymize``)


def _replacement(finding: Finding, params: SanitizeParams, original: str) -> str:
    entity = finding.entity
    if entity in params.replacements:
        return params.replacements[entity]
    if params.style == "remove":
        return ""
    if params.style == "mask":
        return params.mask_char * len(original)
    if params.style == "hash":
        return f"<{entity}:{hashlib.sha256(original.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}>"
    if finding.replacement is not None:
        return finding.replacement
    return _placeholder(params.placeholder, entity)


@functools.lru_cache(maxsize=1024)
def _placeholder(template: str, entity: str) -> str:
    return template.format(entity=entity)


def plan_redactions(
    text: str, items: Sequence[tuple[Finding, SanitizeParams]], *, avoid: str = ""
) -> list[Redaction]:
    """Non-overlapping redactions for the span findings: overlapping spans merge into one, labelled by the
    highest-scoring finding among them (then the longest, then the earliest). Reversible stand-ins are
    numbered clear of any already in ``text`` or ``avoid`` (an output check's prompt, whose stand-ins the
    caller will map back: an output's own stand-in must not be mistaken for one of them)."""
    # (start, -end, arrival) orders like a stable sort on (start, -end); on the hot path, so no key lambdas.
    spans = sorted(
        (f.start, -f.end, i)
        for i, (f, _) in enumerate(items)
        if f.start is not None and f.end is not None and f.end > f.start
    )
    out = []
    numbered: Callable[[str, str, SanitizeParams], str] | None = None
    n = len(spans)
    k = 0
    while k < n:
        start, neg_end, i = spans[k]
        end = -neg_end
        best, params = items[i]
        k += 1
        while k < n and spans[k][0] < end:  # overlaps the group so far: merge
            _, neg_other, j = spans[k]
            end = max(end, -neg_other)
            f, fp = items[j]
            # max() keeps the first of equals: replace only when strictly better.
            if (f.score, (f.end or 0) - (f.start or 0)) > (best.score, (best.end or 0) - (best.start or 0)):
                best, params = f, fp
            k += 1
        original = text[start:end]
        if params.reversible and best.entity not in params.replacements:
            if numbered is None:
                numbered = _numbering(f"{text}\0{avoid}" if avoid else text)
            out.append(Redaction(start, end, best.entity, numbered(best.entity, original, params), True))
        else:
            out.append(Redaction(start, end, best.entity, _replacement(best, params, original)))
    return out


def _numbering(text: str) -> Callable[[str, str, SanitizeParams], str]:
    """A namer giving each distinct (entity, value) its own numbered placeholder, in order of appearance,
    so the model sees one consistent stand-in per value; numbering skips any placeholder the text already
    contains (then de-anonymising cannot touch text that was there before)."""
    seen: dict[tuple[str, str], str] = {}
    counts: dict[str, int] = {}

    def name(entity: str, original: str, params: SanitizeParams) -> str:
        key = (entity, original)
        found = seen.get(key)
        if found is None:
            n = counts.get(entity, 0) + 1
            found = params.placeholder.format(entity=f"{entity}_{n}")
            while found in text:
                n += 1
                found = params.placeholder.format(entity=f"{entity}_{n}")
            counts[entity] = n
            seen[key] = found
        return found

    return name


def deanonymize(text: str, mapping: Mapping[str, str]) -> str:
    """``text`` with every placeholder of a reversible sanitize (``GuardResult.mapping``) put back to its
    original value — one pass, longest placeholder first, so ``<EMAIL_1>`` never eats ``<EMAIL_10>``."""
    if not mapping or not text:
        return text
    pattern = re.compile("|".join(re.escape(k) for k in sorted(mapping, key=len, reverse=True)))
    return pattern.sub(lambda m: mapping[m.group(0)], text)


def apply_redactions(text: str, redactions: Sequence[Redaction]) -> str:
    parts: list[str] = []
    pos = 0
    for r in redactions:
        parts.append(text[pos : r.start])
        parts.append(r.replacement)
        pos = r.end
    parts.append(text[pos:])
    return "".join(parts)


# -- transform ---------------------------------------------------------------------------------------------
_LITERALS = {"True": "true", "False": "false", "None": "null"}


def _drop_trailing_comma(out: list[str]) -> None:
    i = len(out) - 1
    while i >= 0 and out[i].isspace():
        i -= 1
    if i >= 0 and out[i] == ",":
        del out[i]


def repair_json(text: str) -> str | None:
    """``text`` made into valid JSON if the damage is the usual kind (code fences, trailing commas,
    single quotes, bare keys, Python literals, truncation); None when it is still not JSON."""
    body = strip_fences(text).strip()
    try:
        json.loads(body)
        return body
    except json.JSONDecodeError:
        pass
    out: list[str] = []
    stack: list[str] = []
    quote: str | None = None
    i, n = 0, len(body)
    while i < n:
        ch = body[i]
        if quote is not None:
            if ch == "\\" and i + 1 < n:
                out.append(body[i : i + 2])
                i += 2
                continue
            if ch == quote:
                out.append('"')
                quote = None
            elif ch == '"':
                out.append('\\"')
            elif ch == "\n":
                out.append("\\n")
            else:
                out.append(ch)
        elif ch in "\"'":
            quote = ch
            out.append('"')
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
            out.append(ch)
        elif ch in "}]":
            _drop_trailing_comma(out)
            if stack and stack[-1] == ch:
                stack.pop()
            out.append(ch)
        elif ch.isalpha() or ch == "_":
            j = i
            while j < n and (body[j].isalnum() or body[j] == "_"):
                j += 1
            word = body[i:j]
            k = j
            while k < n and body[k].isspace():
                k += 1
            if k < n and body[k] == ":" and stack and stack[-1] == "}":
                out.append(json.dumps(word))
            else:
                out.append(_LITERALS.get(word, word))
            i = j
            continue
        else:
            out.append(ch)
        i += 1
    if quote is not None:
        out.append('"')
    _drop_trailing_comma(out)
    if out and "".join(out).rstrip().endswith(":"):
        out.append("null")
    out.extend(reversed(stack))
    repaired = "".join(out)
    try:
        json.loads(repaired)
    except json.JSONDecodeError:
        return None
    return repaired


def transform_text(text: str, params: TransformParams, *, json_expected: bool) -> tuple[str, list[str]]:
    """The transformed text and what was done (``json_repair``, ``trim``, ``truncate``)."""
    done: list[str] = []
    if params.json_repair and json_expected:
        repaired = repair_json(text)
        if repaired is not None and repaired != text:
            text = repaired
            done.append("json_repair")
    if params.trim and text != text.strip():
        text = text.strip()
        done.append("trim")
    if params.max_chars is not None and len(text) > params.max_chars:
        text = text[: params.max_chars]
        done.append("truncate")
    return text, done
