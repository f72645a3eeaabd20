"""PII: email, phone (international and North American formats), US SSN, payment cards (Luhn), IBAN
(mod-97), IPv4/IPv6, passport and national-ID numbers near their keyword.

Each entity has an RE2 candidate pattern and a Python confirmation (checksums, range rules, context), so a
16-digit order number that fails Luhn or an IBAN with a wrong checksum is not reported. ``user@host``
without a dotted domain is not an email here (it is how code and shells write user@machine);
``git@github.com`` is, like any address with a domain.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection
from typing import Annotated, Any, Literal, get_args

from pydantic import BeforeValidator, Field

from otelguard.guardrails.base import CheckContext, Finding
from otelguard.guardrails.patterns import ScanText
from otelguard.guardrails.registry import Validator, ValidatorParams, register
from otelguard.guardrails.validators._detect import Detector, Pattern

__all__ = ["PII_ENTITIES", "Pii", "PiiParams", "iban_valid", "luhn_valid"]

PiiEntity = Literal["EMAIL", "PHONE", "US_SSN", "CREDIT_CARD", "IBAN", "IP_ADDRESS", "PASSPORT", "ID_NUMBER"]
PII_ENTITIES: tuple[str, ...] = get_args(PiiEntity)


def _upper(value: Any) -> Any:
    if isinstance(value, str):
        return value.upper()
    if isinstance(value, list):
        return [_upper(v) for v in value]
    if isinstance(value, dict):
        return {_upper(k): v for k, v in value.items()}
    return value


class PiiParams(ValidatorParams):
    entities: Annotated[list[PiiEntity] | None, BeforeValidator(_upper)] = Field(
        None, description="Entities to detect (case-insensitive); default all."
    )
    thresholds: Annotated[dict[PiiEntity, Annotated[float, Field(ge=0, le=1)]], BeforeValidator(_upper)] = (
        Field(default_factory=dict, description="Per-entity minimum score for a finding to count.")
    )
    allow: list[str] = Field(default_factory=list, description="Values never reported (case-insensitive).")


# -- confirmations ---------------------------------------------------------------------------------------
def _before(text: str, start: int) -> str:
    return text[start - 1] if start > 0 else " "


def _after(text: str, end: int) -> str:
    return text[end] if end < len(text) else " "


_NOT_DIGITS = re.compile(r"[^0-9]+")
_ASCII_DIGITS = "0123456789"


def _digits(value: str) -> str:
    return _NOT_DIGITS.sub("", value)


def luhn_valid(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_brand_known(d: str) -> bool:
    two, four = int(d[:2]), int(d[:4])
    return (
        d[0] == "4"  # Visa
        or 51 <= two <= 55
        or 2221 <= four <= 2720  # Mastercard
        or two in (34, 37)  # Amex
        or d.startswith(("6011", "65"))
        or 644 <= int(d[:3]) <= 649  # Discover
        or 3528 <= four <= 3589  # JCB
        or two in (36, 38)
        or 300 <= int(d[:3]) <= 305  # Diners
        or two in {50, 62}  # Maestro, UnionPay
        or 56 <= two <= 69  # Maestro
    )


# Digit groupings of printed card numbers (when written with separators).
_CARD_GROUPS = {
    (4, 4, 4, 4), (4, 6, 5), (4, 6, 4), (4, 4, 4, 1), (4, 4, 4, 2), (4, 4, 4, 3),
    (4, 4, 4, 4, 3), (4, 3, 3, 3),
}  # fmt: skip
_IBAN_HEAD = re.compile(r"[A-Z]{2}[0-9]{2} ?$")


def _brand_length_ok(d: str) -> bool:
    n, two = len(d), int(d[:2])
    if two in (34, 37):
        return n == 15
    if d[0] == "4":
        return n in (13, 16, 19)
    if 51 <= two <= 55 or 2221 <= int(d[:4]) <= 2720:
        return n == 16
    return 14 <= n <= 19


def _confirm_card(text: str, start: int, end: int) -> tuple[int, int, float] | None:
    value = text[start:end]
    if _IBAN_HEAD.search(text, max(0, start - 5), start):
        return None  # the digits of an IBAN
    if (
        _before(text, start) in "-."
        or _after(text, end) in "-"
        or (_after(text, end) == "." and _after(text, end + 1).isdigit())
    ):
        return None
    seps = set(value).difference(_ASCII_DIGITS)  # the pattern only takes ASCII digits, " " and "-"
    if len(seps) > 1:
        return None
    if seps:
        sep = next(iter(seps))
        if tuple(len(g) for g in value.split(sep)) not in _CARD_GROUPS:
            return None
        d = value.replace(sep, "")
    else:
        d = value
    if not 13 <= len(d) <= 19 or not luhn_valid(d) or len(set(d)) == 1:
        return None
    return start, end, 0.95 if _card_brand_known(d) and _brand_length_ok(d) else 0.4


_IBAN_LENGTHS = {
    "AD": 24,
    "AE": 23,
    "AL": 28,
    "AT": 20,
    "AZ": 28,
    "BA": 20,
    "BE": 16,
    "BG": 22,
    "BH": 22,
    "BR": 29,
    "CH": 21,
    "CR": 22,
    "CY": 28,
    "CZ": 24,
    "DE": 22,
    "DK": 18,
    "DO": 28,
    "EE": 20,
    "EG": 29,
    "ES": 24,
    "FI": 18,
    "FO": 18,
    "FR": 27,
    "GB": 22,
    "GE": 22,
    "GI": 23,
    "GL": 18,
    "GR": 27,
    "GT": 28,
    "HR": 21,
    "HU": 28,
    "IE": 22,
    "IL": 23,
    "IS": 26,
    "IT": 27,
    "JO": 30,
    "KW": 30,
    "KZ": 20,
    "LB": 28,
    "LI": 21,
    "LT": 20,
    "LU": 20,
    "LV": 21,
    "MC": 27,
    "MD": 24,
    "ME": 22,
    "MK": 19,
    "MR": 27,
    "MT": 31,
    "MU": 30,
    "NL": 18,
    "NO": 15,
    "PK": 24,
    "PL": 28,
    "PS": 29,
    "PT": 25,
    "QA": 29,
    "RO": 24,
    "RS": 22,
    "SA": 24,
    "SE": 24,
    "SI": 19,
    "SK": 24,
    "SM": 27,
    "TN": 24,
    "TR": 26,
    "UA": 29,
    "VG": 24,
    "XK": 20,
}


def iban_valid(compact: str) -> bool:
    expected = _IBAN_LENGTHS.get(compact[:2])
    if expected is None or len(compact) != expected or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    if rearranged.isascii():  # letters → 10..35 in one C call (the pattern only takes ASCII)
        return int(rearranged.translate(_BASE36)) % 97 == 1
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


_BASE36 = str.maketrans(
    {ch: str(int(ch, 36)) for ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"}
)


def _confirm_iban(text: str, start: int, end: int) -> tuple[int, int, float] | None:
    value = text[start:end]
    expected = _IBAN_LENGTHS.get(value[:2])
    if expected is None:
        return None
    packed = value.replace(" ", "")
    if len(packed) < expected:
        return None
    if not iban_valid(packed[:expected]):
        return None
    if len(packed) == expected:
        stop = start + len(value.rstrip(" "))  # its last non-space character ends it
    else:
        positions = [start + i for i, ch in enumerate(value) if ch != " "]
        stop = positions[expected - 1] + 1
    if stop < end and text[stop:end].strip() and text[stop] != " ":
        return None  # the candidate runs on into more alphanumerics: not an IBAN boundary
    return start, stop, 0.95


def _confirm_ssn(text: str, start: int, end: int) -> tuple[int, int, float] | None:
    if (
        _before(text, start) in "-./"
        or _after(text, end) in "-/"
        or (_after(text, end) == "." and _after(text, end + 1).isdigit())
    ):
        return None
    d = _digits(text[start:end])
    area, group, serial = int(d[:3]), int(d[3:5]), int(d[5:])
    if area in {0, 666} or area >= 900 or group == 0 or serial == 0:
        return None
    if d in ("078051120", "219099999", "123456789"):  # published/advertising and placeholder numbers
        return None
    return start, end, 0.85 if "-" in text[start:end] else 0.6


def _confirm_email(text: str, start: int, end: int) -> tuple[int, int, float] | None:
    local = text[start:end].split("@", 1)[0]
    if len(local) > 64:  # RFC 5321 limit: keep the part next to the @
        start += len(local) - 64
        local = local[-64:]
    while local.startswith("."):
        local = local[1:]
        start += 1
    if not local or ".." in local or _after(text, end).isalnum():
        return None
    return start, end, 0.9


def _confirm_phone(text: str, start: int, end: int) -> tuple[int, int, float] | None:
    value = text[start:end]
    if _before(text, start).isalnum() or _before(text, start) in "+.-/" or _after(text, end).isdigit():
        return None
    if _after(text, end) in ".-" and _after(text, end + 1).isdigit():
        return None
    d = _digits(value)
    if value.count("(") != value.count(")") or "  " in value or ".." in value or "--" in value:
        return None
    if value.startswith("+"):
        return (start, end, 0.9) if 8 <= len(d) <= 15 else None
    return (start, end, 0.8) if len(d) in (10, 11) else None


def _confirm_ipv4(text: str, start: int, end: int) -> tuple[int, int, float] | None:
    if _before(text, start) in ".-" or _before(text, start).isalnum():
        return None
    if _after(text, end) in "." and _after(text, end + 1).isalnum():
        return None
    try:
        addr = ipaddress.IPv4Address(text[start:end])
    except ValueError:
        return None
    return start, end, 0.5 if (addr.is_private or addr.is_loopback or addr.is_reserved) else 0.8


def _confirm_ipv6(text: str, start: int, end: int) -> tuple[int, int, float] | None:
    value = text[start:end]
    before, after = _before(text, start), _after(text, end)
    if before.isalnum() or before in ":._" or after.isalnum() or after in ":_":
        return None
    if "::" not in value and value.count(":") != 7:
        return None
    if sum(ch.isalnum() for ch in value) < 2:
        return None
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return None
    return start, end, 0.8


def _confirm_id(score: float) -> Any:
    def confirm(text: str, start: int, end: int) -> tuple[int, int, float] | None:
        value = text[start:end]
        if sum(ch.isdigit() for ch in value) < 2 or len(value) < 6:
            return None
        return start, end, score

    return confirm


_NUM = r"(?:[ ]?(?:no\.?|number|num|nr\.?|#))"
PATTERNS: tuple[Pattern, ...] = (
    Pattern("EMAIL", r"[\pL\pN._%+\-]+@(?:[\pL\pN\-]+\.)+\pL{2,}", 0.9, _confirm_email),
    Pattern("PHONE", r"\+[1-9][0-9 ().\-]{6,22}[0-9]", 0.9, _confirm_phone),
    Pattern(
        "PHONE",
        r"(?:\b1[ .\-]?)?(?:\([2-9][0-9]{2}\)[ ]?|\b[2-9][0-9]{2}[ .\-])[2-9][0-9]{2}[ .\-][0-9]{4}\b",
        0.8,
        _confirm_phone,
    ),
    Pattern("US_SSN", r"\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b", 0.85, _confirm_ssn),
    Pattern("US_SSN", r"\b[0-9]{3} [0-9]{2} [0-9]{4}\b", 0.6, _confirm_ssn),
    Pattern("CREDIT_CARD", r"\b[0-9](?:[ \-]?[0-9]){12,18}\b", 0.95, _confirm_card),
    Pattern("IBAN", r"\b[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]){11,30}\b", 0.95, _confirm_iban),
    Pattern("IP_ADDRESS", r"\b(?:[0-9]{1,3}\.){3}[0-9]{1,3}\b", 0.8, _confirm_ipv4),
    Pattern("IP_ADDRESS", r"(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}", 0.8, _confirm_ipv6),
    Pattern(
        "PASSPORT",
        rf"(?i)\bpassport{_NUM}?[ ]{{0,3}}[:#]?[ ]{{0,3}}([A-Z0-9]{{6,9}})\b",
        0.85,
        _confirm_id(0.85),
        group=1,
    ),
    Pattern(
        "ID_NUMBER",
        r"(?i)\b(?:national[ ]id(?:entity)?(?:[ ]card)?|identity[ ]card|id[ ]card|driver'?s[ ]licen[cs]e)"
        rf"{_NUM}?[ ]{{0,3}}[:#]?[ ]{{0,3}}([A-Z0-9][A-Z0-9\-]{{4,14}}[A-Z0-9])\b",
        0.8,
        _confirm_id(0.8),
        group=1,
    ),
    Pattern(
        "ID_NUMBER",
        rf"(?i)\b(?:id|ssn|tax[ ]id|tin){_NUM}[ ]{{0,3}}[:#]?[ ]{{0,3}}"
        r"([A-Z0-9][A-Z0-9\-]{4,14}[A-Z0-9])\b",
        0.6,
        _confirm_id(0.6),
        group=1,
    ),
)


@register
class Pii(Validator):
    name = "pii"
    Params = PiiParams
    description = "Personal data: email, phone, SSN, card (Luhn), IBAN (mod-97), IP, passport/ID numbers."

    def __init__(self, params: PiiParams) -> None:
        super().__init__(params)
        enabled = set(params.entities if params.entities is not None else PII_ENTITIES)
        self._detector = Detector(self.name, [p for p in PATTERNS if p.entity in enabled])
        self.patterns = self._detector.sources
        self._thresholds: dict[str, float] = {str(k): v for k, v in params.thresholds.items()}
        self._allow = {v.casefold() for v in params.allow}

    def check(
        self, text: ScanText, context: CheckContext, hits: Collection[int] | None = None
    ) -> list[Finding]:
        found = self._detector.run(text, hits)
        if self._thresholds or self._allow:
            s = text.text
            found = [
                f
                for f in found
                if f.score >= self._thresholds.get(f.entity, 0.0)
                and s[f.start or 0 : f.end or 0].casefold() not in self._allow
            ]
        return found
