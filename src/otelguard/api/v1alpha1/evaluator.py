"""``Evaluator``: eval workers sample matching spans and score them (LLM judge, heuristic or validator)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from otelguard.api.v1alpha1.base import ApiModel, CelRule, ListSet, present
from otelguard.api.v1alpha1.common import (
    HTTP_URL,
    FreeForm,
    Glob,
    Identifier,
    Resource,
    SecretKeyRef,
    Slug,
    StatusBase,
    Timestamp,
)
from otelguard.model import SpanKind

EvaluatorKind = Literal["llm-judge", "heuristic", "guardrail-validator"]
HeuristicType = Literal[
    "regex", "contains", "json-valid", "json-schema", "length", "latency", "cost", "similarity"
]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=63)]


class EvaluatorTarget(ApiModel):
    """Which spans are evaluated; every non-empty criterion must match, empty matches all."""

    cel_rules = (
        CelRule(
            rule="!has(self.promptVersion) || has(self.promptName)",
            message="promptVersion needs promptName",
            field_path=".promptVersion",
            check=lambda o: not present(o, "promptVersion") or present(o, "promptName"),
        ),
    )

    span_kinds: Annotated[list[SpanKind], ListSet()] = Field(
        default_factory=list, max_length=9, description="Span kinds, e.g. llm; empty means every kind."
    )
    models: Annotated[list[Glob], ListSet()] = Field(
        default_factory=list, max_length=32, description="Model names or globs; empty means every model."
    )
    tags: Annotated[list[Tag], ListSet()] = Field(
        default_factory=list, max_length=32, description="Trace tags that must all be present."
    )
    prompt_name: str | None = Field(None, max_length=253, description="Only spans produced by this Prompt.")
    prompt_version: int | None = Field(None, ge=1, description="Only this version of promptName.")
    projects: Annotated[list[Slug], ListSet()] = Field(
        default_factory=list, max_length=32, description="Project names; empty means every project."
    )


class JudgeConfig(ApiModel):
    """An LLM judge on any OpenAI-compatible endpoint."""

    cel_rules = (
        CelRule(
            rule="has(self.template) != has(self.builtinTemplate)",
            message="exactly one of template or builtinTemplate must be set",
            check=lambda o: present(o, "template") != present(o, "builtinTemplate"),
        ),
    )

    base_url: str | None = Field(
        None,
        max_length=2048,
        pattern=HTTP_URL,
        description="OpenAI-compatible API base URL; OpenAI's when unset.",
    )
    model: str = Field(min_length=1, max_length=256, description="Judge model, e.g. gpt-4o-mini.")
    api_key_secret_ref: SecretKeyRef | None = Field(None, description="Secret key holding the API key.")
    template: str | None = Field(
        None,
        min_length=1,
        max_length=65536,
        description="Judge prompt (Jinja2; input, output, expected are available).",
    )
    builtin_template: Identifier | None = Field(
        None, description="Name of a built-in judge template, e.g. hallucination, relevance, toxicity."
    )
    timeout_seconds: int = Field(30, ge=1, le=600, description="Timeout of one judge call.")
    max_concurrency: int = Field(4, ge=1, le=64, description="Judge calls in flight at once, per worker.")


class HeuristicConfig(ApiModel):
    """A deterministic check computed from the span."""

    cel_rules = (
        CelRule(
            rule="self.type == 'json-valid' || has(self.params)",
            message="params are required for every heuristic type except json-valid",
            field_path=".params",
            reason="FieldValueRequired",
            check=lambda o: o["type"] == "json-valid" or present(o, "params"),
        ),
    )

    type: HeuristicType = Field(description="The check to run.")
    params: FreeForm | None = Field(None, description="Check parameters, e.g. pattern, schema, min/max.")


class ValidatorConfig(ApiModel):
    """A guardrail validator used as an offline evaluator; its score becomes the span's score."""

    name: Identifier = Field(description="Validator name, as in GuardrailPolicy rules.")
    params: FreeForm | None = Field(None, description="Validator parameters.")


class ScoreConfig(ApiModel):
    """The score the evaluator writes."""

    cel_rules = (
        CelRule(
            rule="(self.dataType == 'categorical') == (has(self.categories) && self.categories.size() > 0)",
            message="categories must be set for dataType categorical, and only for it",
            field_path=".categories",
            check=lambda o: (o["dataType"] == "categorical") == present(o, "categories"),
        ),
    )

    name: Identifier = Field(description="Score name, e.g. helpfulness.")
    data_type: Literal["numeric", "boolean", "categorical"] = Field(
        "numeric", description="Type of the value."
    )
    categories: Annotated[list[Annotated[str, StringConstraints(min_length=1, max_length=63)]], ListSet()] = (
        Field(default_factory=list, max_length=32, description="Allowed values of a categorical score.")
    )


def _config_rules(kind: str, field: str) -> tuple[CelRule, CelRule]:
    # One field per kind: required for that kind, forbidden for the others.
    return (
        CelRule(
            rule=f"self.kind != '{kind}' || has(self.{field})",
            message=f"{field} is required when kind is {kind}",
            field_path=f".{field}",
            reason="FieldValueRequired",
            check=lambda o: o["kind"] != kind or present(o, field),
        ),
        CelRule(
            rule=f"self.kind == '{kind}' || !has(self.{field})",
            message=f"{field} is only allowed when kind is {kind}",
            field_path=f".{field}",
            reason="FieldValueForbidden",
            check=lambda o: o["kind"] == kind or not present(o, field),
        ),
    )


class EvaluatorSpec(ApiModel):
    """Desired state of an evaluator."""

    cel_rules = (
        *_config_rules("llm-judge", "judge"),
        *_config_rules("heuristic", "heuristic"),
        *_config_rules("guardrail-validator", "validator"),
    )

    kind: EvaluatorKind = Field(
        description="How spans are scored; selects which of judge/heuristic/validator is set."
    )
    description: str | None = Field(None, max_length=2048, description="What the evaluator measures.")
    target: EvaluatorTarget = Field(default_factory=EvaluatorTarget, description="Spans to evaluate.")
    sampling_rate: float = Field(1.0, ge=0, le=1, description="Fraction of matching spans evaluated.")
    judge: JudgeConfig | None = Field(None, description="LLM judge settings (kind llm-judge).")
    heuristic: HeuristicConfig | None = Field(None, description="Heuristic settings (kind heuristic).")
    validator: ValidatorConfig | None = Field(
        None, description="Validator settings (kind guardrail-validator)."
    )
    score: ScoreConfig = Field(description="The score written for each evaluated span.")
    suspend: bool = Field(False, description="Stop evaluating new spans without deleting the evaluator.")


class EvaluatorStatus(StatusBase):
    """Observed state of an evaluator."""

    last_run: Timestamp | None = Field(None, description="When spans were last evaluated.")
    scored_spans: int | None = Field(None, ge=0, description="Spans scored so far.")
    errors: int | None = Field(None, ge=0, description="Evaluations that failed so far.")
    judge_cost_usd: float | None = Field(None, ge=0, description="Cost of judge calls so far, in US dollars.")
    spans_per_minute: int | None = Field(None, ge=0, description="Spans scored in the last complete minute.")


class Evaluator(Resource):
    """An evaluator: scores sampled spans with an LLM judge, a heuristic or a guardrail validator."""

    kind: Literal["Evaluator"] = Field("Evaluator", description="Kind of the resource.")
    spec: EvaluatorSpec  # described by the spec model's docstring
    status: EvaluatorStatus | None = Field(None, description="Observed state, written by the operator.")
