"""Secrets: cloud and SaaS credentials (AWS, GitHub, Slack, Stripe, Google, OpenAI incl. ``sk-proj-``,
Anthropic), JWTs, PEM private keys, ``password=`` / ``secret:`` assignments and high-entropy tokens.

High-entropy detection (Shannon entropy over a token of at least ``minLength`` characters) skips
hex-only strings by default: UUIDs, commit ids and content hashes are identifiers, not secrets.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Collection
from typing import Any, Literal, get_args

from pydantic import Field

from otelguard.guardrails.base import CheckContext, Finding
from otelguard.guardrails.patterns import ScanText
from otelguard.guardrails.registry import Validator, ValidatorParams, register
from otelguard.guardrails.validators._detect import Detector, Pattern, shannon_entropy

__all__ = ["SECRET_TYPES", "Secrets", "SecretsParams"]

SecretType = Literal[
    "AWS_ACCESS_KEY",
    "AWS_SECRET_KEY",
    "GITHUB_TOKEN",
    "SLACK_TOKEN",
    "STRIPE_KEY",
    "GOOGLE_API_KEY",
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "JWT",
    "PRIVATE_KEY",
    "PASSWORD",
]
SECRET_TYPES: tuple[str, ...] = get_args(SecretType)
HIGH_ENTROPY = "HIGH_ENTROPY"
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_HEX = frozenset("0123456789abcdefABCDEF-")
_WORDISH = re.compile(r"[a-z]{3,}")
_DIGITS = frozenset("0123456789")


class SecretsParams(ValidatorParams):
    types: list[SecretType] | None = Field(None, description="Secret types to detect; default all.")
    high_entropy: bool = Field(True, description="Also report high-entropy tokens.")
    min_length: int = Field(24, ge=12, le=256, description="Shortest token the entropy check considers.")
    min_entropy: float = Field(4.0, ge=1.0, le=6.0, description="Bits per character a token must reach.")
    include_hex: bool = Field(False, description="Also consider hex-only tokens (hashes, UUIDs).")
    allow: list[str] = Field(default_factory=list, description="Values never reported.")


def _after(text: str, end: int) -> str:
    return text[end] if end < len(text) else " "


def _classes(value: str) -> int:
    if value.isascii():  # the patterns' values are ASCII: case changes and set tests run in C
        return (value != value.upper()) + (value != value.lower()) + (not _DIGITS.isdisjoint(value))
    return any(c.islower() for c in value) + any(c.isupper() for c in value) + any(c.isdigit() for c in value)


def _has_digit(value: str) -> bool:
    return not _DIGITS.isdisjoint(value) if value.isascii() else any(c.isdigit() for c in value)


def _confirm_aws(text: str, start: int, end: int) -> tuple[int, int, float] | None:
    return start, end, 0.5 if text[start:end].endswith("EXAMPLE") else 0.95


def _confirm_token_end(score: float) -> Any:
    def confirm(text: str, start: int, end: int) -> tuple[int, int, float] | None:
        if _after(text, end) in _TOKEN_CHARS:
            return None
        return start, end, score

    return confirm


def _confirm_openai(text: str, start: int, end: int) -> tuple[int, int, float] | None:
    value = text[start:end]
    if value.startswith("sk-ant-"):
        return None
    body = value.rsplit("-", 1)[-1] if value.count("-") <= 2 else value[3:]
    if _classes(body) < 2 or not _has_digit(value):
        return None
    return start, end, 0.9


def _confirm_slack(text: str, start: int, end: int) -> tuple[int, int, float] | None:
    return (start, end, 0.9) if any(c.isdigit() for c in text[start:end]) else None


def _confirm_jwt(text: str, start: int, end: int) -> tuple[int, int, float] | None:
    header = text[start:end].split(".", 1)[0]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (binascii.Error, ValueError):
        return start, end, 0.6
    return start, end, 0.95 if isinstance(decoded, dict) and "alg" in decoded else 0.6


def _confirm_private_key(text: str, start: int, end: int) -> tuple[int, int, float] | None:
    stop = text.find("-----END", end, end + 20000)
    if stop >= 0:
        close = text.find("-----", stop + 8, stop + 80)
        if close >= 0:
            end = close + 5
    return start, end, 1.0


_PLACEHOLDERS = frozenset(
    {"changeme", "password", "secret", "none", "null", "true", "false", "redacted", "example", "xxxx", "****"}
)


def _confirm_password(text: str, start: int, end: int) -> tuple[int, int, float] | None:
    value = text[start:end]
    low = value.lower()
    if value[0] in "$<{%*(" or low in _PLACEHOLDERS or len(set(value)) == 1:
        return None
    if "(" in value or "[" in value or "env" in low or low.startswith(("os.", "process.", "self.")):
        return None  # code reading the secret from somewhere else
    if value.isdigit() or (value.isalpha() and value.islower() and len(value) < 12):
        return start, end, 0.4  # a count or an ordinary word after "secret:" in prose
    return start, end, 0.8


PATTERNS: tuple[Pattern, ...] = (
    Pattern(
        "AWS_ACCESS_KEY",
        r"\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}\b",
        0.95,
        _confirm_aws,
    ),
    Pattern(
        "AWS_SECRET_KEY",
        r"(?i)aws_?secret_?access_?key[\"']?[ \t]{0,3}[:=][ \t]{0,3}[\"']?([A-Za-z0-9/+]{40})\b",
        0.95,
        group=1,
    ),
    Pattern("GITHUB_TOKEN", r"\bgh[pousr]_[A-Za-z0-9]{36,251}\b", 0.95),
    Pattern("GITHUB_TOKEN", r"\bgithub_pat_[A-Za-z0-9_]{22,255}\b", 0.95),
    Pattern("SLACK_TOKEN", r"\bxox[abposr]-[A-Za-z0-9\-]{10,250}", 0.9, _confirm_slack),
    Pattern("STRIPE_KEY", r"\b[sr]k_live_[A-Za-z0-9]{16,247}\b", 0.95),
    Pattern("GOOGLE_API_KEY", r"\bAIza[A-Za-z0-9_\-]{35}", 0.9, _confirm_token_end(0.9)),
    Pattern("ANTHROPIC_API_KEY", r"\bsk-ant-[A-Za-z0-9_\-]{20,250}", 0.95),
    Pattern("OPENAI_API_KEY", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,250}", 0.9, _confirm_openai),
    Pattern(
        "JWT",
        r"\beyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*",
        0.95,
        _confirm_jwt,
    ),
    Pattern(
        "PRIVATE_KEY", r"-----BEGIN (?:[A-Z0-9]+ ){0,3}PRIVATE KEY(?: BLOCK)?-----", 1.0, _confirm_private_key
    ),
    Pattern(
        "PASSWORD",
        r"(?i)\b(?:[a-z0-9]+_)*(?:password|passwd|pwd|passphrase|secret|client_secret|secret_key|api[_\-]?key"
        r"|access[_\-]?token|auth[_\-]?token|private[_\-]?key|token)[\"']?[ \t]{0,3}[:=][ \t]{0,3}[\"']?"
        r"([^\s\"',;]{4,200})",
        0.8,
        _confirm_password,
        group=1,
    ),
)


@register
class Secrets(Validator):
    name = "secrets"
    aliases = ("secret",)
    Params = SecretsParams
    description = "API keys, tokens, private keys, password assignments and high-entropy strings."

    def __init__(self, params: SecretsParams) -> None:
        super().__init__(params)
        enabled = set(params.types if params.types is not None else SECRET_TYPES)
        patterns = [p for p in PATTERNS if p.entity in enabled]
        if params.high_entropy:
            patterns.append(
                Pattern(
                    HIGH_ENTROPY,
                    rf"[A-Za-z0-9+/_\-]{{{params.min_length},}}={{0,2}}",
                    0.7,
                    self._confirm_entropy,
                    generic=True,
                )
            )
        self._detector = Detector(self.name, patterns)
        self.patterns = self._detector.sources
        self._allow = frozenset(params.allow)

    def _confirm_entropy(self, text: str, start: int, end: int) -> tuple[int, int, float] | None:
        p: SecretsParams = self.params  # type: ignore[assignment]
        value = text[start:end].rstrip("=")
        if not p.include_hex and _HEX.issuperset(value):
            return None
        classes = _classes(value)
        if classes < 2 or not _has_digit(value):
            return None
        if value.count("/") >= 2 and all(seg.isalpha() or not seg for seg in value.split("/")[:-1]):
            return None  # a path
        if sum(len(run) for run in _WORDISH.findall(value)) > len(value) / 2:
            return None  # mostly lowercase word pieces: a camelCase / snake_case identifier
        entropy = shannon_entropy(value)
        if entropy < p.min_entropy:
            return None
        return start, end, 0.9 if classes == 3 and entropy >= p.min_entropy + 0.3 else 0.7

    def check(
        self, text: ScanText, context: CheckContext, hits: Collection[int] | None = None
    ) -> list[Finding]:
        found = self._detector.run(text, hits)
        if self._allow:
            s = text.text
            found = [f for f in found if s[f.start or 0 : f.end or 0] not in self._allow]
        return found
