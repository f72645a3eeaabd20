"""``AlertRule``: a metric query checked periodically; fires after the condition holds for a while."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from otelguard.api.v1alpha1.base import ApiModel, CelRule, ListSet, present
from otelguard.api.v1alpha1.common import (
    HTTP_URL,
    Duration,
    Resource,
    SecretKeyRef,
    Span,
    StatusBase,
    Timestamp,
)
from otelguard.api.v1alpha1.query import MetricQuery

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
Email = Annotated[str, StringConstraints(min_length=3, max_length=254, pattern=EMAIL)]
AlertState = Literal["ok", "pending", "firing"]


class AlertQuery(MetricQuery):
    """The measured value: the metric aggregated over the trailing window."""

    window: Span = Field("5m", description="Trailing window the metric is aggregated over, e.g. 5m, 1h.")


class AlertCondition(ApiModel):
    """When the measured value is alarming."""

    operator: Literal["gt", "gte", "lt", "lte", "eq"] = Field(
        description="Comparison of value with threshold."
    )
    threshold: float = Field(description="The value compared against.")


class Notification(ApiModel):
    """Where firing and resolved notifications go."""

    cel_rules = (
        CelRule(
            rule="self.type != 'email' || (has(self.to) && self.to.size() > 0)",
            message="email notifications need at least one address in to",
            field_path=".to",
            reason="FieldValueRequired",
            check=lambda o: o["type"] != "email" or present(o, "to"),
        ),
        CelRule(
            rule="self.type != 'email' || (!has(self.url) && !has(self.urlSecretRef))",
            message="email notifications take addresses in to, not url or urlSecretRef",
            check=lambda o: o["type"] != "email" or not (present(o, "url") or present(o, "urlSecretRef")),
        ),
        CelRule(
            rule="self.type == 'email' || has(self.url) != has(self.urlSecretRef)",
            message="webhook and slack notifications need exactly one of url or urlSecretRef",
            check=lambda o: o["type"] == "email" or present(o, "url") != present(o, "urlSecretRef"),
        ),
        CelRule(
            rule="self.type == 'email' || !has(self.to) || self.to.size() == 0",
            message="to is only for email notifications",
            field_path=".to",
            reason="FieldValueForbidden",
            check=lambda o: o["type"] == "email" or not present(o, "to"),
        ),
    )

    type: Literal["webhook", "slack", "email"] = Field(
        description="webhook: JSON POST; slack: a Slack-compatible incoming webhook; "
        "email: through the OTelGuard smtp server."
    )
    url: str | None = Field(
        None, max_length=2048, pattern=HTTP_URL, description="Webhook URL (no secrets in it)."
    )
    url_secret_ref: SecretKeyRef | None = Field(None, description="Secret key holding the webhook URL.")
    to: Annotated[list[Email], ListSet()] = Field(
        default_factory=list, max_length=32, description="Email recipients."
    )


class AlertRuleSpec(ApiModel):
    """Desired state of an alert rule."""

    description: str | None = Field(None, max_length=2048, description="What the alert means and what to do.")
    query: AlertQuery = Field(description="The measured value.")
    condition: AlertCondition = Field(description="When the value is alarming.")
    for_: Duration = Field(
        "0s", alias="for", description="How long the condition must hold before firing (pending until then)."
    )
    interval: Span = Field("1m", description="How often the rule is evaluated.")
    severity: Literal["critical", "warning", "info"] = Field("warning", description="Severity of the alert.")
    notifications: list[Notification] = Field(
        default_factory=list, max_length=10, description="Channels notified when it fires and resolves."
    )
    repeat_interval: Duration | None = Field(
        None, description="Re-notify while firing this often; never when unset."
    )
    suspend: bool = Field(False, description="Stop evaluating the rule without deleting it.")


class AlertRuleStatus(StatusBase):
    """Observed state of an alert rule."""

    state: AlertState | None = Field(
        None, description="ok, pending (condition holds, for not yet over) or firing."
    )
    last_evaluation: Timestamp | None = Field(None, description="When the rule was last evaluated.")
    last_value: float | None = Field(None, description="The measured value at the last evaluation.")
    last_fired: Timestamp | None = Field(None, description="When the rule last started firing.")


class AlertRule(Resource):
    """An alert rule on a metric of LLM traffic, with notification channels."""

    kind: Literal["AlertRule"] = Field("AlertRule", description="Kind of the resource.")
    spec: AlertRuleSpec  # described by the spec model's docstring
    status: AlertRuleStatus | None = Field(None, description="Observed state, written by the operator.")
