"""``Prompt``: a text or chat template stored as content-addressed versions; labels point at versions."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, WithJsonSchema

from otelguard.api.v1alpha1.base import ApiModel, CelRule, ListMap, ListSet, cel_string, present
from otelguard.api.v1alpha1.common import DNS_LABEL, FreeForm, Resource, StatusBase

VARIABLE = r"^[A-Za-z_][A-Za-z0-9_]*$"
TAG = r"^[A-Za-z0-9]([-A-Za-z0-9_.:]*[A-Za-z0-9])?$"
FOLDER = r"^[A-Za-z0-9][-A-Za-z0-9_. ]*(/[A-Za-z0-9][-A-Za-z0-9_. ]*)*$"
LATEST = "latest"

# A label's target: a version number, or "latest" (follows the newest version).
VersionRef = Annotated[
    Annotated[int, Field(ge=1)] | Literal["latest"],
    WithJsonSchema({"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]}),
]


class ChatMessage(ApiModel):
    """One message of a chat template."""

    role: Literal["system", "user", "assistant", "tool"] = Field(description="Who speaks.")
    content: str = Field(min_length=1, max_length=65536, description="Message template (Jinja2 syntax).")


class PromptVariable(ApiModel):
    """A template variable."""

    cel_rules = (
        CelRule(
            rule="!self.required || !has(self.default)",
            message="a required variable cannot have a default",
            field_path=".default",
            reason="FieldValueForbidden",
            check=lambda o: not o["required"] or not present(o, "default"),
        ),
    )

    name: str = Field(
        min_length=1, max_length=64, pattern=VARIABLE, description="Variable name in the template."
    )
    description: str | None = Field(None, max_length=1024, description="What the variable holds.")
    required: bool = Field(False, description="Rendering fails when a required variable is missing.")
    default: str | None = Field(
        None, max_length=8192, description="Value used when the variable is not given."
    )


class ModelConfig(ApiModel):
    """The model and parameters the prompt is meant for (the SDK and playground use them)."""

    provider: str | None = Field(None, max_length=63, pattern=DNS_LABEL, description="Provider, e.g. openai.")
    model: str = Field(min_length=1, max_length=256, description="Model name, e.g. gpt-4o-mini.")
    temperature: float | None = Field(None, ge=0, le=2, description="Sampling temperature.")
    max_tokens: int | None = Field(None, ge=1, le=1_000_000, description="Maximum tokens to generate.")
    top_p: float | None = Field(None, ge=0, le=1, description="Nucleus sampling probability mass.")
    params: FreeForm | None = Field(None, description="Other provider parameters, passed through as written.")


def _labels_ok(spec: Mapping[str, Any]) -> bool:
    for name, target in (spec.get("labels") or {}).items():
        if len(name) > 63 or not re.search(DNS_LABEL, name):
            return False
        if isinstance(target, bool) or not ((isinstance(target, int) and target >= 1) or target == LATEST):
            return False
    return True


class PromptSpec(ApiModel):
    """Desired state of a prompt; every distinct content becomes a new immutable version."""

    cel_rules = (
        CelRule(
            rule="has(self.template) != (has(self.messages) && self.messages.size() > 0)",
            message="exactly one of template (text) or messages (chat) must be set",
            check=lambda o: present(o, "template") != present(o, "messages"),
        ),
        CelRule(
            rule="!has(self.labels) || self.labels.all(k, k.size() <= 63 && k.matches("
            + cel_string(DNS_LABEL)
            + ") && (type(self.labels[k]) == int ? self.labels[k] >= 1 : self.labels[k] == 'latest'))",
            message="labels map lowercase names (production, staging) to a version number >= 1 or 'latest'",
            field_path=".labels",
            check=_labels_ok,
        ),
    )

    description: str | None = Field(None, max_length=2048, description="What the prompt is for.")
    template: str | None = Field(
        None, min_length=1, max_length=131072, description="Text template (Jinja2 syntax)."
    )
    messages: list[ChatMessage] = Field(
        default_factory=list, max_length=64, description="Chat template: messages in order."
    )
    variables: Annotated[list[PromptVariable], ListMap(("name",))] = Field(
        default_factory=list, max_length=64, description="Declared variables; rendering checks them."
    )
    llm: ModelConfig | None = Field(None, alias="modelConfig", description="Model and parameters.")
    labels: dict[str, VersionRef] = Field(
        default_factory=dict,
        max_length=16,
        description="Label name to version, e.g. {production: 3, staging: latest}; the SDK fetches by label.",
    )
    tags: Annotated[list[Annotated[str, StringConstraints(max_length=63, pattern=TAG)]], ListSet()] = Field(
        default_factory=list, max_length=32, description="Free tags for search and filtering."
    )
    folder: str | None = Field(
        None, max_length=253, pattern=FOLDER, description="Folder path in the UI, e.g. support/triage."
    )


class PromptStatus(StatusBase):
    """Observed state of a prompt."""

    current_version: int | None = Field(None, ge=1, description="Version number of the current spec content.")
    content_hash: str | None = Field(None, max_length=128, description="Content hash of the current version.")
    labels: dict[str, Annotated[int, Field(ge=1)]] = Field(
        default_factory=dict, max_length=16, description="Labels resolved to version numbers."
    )


class Prompt(Resource):
    """A prompt template with versions and labels, fetched by name and label from the SDK."""

    kind: Literal["Prompt"] = Field("Prompt", description="Kind of the resource.")
    spec: PromptSpec  # described by the spec model's docstring
    status: PromptStatus | None = Field(None, description="Observed state, written by the operator.")
