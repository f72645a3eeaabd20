"""Types shared by several kinds: object metadata, conditions, resources, secret refs, selectors, scalars."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import ConfigDict, Field, PlainSerializer, StringConstraints, WithJsonSchema, model_validator

from otelguard.api.v1alpha1.base import ApiModel, CelRule, ListMap, ListSet, cel_string, present

# -- patterns (RE2-, Python- and Rust-regex compatible; anchored because all three search) -----------------
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
SECRET_KEY = r"^[-._a-zA-Z0-9]+$"
_PREFIX = r"([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
LABEL_KEY = rf"^{_PREFIX}[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
LABEL_VALUE = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
CAMEL_CASE = r"^[A-Z][A-Za-z0-9]*$"
CONDITION_TYPE = rf"^{_PREFIX}([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$"
_DECIMAL = r"(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))"
QUANTITY = rf"^(\+|-)?{_DECIMAL}(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?{_DECIMAL}))?$"
# A model name or a glob over model names (``gpt-4o*``); also used for project and tag lists.
GLOB = r"^[A-Za-z0-9*?]([-A-Za-z0-9_.:/@*?]*[A-Za-z0-9_*?])?$"
# Prometheus-style durations. A window or bucket is one non-zero unit (5m); `for` may combine (1h30m).
DURATION = r"^([0-9]+(s|m|h|d|w))+$"
SPAN = r"^[1-9][0-9]*(s|m|h|d|w)$"
HTTP_URL = r"^https?://[^\s]+$"
# Names of scores, validators and built-in templates: ``helpfulness``, ``pii``, ``prompt-injection``.
IDENTIFIER = r"^[a-z0-9]([-_.a-z0-9]*[a-z0-9])?$"

# -- scalar types ------------------------------------------------------------------------------------------
Slug = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=DNS_LABEL)]
ObjectName = Annotated[str, StringConstraints(min_length=1, max_length=253, pattern=DNS_SUBDOMAIN)]
Glob = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=GLOB)]
LabelValue = Annotated[str, StringConstraints(max_length=63, pattern=LABEL_VALUE)]
Duration = Annotated[str, StringConstraints(max_length=32, pattern=DURATION)]
Span = Annotated[str, StringConstraints(max_length=16, pattern=SPAN)]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=63, pattern=IDENTIFIER)]

# Free-form parameters (validator, action, heuristic, model params): any JSON object, kept as written.
FreeForm = Annotated[
    dict[str, Any], WithJsonSchema({"type": "object", "x-kubernetes-preserve-unknown-fields": True})
]

# A Kubernetes resource quantity: ``500m``, ``2Gi`` or a plain integer.
Quantity = Annotated[
    int | Annotated[str, StringConstraints(max_length=64, pattern=QUANTITY)],
    WithJsonSchema(
        {
            "x-kubernetes-int-or-string": True,
            "anyOf": [{"type": "integer"}, {"type": "string"}],
            "pattern": QUANTITY,
            "maxLength": 64,
        }
    ),
]


def _rfc3339(value: datetime) -> str:
    # Kubernetes' metav1.Time: whole seconds, UTC, "Z".
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Timestamp = Annotated[
    datetime,
    PlainSerializer(_rfc3339, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time", "maxLength": 64}),
]


def label_key_rule(field: str) -> CelRule:
    """Keys of the map ``field`` must be label keys (CEL cannot constrain map keys any other way)."""
    return CelRule(
        rule=f"!has(self.{field}) || self.{field}.all(k, k.size() <= 253"
        f" && k.matches({cel_string(LABEL_KEY)}))",
        message=f"keys of {field} must be label keys: [prefix/]name of letters, digits, '-', '_' and '.'",
        field_path=f".{field}",
        check=lambda o: all(len(k) <= 253 and re.search(LABEL_KEY, k) for k in o.get(field) or {}),
    )


# -- metadata ----------------------------------------------------------------------------------------------
class ObjectMeta(ApiModel):
    """The subset of Kubernetes ObjectMeta that controllers read. Not part of any CRD schema."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(description="Object name, unique per namespace and kind.")
    namespace: str | None = Field(None, description="Namespace of the object.")
    uid: str | None = Field(None, description="Unique id assigned by the API server.")
    generation: int | None = Field(None, description="Increments on every spec change.")
    resource_version: str | None = Field(None, description="Opaque version for optimistic concurrency.")
    labels: dict[str, str] = Field(default_factory=dict, description="Labels of the object.")
    annotations: dict[str, str] = Field(default_factory=dict, description="Annotations of the object.")
    finalizers: list[str] = Field(default_factory=list, description="Finalizers blocking deletion.")
    creation_timestamp: Timestamp | None = Field(None, description="When the object was created.")
    deletion_timestamp: Timestamp | None = Field(None, description="When deletion was requested.")


# -- status ------------------------------------------------------------------------------------------------
ConditionStatus = Literal["True", "False", "Unknown"]


class Condition(ApiModel):
    """One aspect of the resource's current state (the metav1.Condition shape)."""

    type: str = Field(
        max_length=316,
        pattern=CONDITION_TYPE,
        description="Condition type in CamelCase, e.g. Ready; `Ready` summarizes all others.",
    )
    status: ConditionStatus = Field(description="Whether the condition holds: True, False or Unknown.")
    observed_generation: int | None = Field(
        None, ge=0, description="metadata.generation the condition was computed from; stale when smaller."
    )
    last_transition_time: Timestamp = Field(description="When status last changed (not reason or message).")
    reason: str = Field(
        min_length=1,
        max_length=128,
        pattern=CAMEL_CASE,
        description="Machine-readable CamelCase reason for the last transition, e.g. InvalidSpec.",
    )
    message: str = Field("", max_length=32768, description="Human-readable details; may be empty.")


Conditions = Annotated[list[Condition], ListMap(("type",)), Field(max_length=16)]


class StatusBase(ApiModel):
    """Status fields every kind has."""

    observed_generation: int | None = Field(
        None, ge=0, description="metadata.generation most recently reconciled by the operator."
    )
    conditions: Conditions = Field(
        default_factory=list, description="Current conditions; `Ready` is the summary Argo CD health reads."
    )


# -- pod resources ----------------------------------------------------------------------------------------
class ResourceList(ApiModel):
    """Amounts of compute resources."""

    cpu: Quantity | None = Field(None, description="CPU, in cores (`2`) or millicores (`500m`).")
    memory: Quantity | None = Field(None, description="Memory in bytes, e.g. `512Mi`, `2Gi`.")
    ephemeral_storage: Quantity | None = Field(
        None, alias="ephemeral-storage", description="Local ephemeral storage, e.g. `1Gi`."
    )


class ResourceRequirements(ApiModel):
    """Compute resources of a container, as in a Pod spec."""

    requests: ResourceList | None = Field(None, description="Minimum resources the scheduler reserves.")
    limits: ResourceList | None = Field(None, description="Maximum resources the container may use.")


# -- references --------------------------------------------------------------------------------------------
class SecretKeyRef(ApiModel):
    """A key of a Secret in the resource's namespace."""

    name: ObjectName = Field(description="Name of the Secret.")
    key: str = Field(min_length=1, max_length=253, pattern=SECRET_KEY, description="Key within the Secret.")


def secret_env_name(namespace: str, name: str, key: str) -> str:
    """The variable a process reads a referenced Secret key from: ``OTELGUARD_SECRET_<NS>_<NAME>_<KEY>``
    (upper case, anything but letters and digits as ``_``). The operator puts the Secrets an installation
    lists in ``spec.secrets`` into its pods under these names; `otelguard up` reads them too."""
    raw = f"OTELGUARD_SECRET_{namespace}_{name}_{key}"
    return re.sub(r"[^A-Za-z0-9]", "_", raw).upper()


# -- selectors ---------------------------------------------------------------------------------------------
class LabelSelectorRequirement(ApiModel):
    """A set-based label requirement, as in Kubernetes label selectors."""

    cel_rules = (
        CelRule(
            rule="self.operator in ['In', 'NotIn'] ? (has(self.values) && self.values.size() > 0)"
            " : (!has(self.values) || self.values.size() == 0)",
            message="values must be non-empty for In and NotIn, and empty for Exists and DoesNotExist",
            field_path=".values",
            check=lambda o: present(o, "values") == (o["operator"] in ("In", "NotIn")),
        ),
    )

    key: str = Field(min_length=1, max_length=253, pattern=LABEL_KEY, description="Label key.")
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"] = Field(description="How the key is tested.")
    values: Annotated[list[LabelValue], ListSet()] = Field(
        default_factory=list, max_length=64, description="Values for In and NotIn; empty otherwise."
    )


class LabelSelector(ApiModel):
    """Selects by labels: all matchLabels and all matchExpressions must hold; empty selects everything."""

    cel_rules = (label_key_rule("matchLabels"),)

    match_labels: dict[str, LabelValue] = Field(
        default_factory=dict, max_length=32, description="Labels that must be present with these values."
    )
    match_expressions: list[LabelSelectorRequirement] = Field(
        default_factory=list, max_length=16, description="Set-based requirements."
    )


# -- the resource envelope ---------------------------------------------------------------------------------
class Resource(ApiModel):
    """apiVersion/kind/metadata; each kind adds ``kind``, ``spec`` and ``status``."""

    # Limits on metadata.name beyond the API server's own (DNS subdomain, <= 253); in the CRD schema too.
    name_max_length: ClassVar[int | None] = None
    name_pattern: ClassVar[str | None] = None

    api_version: Literal["otelguard.io/v1alpha1"] = Field("otelguard.io/v1alpha1", description="API version.")
    metadata: ObjectMeta = Field(description="Standard object metadata.")

    @model_validator(mode="after")
    def _check_name(self) -> Self:
        name = self.metadata.name
        if self.name_max_length is not None and len(name) > self.name_max_length:
            raise ValueError(f"metadata.name may not be longer than {self.name_max_length} characters")
        if self.name_pattern is not None and not re.search(self.name_pattern, name):
            raise ValueError(f"metadata.name must match {self.name_pattern}")
        return self
