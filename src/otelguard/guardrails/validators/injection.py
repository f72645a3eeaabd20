"""Prompt injection and jailbreak, rule tier: instruction-override phrases, system-prompt exfiltration,
role-play / DAN templates, encoded payloads (base64 / hex blobs that decode to such instructions), and
invisible Unicode (tag characters, bidi controls, zero-width characters).

Each rule carries a weight; a text's score is the noisy-OR of the weights of the distinct rules that
matched (two weak signals add up, one strong one is enough). Phrases require their object ("ignore the
previous *instructions*"), so "ignore the previous warning" or ".gitignore" do not match. The embedding
classifier tier comes later and complements this one.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Collection
from typing import ClassVar, Literal, get_args

from pydantic import Field

from otelguard.guardrails.base import CheckContext, Finding
from otelguard.guardrails.patterns import Regex, ScanText
from otelguard.guardrails.registry import Validator, ValidatorParams, register
from otelguard.guardrails.validators._detect import Detector, Pattern

__all__ = ["CATEGORIES", "Jailbreak", "PromptInjection", "PromptInjectionParams"]

Category = Literal["override", "exfiltration", "roleplay", "encoded", "invisible"]
CATEGORIES: tuple[str, ...] = get_args(Category)
_JAILBREAK: tuple[Category, ...] = ("override", "roleplay", "encoded")

_OBJ = r"(?:instructions?|prompts?|rules|directions|directives|guidelines|commands|constraints|guardrails)"
_PRIOR = r"(?:previous|prior|above|earlier|preceding|foregoing|original|initial|system|former)"
TEXT_RULES: tuple[Pattern, ...] = (
    # -- instruction override
    Pattern(
        "INSTRUCTION_OVERRIDE",
        rf"(?i)\b(?:ignore|disregard|forget|override|bypass|skip)\s+(?:(?:all|any|the|your|my|of|these|those"
        rf"|every)\s+){{0,3}}{_PRIOR}\s+{_OBJ}\b",
        0.9,
        category="override",
    ),
    Pattern(
        "INSTRUCTION_OVERRIDE",
        r"(?i)\b(?:ignore|disregard|forget)\s+(?:everything|all(?:\s+of\s+it)?|anything)\s+(?:that\s+)?"
        r"(?:you\s+(?:were|have\s+been)\s+told|above|before|previously|so\s+far|prior)",
        0.85,
        category="override",
    ),
    Pattern(
        "INSTRUCTION_OVERRIDE",
        r"(?i)\bdisregard\s+(?:everything\s+|all\s+)?(?:the\s+)?above\b",
        0.85,
        category="override",
    ),
    Pattern(
        "INSTRUCTION_OVERRIDE",
        rf"(?i)\b(?:do\s+not|don't|stop)\s+follow(?:ing)?\s+(?:the\s+|your\s+|any\s+)?{_PRIOR}\s+{_OBJ}",
        0.85,
        category="override",
    ),
    Pattern(
        "INSTRUCTION_OVERRIDE",
        r"(?i)\byour\s+new\s+(?:task|instructions|role|objective)\s+(?:is|are)\b",
        0.6,
        category="override",
    ),
    # -- system prompt exfiltration
    Pattern(
        "PROMPT_EXFILTRATION",
        r"(?i)\b(?:reveal|print|repeat|output|display|leak|dump|expose|show\s+me|tell\s+me|give\s+me|share"
        r"|spell\s+out|write\s+out)\s+(?:me\s+)?(?:your|the)\s+(?:(?:full|entire|original|initial|hidden"
        r"|secret|complete|exact)\s+)?(?:system\s+prompt|system\s+message|initial\s+(?:instructions|prompt)"
        r"|hidden\s+(?:instructions|prompt)|(?:instructions|prompt)\s+(?:above|you\s+were\s+given))",
        0.85,
        category="exfiltration",
    ),
    Pattern(
        "PROMPT_EXFILTRATION",
        r"(?i)\bwhat\s+(?:is|are|was|were)\s+your\s+(?:(?:original|initial|hidden|secret|exact)\s+)?"
        r"(?:system\s+prompt|system\s+message|instructions)\b",
        0.7,
        category="exfiltration",
    ),
    Pattern(
        "PROMPT_EXFILTRATION",
        r"(?i)\brepeat\s+(?:all\s+)?(?:of\s+)?(?:the\s+)?(?:words|text|everything)\s+above\b",
        0.75,
        category="exfiltration",
    ),
    # -- role-play / DAN templates
    Pattern("ROLEPLAY_JAILBREAK", r"(?i)\bdo\s+anything\s+now\b", 0.9, category="roleplay"),
    Pattern(
        "ROLEPLAY_JAILBREAK",
        r"\b[Yy]ou\s+(?:are|will\s+be)\s+(?:now\s+)?(?:called\s+)?DAN\b",
        0.9,
        category="roleplay",
    ),
    Pattern(
        "ROLEPLAY_JAILBREAK",
        r"(?i)\b(?:enable|enter|activate|switch\s+to|turn\s+on)\s+(?:the\s+)?(?:developer|god|jailbreak"
        r"|jailbroken|unrestricted|dan|evil)\s+mode\b",
        0.8,
        category="roleplay",
    ),
    Pattern(
        "ROLEPLAY_JAILBREAK",
        r"(?i)\b(?:you\s+are\s+now|from\s+now\s+on,?\s+you\s+(?:are|will\s+be)|pretend\s+(?:that\s+)?you"
        r"\s+are|act\s+as|roleplay\s+as|behave\s+as)\s+(?:an?\s+)?(?:unrestricted|unfiltered|uncensored"
        r"|jailbroken|amoral|evil|rogue)\b",
        0.85,
        category="roleplay",
    ),
    Pattern(
        "ROLEPLAY_JAILBREAK",
        r"(?i)\b(?:without|free\s+(?:of|from)|no\s+longer\s+bound\s+by|not\s+bound\s+by)\s+(?:any\s+|all"
        r"\s+|your\s+)?(?:ethical|moral|safety|content)\s+(?:guidelines|restrictions|filters|polic(?:y|ies)"
        r"|constraints|limitations)",
        0.6,
        category="roleplay",
    ),
    Pattern("ROLEPLAY_JAILBREAK", r"(?i)\bstay\s+in\s+character\b", 0.3, category="roleplay"),
)

INVISIBLE_RULES: tuple[Pattern, ...] = (
    Pattern("TAG_CHARACTERS", r"[\x{E0000}-\x{E007F}]+", 0.95, category="invisible", replacement=""),
    Pattern(
        "BIDI_CONTROL", r"[\x{202A}-\x{202E}\x{2066}-\x{2069}]+", 0.7, category="invisible", replacement=""
    ),
    Pattern(
        "ZERO_WIDTH",
        r"[\x{200B}\x{2060}-\x{2064}\x{FEFF}\x{180E}]+",
        0.5,
        category="invisible",
        replacement="",
    ),
)


class PromptInjectionParams(ValidatorParams):
    categories: list[Category] | None = Field(None, description="Rule categories to run; default all.")
    max_decoded_blobs: int = Field(16, ge=0, le=256, description="Encoded blobs decoded per text at most.")


class JailbreakParams(PromptInjectionParams):
    categories: list[Category] | None = Field(
        default_factory=lambda: list(_JAILBREAK), description="Rule categories to run."
    )


def _printable_ratio(value: str) -> float:
    return sum(ch.isprintable() or ch in "\n\t\r" for ch in value) / max(1, len(value))


@register
class PromptInjection(Validator):
    name = "prompt_injection"
    aliases: ClassVar[tuple[str, ...]] = ("injection",)
    Params = PromptInjectionParams
    description = (
        "Instruction override, prompt exfiltration, role-play/DAN, encoded payloads, invisible text."
    )

    def __init__(self, params: PromptInjectionParams) -> None:
        super().__init__(params)
        cats = set(params.categories if params.categories is not None else CATEGORIES)
        self._max_blobs = params.max_decoded_blobs
        rules = [p for p in TEXT_RULES if p.category in cats]
        # Decoded payloads are checked against every text rule, whichever categories are enabled.
        self._decoded_rules = [(p, Regex(p.regex)) for p in TEXT_RULES]
        if "encoded" in cats:
            rules.append(
                Pattern(
                    "ENCODED_PAYLOAD",
                    r"[A-Za-z0-9+/]{24,}={0,2}",
                    0.95,
                    self._confirm_b64,
                    category="encoded",
                )
            )
            rules.append(
                Pattern(
                    "ENCODED_PAYLOAD",
                    r"\b(?:[0-9A-Fa-f]{2}){16,}\b",
                    0.95,
                    self._confirm_hex,
                    category="encoded",
                )
            )
        if "invisible" in cats:
            rules.extend(INVISIBLE_RULES)
        self._detector = Detector(self.name, rules)
        self.patterns = self._detector.sources

    def _decoded_score(self, decoded: str) -> float | None:
        if _printable_ratio(decoded) < 0.9:
            return None
        scan = ScanText(decoded)
        best = max((p.score for p, rx in self._decoded_rules if rx.search(scan)), default=0.0)
        return max(best, 0.9) if best else None

    def _confirm_b64(self, text: str, start: int, end: int) -> tuple[int, int, float] | None:
        blob = text[start:end]
        try:
            raw = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True)
            decoded = raw.decode("utf-8")
        except (binascii.Error, ValueError):
            return None
        score = self._decoded_score(decoded)
        return None if score is None else (start, end, score)

    def _confirm_hex(self, text: str, start: int, end: int) -> tuple[int, int, float] | None:
        try:
            decoded = bytes.fromhex(text[start:end]).decode("utf-8")
        except ValueError:
            return None
        score = self._decoded_score(decoded)
        return None if score is None else (start, end, score)

    def check(
        self, text: ScanText, context: CheckContext, hits: Collection[int] | None = None
    ) -> list[Finding]:
        found = self._detector.run(text, hits)
        # A byte-order mark at the very start is how some editors save text, not an attack.
        return [
            f
            for f in found
            if not (f.entity == "ZERO_WIDTH" and f.start == 0 and f.end == 1 and text.text[0] == "\ufeff")
        ]

    def score(self, findings: list[Finding]) -> float:
        best: dict[tuple[str, str | None], float] = {}
        for f in findings:
            key = (f.entity, f.detail)
            best[key] = max(best.get(key, 0.0), f.score)
        miss = 1.0
        for s in best.values():
            miss *= 1.0 - s
        return 1.0 - miss


@register
class Jailbreak(PromptInjection):
    name = "jailbreak"
    aliases = ()
    Params = JailbreakParams
    description = "Role-play/DAN and instruction-override jailbreak templates (rule tier)."
