"""The six kinds of ``otelguard.io/v1alpha1``: names, printer columns and models, in one table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from otelguard.api.v1alpha1.alert_rule import AlertRule, AlertRuleSpec, AlertRuleStatus
from otelguard.api.v1alpha1.base import GROUP, ApiModel
from otelguard.api.v1alpha1.common import Resource, StatusBase
from otelguard.api.v1alpha1.dashboard import Dashboard, DashboardSpec, DashboardStatus
from otelguard.api.v1alpha1.evaluator import Evaluator, EvaluatorSpec, EvaluatorStatus
from otelguard.api.v1alpha1.guardrail_policy import (
    GuardrailPolicy,
    GuardrailPolicySpec,
    GuardrailPolicyStatus,
)
from otelguard.api.v1alpha1.installation import OTelGuard, OTelGuardSpec, OTelGuardStatus
from otelguard.api.v1alpha1.prompt import Prompt, PromptSpec, PromptStatus

CATEGORY = "otelguard"
ColumnType = Literal["string", "integer", "number", "boolean", "date"]


@dataclass(frozen=True)
class PrinterColumn:
    """A ``kubectl get`` column (CRD additionalPrinterColumns); priority 1 shows only with ``-o wide``."""

    name: str
    type: ColumnType
    json_path: str
    description: str
    priority: int = 0

    def to_crd(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "jsonPath": self.json_path,
            "description": self.description,
        }
        if self.priority:
            out["priority"] = self.priority
        return out


def _ready(field: str) -> str:
    return f'.status.conditions[?(@.type=="Ready")].{field}'


# Every kind ends with these, after its own columns (cert-manager's and the OpenTelemetry operator's layout).
COMMON_COLUMNS = (
    PrinterColumn("Ready", "string", _ready("status"), "Whether the resource is reconciled and in effect."),
    PrinterColumn("Reason", "string", _ready("reason"), "Why the resource is or is not ready."),
    PrinterColumn("Message", "string", _ready("message"), "Details of the Ready condition.", priority=1),
    PrinterColumn("Age", "date", ".metadata.creationTimestamp", "Time since the resource was created."),
)


@dataclass(frozen=True)
class KindInfo:
    """One custom resource kind and everything needed to serve, validate and print it."""

    kind: str
    plural: str
    short_names: tuple[str, ...]
    resource: type[Resource]
    spec: type[ApiModel]
    status: type[StatusBase]
    columns: tuple[PrinterColumn, ...] = ()

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"

    @property
    def printer_columns(self) -> tuple[PrinterColumn, ...]:
        return (*self.columns, *COMMON_COLUMNS)

    def names(self) -> frozenset[str]:
        """Every name ``kubectl get`` accepts for the kind (lower case)."""
        return frozenset({self.kind.lower(), self.singular, self.plural, *self.short_names})


KINDS: tuple[KindInfo, ...] = (
    KindInfo(
        "OTelGuard",
        "otelguards",
        ("otg",),
        OTelGuard,
        OTelGuardSpec,
        OTelGuardStatus,
        (
            PrinterColumn(
                "Collectors", "integer", ".status.components.collector.readyReplicas", "Ready collector pods."
            ),
            PrinterColumn("Config", "string", ".status.configHash", "Hash of the rendered configuration.", 1),
        ),
    ),
    KindInfo(
        "GuardrailPolicy",
        "guardrailpolicies",
        ("gpol",),
        GuardrailPolicy,
        GuardrailPolicySpec,
        GuardrailPolicyStatus,
        (
            PrinterColumn("Mode", "string", ".spec.mode", "enforce or shadow."),
            PrinterColumn("Priority", "integer", ".spec.priority", "Higher runs first."),
            PrinterColumn("Rules", "integer", ".status.ruleCount", "Rules compiled.", 1),
        ),
    ),
    KindInfo(
        "Prompt",
        "prompts",
        ("pmpt",),
        Prompt,
        PromptSpec,
        PromptStatus,
        (
            PrinterColumn("Version", "integer", ".status.currentVersion", "Version of the current content."),
            PrinterColumn("Hash", "string", ".status.contentHash", "Content hash of the current version.", 1),
        ),
    ),
    KindInfo(
        "Evaluator",
        "evaluators",
        ("eval",),
        Evaluator,
        EvaluatorSpec,
        EvaluatorStatus,
        (
            PrinterColumn("Type", "string", ".spec.kind", "llm-judge, heuristic or guardrail-validator."),
            PrinterColumn("Score", "string", ".spec.score.name", "Name of the score written."),
            PrinterColumn("Scored", "integer", ".status.scoredSpans", "Spans scored so far.", 1),
        ),
    ),
    KindInfo(
        "Dashboard",
        "dashboards",
        ("dash",),
        Dashboard,
        DashboardSpec,
        DashboardStatus,
        (
            PrinterColumn("Title", "string", ".spec.title", "Dashboard title."),
            PrinterColumn("Widgets", "integer", ".status.widgetCount", "Widgets served.", 1),
        ),
    ),
    KindInfo(
        "AlertRule",
        "alertrules",
        ("alr",),
        AlertRule,
        AlertRuleSpec,
        AlertRuleStatus,
        (
            PrinterColumn("Severity", "string", ".spec.severity", "critical, warning or info."),
            PrinterColumn("State", "string", ".status.state", "ok, pending or firing."),
        ),
    ),
)

_BY_NAME = {name: info for info in KINDS for name in info.names()}


class UnknownKind(LookupError):
    """No otelguard.io kind has that name."""


def kind_info(name: str) -> KindInfo:
    """Look a kind up by kind, plural, singular or short name, case-insensitively (like ``kubectl get``)."""
    try:
        return _BY_NAME[name.lower()]
    except KeyError:
        known = ", ".join(info.plural for info in KINDS)
        raise UnknownKind(f'the server doesn\'t have a resource type "{name}" (known: {known})') from None
