"""``otelguard.io/v1alpha1``: the custom resource models (source of truth), CRD generation and validation.

Controllers parse resources with ``parse_manifest`` (or ``KindInfo.resource.model_validate`` for objects
the API server already validated) and write status with the ``conditions`` helpers. The CLI wires
``crdgen.main`` as ``otelguard crds`` and uses ``validate_manifest``/``InvalidManifest`` in the local mode.
"""

from otelguard.api.v1alpha1.alert_rule import AlertRule, AlertRuleSpec, AlertRuleStatus
from otelguard.api.v1alpha1.base import API_VERSION, GROUP, VERSION, ApiModel, CelRule
from otelguard.api.v1alpha1.common import Condition, ConditionStatus, ObjectMeta, Resource, StatusBase
from otelguard.api.v1alpha1.conditions import (
    READY,
    find_condition,
    is_ready,
    ready_summary,
    set_condition,
)
from otelguard.api.v1alpha1.crdgen import render_crds, write_crds
from otelguard.api.v1alpha1.dashboard import Dashboard, DashboardSpec, DashboardStatus
from otelguard.api.v1alpha1.errors import FieldError, InvalidManifest, ManifestError, UnknownKindError
from otelguard.api.v1alpha1.evaluator import Evaluator, EvaluatorSpec, EvaluatorStatus
from otelguard.api.v1alpha1.guardrail_policy import (
    GuardrailPolicy,
    GuardrailPolicySpec,
    GuardrailPolicyStatus,
)
from otelguard.api.v1alpha1.installation import OTelGuard, OTelGuardSpec, OTelGuardStatus
from otelguard.api.v1alpha1.prompt import Prompt, PromptSpec, PromptStatus
from otelguard.api.v1alpha1.registry import KINDS, KindInfo, PrinterColumn, UnknownKind, kind_info
from otelguard.api.v1alpha1.validation import (
    check_manifest,
    default_manifest,
    kind_of,
    parse_manifest,
    validate_manifest,
)

__all__ = [
    "API_VERSION",
    "GROUP",
    "KINDS",
    "READY",
    "VERSION",
    "AlertRule",
    "AlertRuleSpec",
    "AlertRuleStatus",
    "ApiModel",
    "CelRule",
    "Condition",
    "ConditionStatus",
    "Dashboard",
    "DashboardSpec",
    "DashboardStatus",
    "Evaluator",
    "EvaluatorSpec",
    "EvaluatorStatus",
    "FieldError",
    "GuardrailPolicy",
    "GuardrailPolicySpec",
    "GuardrailPolicyStatus",
    "InvalidManifest",
    "KindInfo",
    "ManifestError",
    "OTelGuard",
    "OTelGuardSpec",
    "OTelGuardStatus",
    "ObjectMeta",
    "PrinterColumn",
    "Prompt",
    "PromptSpec",
    "PromptStatus",
    "Resource",
    "StatusBase",
    "UnknownKind",
    "UnknownKindError",
    "check_manifest",
    "default_manifest",
    "find_condition",
    "is_ready",
    "kind_info",
    "kind_of",
    "parse_manifest",
    "ready_summary",
    "render_crds",
    "set_condition",
    "validate_manifest",
    "write_crds",
]
