"""Invalid manifests and the errors the API server reports for them (confirmed against a real kube-apiserver
by test_apiserver_parity.py). Each case edits one fixture: ``{"spec.rules.0.threshold": 1.5}`` sets a value,
``DELETE`` removes the key."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

FIXTURES = Path(__file__).parent / "fixtures"
DELETE = object()
BLOCKED = (
    "<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; "
    "correct the existing errors to complete validation"
)


def fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((FIXTURES / f"{name}.yaml").read_text())
    return data


def edit(manifest: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(manifest)
    for path, value in changes.items():
        *parents, last = path.split(".")
        node: Any = out
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
        if isinstance(node, list):
            node[int(last)] = value
        elif value is DELETE:
            del node[last]
        else:
            node[last] = value
    return out


@dataclass(frozen=True)
class Case:
    id: str
    fixture: str
    changes: dict[str, Any]
    errors: list[str] = field(default_factory=list)  # str(FieldError), in any order
    # The API server adds kube-openapi's anyOf noise here; validation.py reports only the first error.
    server_adds: bool = False

    def manifest(self) -> dict[str, Any]:
        return edit(fixture(self.fixture), self.changes)


CASES: list[Case] = [
    # -- schema: one per keyword ------------------------------------------------------------------------
    Case(
        "maximum",
        "guardrailpolicy",
        {"spec.rules.0.threshold": 1.5},
        [
            "spec.rules[0].threshold: Invalid value: 1.5: spec.rules[0].threshold in body should be less "
            "than or equal to 1"
        ],
    ),
    Case(
        "minimum",
        "otelguard",
        {"spec.collector.replicas": -1},
        [
            "spec.collector.replicas: Invalid value: -1: spec.collector.replicas in body should be greater "
            "than or equal to 0"
        ],
    ),
    Case(
        "enum",
        "guardrailpolicy",
        {"spec.mode": "loud"},
        ['spec.mode: Unsupported value: "loud": supported values: "enforce", "shadow"', BLOCKED],
    ),
    Case(
        "type",
        "otelguard",
        {"spec.collector.replicas": "two"},
        [
            'spec.collector.replicas: Invalid value: "string": spec.collector.replicas in body must be of '
            'type integer: "string"',
            BLOCKED,
        ],
    ),
    Case("required", "prompt", {"spec": DELETE}, ["spec: Required value", BLOCKED]),
    Case(
        "required-nested",
        "otelguard",
        {"spec.storage.postgres.dsnSecretRef.key": DELETE},
        ["spec.storage.postgres.dsnSecretRef.key: Required value", BLOCKED],
    ),
    Case(
        "pattern",
        "guardrailpolicy",
        {"spec.rules.0.name": "PII Rule"},
        [
            'spec.rules[0].name: Invalid value: "PII Rule": spec.rules[0].name in body should match '
            "'^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'"
        ],
    ),
    Case(
        "maxLength",
        "dashboard",
        {"spec.title": "x" * 201},
        ["spec.title: Too long: may not be more than 200 bytes", BLOCKED],
    ),
    Case(
        "minLength",
        "dashboard",
        {"spec.title": ""},
        ['spec.title: Invalid value: "": spec.title in body should be at least 1 chars long'],
    ),
    Case(
        "maxItems",
        "dashboard",
        {"spec.widgets.0.dimensions": ["model", "project", "provider"]},
        ["spec.widgets[0].dimensions: Too many: 3: must have at most 2 items", BLOCKED],
    ),
    Case(
        "minItems",
        "guardrailpolicy",
        {"spec.stages": []},
        ["spec.stages: Invalid value: 0: spec.stages in body should have at least 1 items"],
    ),
    Case(
        "maxProperties",
        "prompt",
        {"spec.labels": {f"l{i}": 1 for i in range(17)}},
        ["spec.labels: Too many: 17: must have at most 16 items", BLOCKED],
    ),
    Case(
        "int-or-string",
        "prompt",
        {"spec.labels.production": 1.5},
        [
            'spec.labels.production: Invalid value: "number": spec.labels.production in body must be of '
            'type integer,string: "number"',
            BLOCKED,
        ],
        server_adds=True,
    ),
    Case(
        "list-set-duplicate",
        "guardrailpolicy",
        {"spec.stages": ["input", "input"]},
        ['spec.stages[1]: Duplicate value: "input"'],
    ),
    Case(
        "list-map-duplicate",
        "prompt",
        {"spec.variables.1.name": "product"},
        ['spec.variables[1]: Duplicate value: {"name":"product"}'],
    ),
    Case(
        "metadata-name",
        "prompt",
        {"metadata.name": "Support_Triage"},
        [
            'metadata.name: Invalid value: "Support_Triage": a lowercase RFC 1123 subdomain must consist of '
            "lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
            "character (e.g. 'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        ],
    ),
    Case(
        "otelguard-name",
        "otelguard",
        {"metadata.name": "9lives"},
        [
            'metadata.name: Invalid value: "9lives": metadata.name in body should match '
            "'^[a-z]([-a-z0-9]*[a-z0-9])?$'"
        ],
    ),
]

# -- CEL rules: at least one case per rule (test_validation checks the coverage) ------------------------
CASES += [
    Case(
        "selector-values",
        "guardrailpolicy",
        {"spec.selector.matchExpressions": [{"key": "tier", "operator": "Exists", "values": ["gold"]}]},
        [
            "spec.selector.matchExpressions[0].values: Invalid value: values must be non-empty for In and "
            "NotIn, and empty for Exists and DoesNotExist"
        ],
    ),
    Case(
        "selector-label-keys",
        "guardrailpolicy",
        {"spec.selector.matchLabels": {"bad key!": "x"}},
        [
            "spec.selector.matchLabels: Invalid value: keys of matchLabels must be label keys: [prefix/]name "
            "of letters, digits, '-', '_' and '.'"
        ],
    ),
    Case(
        "filter-values",
        "alertrule",
        {"spec.query.filters.0.operator": "eq"},
        [
            "spec.query.filters[0].values: Invalid value: "
            "operators other than in and not_in take exactly one value"
        ],
    ),
    Case(
        "score-name-missing",
        "dashboard",
        {"spec.widgets.3.scoreName": DELETE},
        ["spec.widgets[3].scoreName: Invalid value: scoreName must be set for metric score, and only for it"],
    ),
    Case(
        "score-name-extra",
        "alertrule",
        {"spec.query.scoreName": "helpfulness"},
        ["spec.query.scoreName: Invalid value: scoreName must be set for metric score, and only for it"],
    ),
    Case(
        "counted-metric",
        "dashboard",
        {"spec.widgets.0.aggregation": "avg"},
        [
            "spec.widgets[0].aggregation: Invalid value: requests, errors and guardrail_events are counted: "
            "use aggregation count"
        ],
    ),
    Case(
        "ports-differ",
        "otelguard",
        {"spec.collector.ports.otlpGrpc": 4318},
        ["spec.collector.ports: Invalid value: otlpHttp and otlpGrpc must be different ports"],
    ),
    Case(
        "clickhouse-both",
        "otelguard",
        {"spec.storage.clickhouse.inCluster": {"storageSize": "50Gi"}},
        ["spec.storage.clickhouse: Invalid value: exactly one of url or inCluster must be set"],
    ),
    Case(
        "clickhouse-neither",
        "otelguard",
        {"spec.storage.clickhouse.url": DELETE},
        ["spec.storage.clickhouse: Invalid value: exactly one of url or inCluster must be set"],
    ),
    Case(
        "clickhouse-cluster-in-cluster",
        "otelguard",
        {
            "spec.storage.clickhouse.url": DELETE,
            "spec.storage.clickhouse.inCluster": {},
            "spec.storage.clickhouse.cluster": "main",
        },
        [
            "spec.storage.clickhouse.cluster: Invalid value: cluster (ON CLUSTER DDL) needs an external "
            "server: set url, not inCluster"
        ],
    ),
    Case(
        "redis-both",
        "otelguard",
        {"spec.storage.redis.urlSecretRef": {"name": "redis", "key": "url"}},
        ["spec.storage.redis: Invalid value: exactly one of url or urlSecretRef must be set"],
    ),
    Case(
        "block-not-last",
        "guardrailpolicy",
        {"spec.rules.1.onFail": [{"type": "block"}, {"type": "alert"}]},
        ["spec.rules[1].onFail: Invalid value: block ends the chain: it may appear once, as the last action"],
    ),
    Case(
        "ingest-actions",
        "guardrailpolicy",
        {"spec.stages": ["ingest"]},
        [
            "spec.rules: Invalid value: the ingest stage can only sanitize or alert: remove other actions or "
            "the ingest stage"
        ],
    ),
    Case(
        "ingest-timeout",
        "guardrailpolicy",
        {
            "spec.stages": ["ingest"],
            "spec.rules": [{"name": "pii", "validator": "pii"}],
            "spec.onTimeout": "block",
        },
        ["spec.onTimeout: Invalid value: the ingest stage cannot block: onTimeout must be pass"],
    ),
    Case(
        "variable-default",
        "prompt",
        {"spec.variables.0.default": "Acme"},
        ["spec.variables[0].default: Forbidden: a required variable cannot have a default"],
    ),
    Case(
        "template-and-messages",
        "prompt",
        {"spec.template": "Hello {{ name }}"},
        ["spec: Invalid value: exactly one of template (text) or messages (chat) must be set"],
    ),
    Case(
        "template-nor-messages",
        "prompt",
        {"spec.messages": []},
        ["spec: Invalid value: exactly one of template (text) or messages (chat) must be set"],
    ),
    Case(
        "label-version",
        "prompt",
        {"spec.labels.staging": "newest"},
        [
            "spec.labels: Invalid value: labels map lowercase names (production, staging) to a version "
            "number >= 1 or 'latest'"
        ],
    ),
    Case(
        "label-name",
        "prompt",
        {"spec.labels.Prod": 2},
        [
            "spec.labels: Invalid value: labels map lowercase names (production, staging) to a version "
            "number >= 1 or 'latest'"
        ],
    ),
    Case(
        "prompt-version-needs-name",
        "evaluator",
        {"spec.target.promptName": DELETE, "spec.target.promptVersion": 2},
        ["spec.target.promptVersion: Invalid value: promptVersion needs promptName"],
    ),
    Case(
        "judge-template",
        "evaluator",
        {"spec.judge.template": "Rate {{ output }}"},
        ["spec.judge: Invalid value: exactly one of template or builtinTemplate must be set"],
    ),
    Case(
        "judge-missing",
        "evaluator",
        {"spec.judge": DELETE},
        ["spec.judge: Required value: judge is required when kind is llm-judge"],
    ),
    Case(
        "judge-forbidden",
        "evaluator",
        {"spec.kind": "heuristic", "spec.heuristic": {"type": "json-valid"}},
        ["spec.judge: Forbidden: judge is only allowed when kind is llm-judge"],
    ),
    Case(
        "heuristic-missing",
        "evaluator",
        {"spec.kind": "heuristic", "spec.judge": DELETE},
        ["spec.heuristic: Required value: heuristic is required when kind is heuristic"],
    ),
    Case(
        "heuristic-forbidden",
        "evaluator",
        {"spec.heuristic": {"type": "json-valid"}},
        ["spec.heuristic: Forbidden: heuristic is only allowed when kind is heuristic"],
    ),
    Case(
        "heuristic-params",
        "evaluator",
        {"spec.kind": "heuristic", "spec.judge": DELETE, "spec.heuristic": {"type": "regex"}},
        [
            "spec.heuristic.params: Required value: "
            "params are required for every heuristic type except json-valid"
        ],
    ),
    Case(
        "validator-missing",
        "evaluator",
        {"spec.kind": "guardrail-validator", "spec.judge": DELETE},
        ["spec.validator: Required value: validator is required when kind is guardrail-validator"],
    ),
    Case(
        "validator-forbidden",
        "evaluator",
        {"spec.validator": {"name": "toxicity"}},
        ["spec.validator: Forbidden: validator is only allowed when kind is guardrail-validator"],
    ),
    Case(
        "categories-missing",
        "evaluator",
        {"spec.score.dataType": "categorical"},
        [
            "spec.score.categories: Invalid value: "
            "categories must be set for dataType categorical, and only for it"
        ],
    ),
    Case(
        "grid-overflow",
        "dashboard",
        {"spec.widgets.1.position.width": 10},
        [
            "spec.widgets[1].position: Invalid value: "
            "the widget must fit the 12-column grid: column + width <= 12"
        ],
    ),
    Case(
        "number-dimensions",
        "dashboard",
        {"spec.widgets.0.dimensions": ["model"]},
        [
            "spec.widgets[0]: Invalid value: "
            "a number widget shows a single value: no dimensions and no timeBucket"
        ],
    ),
    Case(
        "pie-dimensions",
        "dashboard",
        {"spec.widgets.2.dimensions": ["project", "model"]},
        ["spec.widgets[2]: Invalid value: a pie widget needs exactly one dimension and no timeBucket"],
    ),
    Case(
        "line-time-bucket",
        "dashboard",
        {"spec.widgets.1.timeBucket": DELETE},
        [
            "spec.widgets[1].timeBucket: Required value: line, area and heatmap widgets are time series: "
            "timeBucket is required"
        ],
    ),
    Case(
        "email-needs-to",
        "alertrule",
        {"spec.notifications.1.to": []},
        ["spec.notifications[1].to: Required value: email notifications need at least one address in to"],
    ),
    Case(
        "email-no-url",
        "alertrule",
        {"spec.notifications.1.url": "https://example.com/hook"},
        [
            "spec.notifications[1]: Invalid value: email notifications take addresses in to, not url or "
            "urlSecretRef"
        ],
    ),
    Case(
        "webhook-url",
        "alertrule",
        {"spec.notifications.0.url": "https://hooks.slack.com/services/T0/B0/x"},
        [
            "spec.notifications[0]: Invalid value: webhook and slack notifications need exactly one of url "
            "or urlSecretRef"
        ],
    ),
    Case(
        "webhook-no-to",
        "alertrule",
        {"spec.notifications.0.to": ["oncall@example.com"]},
        ["spec.notifications[0].to: Forbidden: to is only for email notifications"],
    ),
]
