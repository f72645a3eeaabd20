"""``OTelGuard``: one installation per namespace — collectors, API/UI, eval workers, storage, retention."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from otelguard.api.v1alpha1.base import ApiModel, CelRule, ListSet, present
from otelguard.api.v1alpha1.common import (
    ObjectName,
    Quantity,
    Resource,
    ResourceRequirements,
    SecretKeyRef,
    StatusBase,
)

Port = Annotated[int, Field(ge=1, le=65535)]
Image = Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=r"^[^\s]+$")]
DB_URL = r"^(https?|clickhouses?|tcp|chdb)://[^\s]+$"
REDIS_URL = r"^(redis|rediss|unix)://[^\s]+$"
CH_IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
NAME_PATTERN = r"^[a-z]([-a-z0-9]*[a-z0-9])?$"
NAME_MAX = 40


class CollectorPorts(ApiModel):
    """Container and Service ports of the collector."""

    cel_rules = (
        CelRule(
            rule="self.otlpHttp != self.otlpGrpc",
            message="otlpHttp and otlpGrpc must be different ports",
            check=lambda o: o["otlpHttp"] != o["otlpGrpc"],
        ),
    )

    otlp_http: Port = Field(4318, description="OTLP/HTTP port (POST /v1/traces).")
    otlp_grpc: Port = Field(4317, description="OTLP/gRPC port (TraceService/Export).")


class CollectorSpec(ApiModel):
    """The OTLP collector Deployment and Service."""

    replicas: int = Field(1, ge=0, le=100, description="Number of collector pods.")
    resources: ResourceRequirements | None = Field(
        None, description="Compute resources of each collector pod."
    )
    ports: CollectorPorts = Field(
        default_factory=CollectorPorts, description="Ports the collector listens on."
    )
    sampling_ratio: float = Field(
        1.0, ge=0, le=1, description="Fraction of traces kept (decided per trace id); 1 keeps everything."
    )
    max_body_bytes: int = Field(
        4 * 1024 * 1024,
        ge=1024,
        le=64 * 1024 * 1024,
        description="Largest accepted OTLP request body (after decompression); larger requests get 413.",
    )


class ApiServerSpec(ApiModel):
    """The API and web UI Deployment and Service."""

    replicas: int = Field(1, ge=0, le=100, description="Number of API/UI pods.")
    resources: ResourceRequirements | None = Field(None, description="Compute resources of each API/UI pod.")
    port: Port = Field(8080, description="HTTP port of the REST API, web UI and guard API.")


class WorkersSpec(ApiModel):
    """The eval-worker Deployment (Celery workers running evaluators)."""

    replicas: int = Field(1, ge=0, le=100, description="Number of worker pods.")
    concurrency: int = Field(4, ge=1, le=64, description="Evaluations each worker pod runs at once.")
    resources: ResourceRequirements | None = Field(None, description="Compute resources of each worker pod.")


class InClusterClickHouse(ApiModel):
    """A single-node ClickHouse StatefulSet the operator runs next to the installation."""

    storage_size: Quantity = Field("20Gi", description="Size of the data PersistentVolumeClaim.")
    storage_class_name: ObjectName | None = Field(
        None, description="StorageClass of the PersistentVolumeClaim; the cluster default when unset."
    )
    resources: ResourceRequirements | None = Field(
        None, description="Compute resources of the ClickHouse pod."
    )
    image: Image | None = Field(
        None, description="ClickHouse server image; the operator's pinned version when unset."
    )


class ClickHouseSpec(ApiModel):
    """Where spans, scores and guardrail events are stored: an external server (url) or inCluster."""

    cel_rules = (
        CelRule(
            rule="has(self.url) != has(self.inCluster)",
            message="exactly one of url or inCluster must be set",
            check=lambda o: present(o, "url") != present(o, "inCluster"),
        ),
        CelRule(
            rule="!has(self.cluster) || has(self.url)",
            message="cluster (ON CLUSTER DDL) needs an external server: set url, not inCluster",
            field_path=".cluster",
            check=lambda o: not present(o, "cluster") or present(o, "url"),
        ),
    )

    url: str | None = Field(
        None,
        max_length=2048,
        pattern=DB_URL,
        description=(
            "HTTP(S) URL of an external ClickHouse server, or chdb:///dir for the embedded engine "
            "(single-process installs and tests only)."
        ),
    )
    password_secret_ref: SecretKeyRef | None = Field(
        None, description="Secret key holding the ClickHouse password (user from the url)."
    )
    in_cluster: InClusterClickHouse | None = Field(
        None, description="Run ClickHouse in the namespace instead."
    )
    cluster: str | None = Field(
        None, max_length=128, pattern=CH_IDENTIFIER, description="ClickHouse cluster name for ON CLUSTER DDL."
    )
    database: str = Field("otelguard", max_length=128, pattern=CH_IDENTIFIER, description="Database name.")


class PostgresSpec(ApiModel):
    """Postgres for projects, keys, prompts, policies and other configuration rows."""

    dsn_secret_ref: SecretKeyRef = Field(description="Secret key holding the libpq DSN (postgresql://...).")


class RedisSpec(ApiModel):
    """Redis, the eval-worker queue broker."""

    cel_rules = (
        CelRule(
            rule="has(self.url) != has(self.urlSecretRef)",
            message="exactly one of url or urlSecretRef must be set",
            check=lambda o: present(o, "url") != present(o, "urlSecretRef"),
        ),
    )

    url: str | None = Field(
        None, max_length=2048, pattern=REDIS_URL, description="Redis URL without secrets."
    )
    url_secret_ref: SecretKeyRef | None = Field(None, description="Secret key holding the Redis URL.")


class StorageSpec(ApiModel):
    """The stores the installation uses."""

    clickhouse: ClickHouseSpec = Field(description="ClickHouse: traces, spans, scores, guardrail events.")
    postgres: PostgresSpec = Field(description="Postgres: configuration and metadata.")
    redis: RedisSpec = Field(description="Redis: the eval-worker broker.")


Days = Annotated[int, Field(ge=1, le=3650)]


class RetentionSpec(ApiModel):
    """How long rows are kept, in days, per ClickHouse table (applied as table TTLs)."""

    spans: Days = Field(30, description="Days to keep traces and spans.")
    scores: Days = Field(90, description="Days to keep scores.")
    guardrail_events: Days = Field(90, description="Days to keep guardrail events.")


class ImagesSpec(ApiModel):
    """Container images; each defaults to the operator's own release of that component."""

    collector: Image | None = Field(None, description="Collector image.")
    api: Image | None = Field(None, description="API/UI image.")
    worker: Image | None = Field(None, description="Eval-worker image.")
    operator: Image | None = Field(None, description="Image of Jobs the operator starts (schema migrations).")
    pull_policy: Literal["Always", "IfNotPresent", "Never"] = Field(
        "IfNotPresent", description="imagePullPolicy of every container."
    )
    pull_secrets: Annotated[list[ObjectName], ListSet()] = Field(
        default_factory=list, max_length=8, description="Names of image pull Secrets in the namespace."
    )


class SmtpSpec(ApiModel):
    """The mail server AlertRule email notifications are sent through."""

    host: str = Field(
        min_length=1, max_length=253, pattern=r"^[^\s:/]+$", description="SMTP server host name."
    )
    port: Port = Field(587, description="SMTP server port.")
    from_: str = Field(
        alias="from",
        min_length=3,
        max_length=254,
        pattern=r"^[^@\s]+@[^@\s]+$",
        description="Sender address.",
    )
    username: str | None = Field(None, max_length=253, description="Login user; no login when unset.")
    password_secret_ref: SecretKeyRef | None = Field(
        None, description="Secret key holding the login password."
    )
    starttls: bool = Field(True, description="Upgrade the connection with STARTTLS.")


class WebhooksSpec(ApiModel):
    """Where the platform's outgoing webhooks (guardrail alerts, async guard callbacks) may go."""

    allow_networks: list[Annotated[str, StringConstraints(min_length=2, max_length=64)]] = Field(
        default_factory=list,
        max_length=64,
        description="CIDRs webhooks may reach besides public addresses (loopback, link-local, private and "
        "reserved ones are refused by default), e.g. 10.0.0.0/8 for an in-cluster receiver.",
    )


class OTelGuardSpec(ApiModel):
    """Desired state of an OTelGuard installation."""

    collector: CollectorSpec = Field(default_factory=CollectorSpec, description="The OTLP collector.")
    api: ApiServerSpec = Field(default_factory=ApiServerSpec, description="The API and web UI.")
    workers: WorkersSpec = Field(default_factory=WorkersSpec, description="The eval workers.")
    storage: StorageSpec = Field(description="ClickHouse, Postgres and Redis connections.")
    retention: RetentionSpec = Field(default_factory=RetentionSpec, description="Data retention per table.")
    images: ImagesSpec = Field(default_factory=ImagesSpec, description="Container images and pull settings.")
    smtp: SmtpSpec | None = Field(None, description="Mail server for email alert notifications.")
    secrets: list[SecretKeyRef] = Field(
        default_factory=list,
        max_length=64,
        description="Secret keys this namespace's resources reference (Evaluator judge.apiKeySecretRef, "
        "GuardrailPolicy alert params.urlSecretRef): each reaches the collector, API and worker pods as "
        "OTELGUARD_SECRET_<NAMESPACE>_<NAME>_<KEY> (optional: a missing one fails only its uses). Pods never "
        "read Secrets through the Kubernetes API; a changed value is picked up when they restart.",
    )
    webhooks: WebhooksSpec | None = Field(None, description="Outgoing webhook settings.")
    suspend: bool = Field(False, description="Stop reconciling: children are left as they are until resumed.")


class ComponentStatus(ApiModel):
    """Replica counts of one component."""

    replicas: int = Field(0, ge=0, description="Desired pods.")
    ready_replicas: int = Field(0, ge=0, description="Pods that are ready.")


class ComponentsStatus(ApiModel):
    """Replica counts per component."""

    collector: ComponentStatus | None = Field(None, description="The collector Deployment.")
    api: ComponentStatus | None = Field(None, description="The API/UI Deployment.")
    workers: ComponentStatus | None = Field(None, description="The eval-worker Deployment.")


class OTelGuardStatus(StatusBase):
    """Observed state of an OTelGuard installation."""

    config_hash: str | None = Field(
        None,
        max_length=128,
        description="Hash of the rendered configuration; pods carry it as an annotation.",
    )
    components: ComponentsStatus | None = Field(None, description="Replica counts per component.")
    schema_version: int | None = Field(None, ge=0, description="Applied ClickHouse/Postgres schema version.")


class OTelGuard(Resource):
    """An OTelGuard installation: collectors, API/UI, eval workers, storage and retention in one namespace."""

    # Children are `<name>-collector` etc.; Service names must be DNS-1035 labels of <= 63 characters.
    name_max_length = NAME_MAX
    name_pattern = NAME_PATTERN

    kind: Literal["OTelGuard"] = Field("OTelGuard", description="Kind of the resource.")
    spec: OTelGuardSpec  # described by the spec model's docstring
    status: OTelGuardStatus | None = Field(None, description="Observed state, written by the operator.")
