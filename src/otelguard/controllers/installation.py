"""OTelGuard → ServiceAccount, ConfigMap, collector/API Deployments + Services, eval-worker Deployment,
an optional in-cluster ClickHouse StatefulSet, and the storage step (ClickHouse DDL + TTLs, Postgres
migrations).

Runtime configuration is the ``<name>-config`` ConfigMap of ``OTELGUARD_*`` variables (``CONFIG_KEYS``),
loaded with ``envFrom`` — the same variables ``Settings.from_env`` reads, so ``otelguard collector|api|
worker`` need no config file. Secrets never enter it: they are ``secretKeyRef`` env entries. The hash of
the ConfigMap data is the pod-template annotation ``otelguard.io/config-hash``, so a config change rolls the
pods (a changed Secret value does not: rotate by renaming the Secret or restarting).

``spec.suspend`` (as Flux's): nothing is applied, children and storage stay as they are; ``Suspended=True``
and ``Ready=Unknown`` with reason Suspended (unknown: nobody checks the children against the spec while
suspended), which the Argo CD health check shows as Suspended. Resuming removes ``Suspended``.

Ready = Reconciled (children applied) and StorageReady (DDL applied). ``Available`` reports ready
replicas from the observed Deployments but is not part of Ready: a cluster without nodes (the e2e test
cluster) or a scaled-to-zero install is still correctly reconciled.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from otelguard import __version__
from otelguard.api.v1alpha1 import READY, Condition, OTelGuard, OTelGuardStatus
from otelguard.api.v1alpha1.common import ResourceRequirements, SecretKeyRef, secret_env_name
from otelguard.api.v1alpha1.installation import OTelGuardSpec
from otelguard.controllers.base import (
    INVALID_SPEC,
    PENDING,
    RECONCILED,
    SUSPENDED,
    Applied,
    Desired,
    Failure,
    Json,
    ReconcileInput,
    StorageConfig,
    child_key,
    child_labels,
    child_metadata,
    content_hash,
    previous_conditions,
    reconciled,
    render_status,
    selector_labels,
    summarize,
    suspension,
    with_condition,
)

KIND = "OTelGuard"
DEFAULT_IMAGE = f"ghcr.io/otelguard/otelguard:{__version__}"
DEFAULT_CLICKHOUSE_IMAGE = "clickhouse/clickhouse-server:25.8"
CONFIG_HASH_ANNOTATION = "otelguard.io/config-hash"
DATA_DIR = "/var/lib/otelguard"  # OTELGUARD_DATA_DIR of every pod; holds the collector's spool
METRICS_SERVICE_PORT = 8888  # Service port named "metrics" for ServiceMonitors; /metrics is on otlp-http
RUN_AS = 10001
STORAGE_READY = "StorageReady"
AVAILABLE = "Available"

# The ConfigMap keys. Those marked new are not read by Settings yet (see the controllers' report).
CONFIG_KEYS = (
    "OTELGUARD_NAMESPACE",  # new: whose GuardrailPolicies/Prompts/... (resources rows) this install serves
    "OTELGUARD_DATA_DIR",
    "OTELGUARD_CLICKHOUSE_URL",  # database in the path; the password comes from a Secret
    "OTELGUARD_CLICKHOUSE_CLUSTER",
    "OTELGUARD_REDIS_URL",  # only when given as a plain url
    "OTELGUARD_MAX_BODY_BYTES",
    "OTELGUARD_SAMPLING_RATIO",  # new
    "OTELGUARD_RETENTION_SPANS_DAYS",  # new: pods that migrate at start apply the same TTLs
    "OTELGUARD_RETENTION_SCORES_DAYS",  # new
    "OTELGUARD_RETENTION_GUARDRAIL_EVENTS_DAYS",  # new
    "OTELGUARD_WORKER_CONCURRENCY",  # new
    "OTELGUARD_SMTP_HOST",  # new, and the other SMTP keys
    "OTELGUARD_SMTP_PORT",
    "OTELGUARD_SMTP_FROM",
    "OTELGUARD_SMTP_USERNAME",
    "OTELGUARD_SMTP_STARTTLS",
    "OTELGUARD_WEBHOOK_ALLOW_NETWORKS",  # spec.webhooks.allowNetworks: where alerts/callbacks may go
)


def names(name: str) -> dict[str, str]:
    """Child names by role (NAME_MAX=40 keeps every one a valid 63-character DNS label)."""
    return {
        # Not <name> alone: the chart's operator ServiceAccount is named after the release, often the same.
        "serviceaccount": f"{name}-runtime",
        "config": f"{name}-config",
        "collector": f"{name}-collector",
        "api": f"{name}-api",
        "worker": f"{name}-worker",
        "clickhouse": f"{name}-clickhouse",
    }


# -- plan --------------------------------------------------------------------------------------------------
def plan(inp: ReconcileInput) -> Desired:
    spec = inp.resource_as(OTelGuard).spec
    if spec.suspend:
        return Desired(KIND, suspended=True)
    problem = _check(spec)
    if problem is not None:
        return Desired(KIND, invalid=Failure(INVALID_SPEC, problem))
    config = render_config(inp, spec)
    config_hash = content_hash(config)
    n = names(inp.name)
    children: list[Json] = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": child_metadata(inp, n["serviceaccount"], "serviceaccount"),
            # Pods never call the Kubernetes API.
            "automountServiceAccountToken": False,
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": child_metadata(inp, n["config"], "config"),
            "data": config,
        },
    ]
    if spec.storage.clickhouse.in_cluster is not None:
        children.extend(_clickhouse(inp, spec))
    children.extend(_collector(inp, spec, config_hash))
    children.extend(_api(inp, spec, config_hash))
    children.append(_worker(inp, spec, config_hash))
    return Desired(
        KIND, children=tuple(children), storage=_storage(inp, spec), facts={"configHash": config_hash}
    )


def _check(spec: OTelGuardSpec) -> str | None:
    """What the schema cannot reject: URLs the runtime cannot use or that would put secrets in a ConfigMap."""
    ch = spec.storage.clickhouse
    if ch.url is not None:
        parts = urlsplit(ch.url)
        if parts.scheme == "chdb":  # the embedded engine in one process (single-node demos and tests)
            return (
                None
                if parts.path.startswith("/") and not parts.netloc
                else (
                    "spec.storage.clickhouse.url: a chdb URL names an absolute directory, e.g. chdb:///data/ch"
                )
            )
        if parts.scheme not in ("http", "https"):
            return (
                f"spec.storage.clickhouse.url: scheme {parts.scheme}:// is not supported; use the HTTP "
                "interface, e.g. http://clickhouse:8123 (or chdb:///path for the embedded engine)"
            )
        if parts.password is not None:
            return "spec.storage.clickhouse.url: remove the password from the URL and use passwordSecretRef"
        path_db = parts.path.strip("/")
        if path_db and path_db != ch.database:
            return (
                f"spec.storage.clickhouse.url names database {path_db!r} but "
                f"spec.storage.clickhouse.database is {ch.database!r}; drop the path or make them equal"
            )
    redis_url = spec.storage.redis.url
    if redis_url is not None and urlsplit(redis_url).password is not None:
        return "spec.storage.redis.url: the URL contains a password; use urlSecretRef instead"
    for i, cidr in enumerate(spec.webhooks.allow_networks if spec.webhooks is not None else ()):
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            return (
                f"spec.webhooks.allowNetworks[{i}]: {cidr!r} is not a network in CIDR form, e.g. 10.0.0.0/8"
            )
    seen = set()
    for i, ref in enumerate(spec.secrets):
        var = secret_env_name("", ref.name, ref.key)
        if var in seen:  # e.g. a-b/k and a_b/k: one variable name for two Secrets
            return f"spec.secrets[{i}]: {ref.name}/{ref.key} maps to the same variable as an earlier entry"
        seen.add(var)
    return None


def clickhouse_url(inp: ReconcileInput, spec: OTelGuardSpec) -> str:
    """The ClickHouse HTTP URL pods use, database in the path (``storage.clickhouse.connect`` reads it)."""
    ch = spec.storage.clickhouse
    if ch.url is None:
        return f"http://{names(inp.name)['clickhouse']}.{inp.namespace}.svc:8123/{ch.database}"
    parts = urlsplit(ch.url)
    if parts.scheme == "chdb":
        return ch.url  # a directory, not a server: the database is chosen separately
    return urlunsplit((parts.scheme, parts.netloc, f"/{ch.database}", parts.query, parts.fragment))


def render_config(inp: ReconcileInput, spec: OTelGuardSpec) -> dict[str, str]:
    """The ConfigMap data: every non-secret setting, as ``OTELGUARD_*`` variables."""
    data = {
        "OTELGUARD_NAMESPACE": inp.namespace,
        "OTELGUARD_DATA_DIR": DATA_DIR,
        "OTELGUARD_CLICKHOUSE_URL": clickhouse_url(inp, spec),
        "OTELGUARD_MAX_BODY_BYTES": str(spec.collector.max_body_bytes),
        "OTELGUARD_SAMPLING_RATIO": repr(float(spec.collector.sampling_ratio)),
        "OTELGUARD_RETENTION_SPANS_DAYS": str(spec.retention.spans),
        "OTELGUARD_RETENTION_SCORES_DAYS": str(spec.retention.scores),
        "OTELGUARD_RETENTION_GUARDRAIL_EVENTS_DAYS": str(spec.retention.guardrail_events),
        "OTELGUARD_WORKER_CONCURRENCY": str(spec.workers.concurrency),
    }
    if spec.storage.clickhouse.cluster:
        data["OTELGUARD_CLICKHOUSE_CLUSTER"] = spec.storage.clickhouse.cluster
    if spec.storage.redis.url:
        data["OTELGUARD_REDIS_URL"] = spec.storage.redis.url
    if spec.webhooks is not None and spec.webhooks.allow_networks:
        data["OTELGUARD_WEBHOOK_ALLOW_NETWORKS"] = ",".join(spec.webhooks.allow_networks)
    if spec.smtp is not None:
        data["OTELGUARD_SMTP_HOST"] = spec.smtp.host
        data["OTELGUARD_SMTP_PORT"] = str(spec.smtp.port)
        data["OTELGUARD_SMTP_FROM"] = spec.smtp.from_
        data["OTELGUARD_SMTP_STARTTLS"] = "true" if spec.smtp.starttls else "false"
        if spec.smtp.username:
            data["OTELGUARD_SMTP_USERNAME"] = spec.smtp.username
    return dict(sorted(data.items()))


def _storage(inp: ReconcileInput, spec: OTelGuardSpec) -> StorageConfig:
    ch = spec.storage.clickhouse
    pw = ch.password_secret_ref
    dsn = spec.storage.postgres.dsn_secret_ref
    return StorageConfig(
        spans_days=spec.retention.spans,
        scores_days=spec.retention.scores,
        guardrail_events_days=spec.retention.guardrail_events,
        clickhouse_url=clickhouse_url(inp, spec),
        clickhouse_database=ch.database,
        clickhouse_cluster=ch.cluster,
        clickhouse_password_secret=(pw.name, pw.key) if pw else None,
        postgres_dsn_secret=(dsn.name, dsn.key),
    )


# -- pods --------------------------------------------------------------------------------------------------
def _secret_env(name: str, ref: SecretKeyRef) -> Json:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}}


def _env(spec: OTelGuardSpec, component: str, namespace: str) -> list[Json]:
    """Secret-backed variables each component needs (only the worker sends mail). The collector gets Redis
    too: it enqueues sampled span ids for the eval workers. ``spec.secrets`` go to every component (judge
    keys: workers; alert URLs: the API and the collector's ingest stage), optional so that a missing one
    fails only the deliveries or judgements that use it, never the pod's start."""
    env = [_secret_env("OTELGUARD_POSTGRES_DSN", spec.storage.postgres.dsn_secret_ref)]
    if spec.storage.clickhouse.password_secret_ref is not None:
        env.append(_secret_env("OTELGUARD_CLICKHOUSE_PASSWORD", spec.storage.clickhouse.password_secret_ref))
    redis_ref = spec.storage.redis.url_secret_ref
    if redis_ref is not None:
        env.append(_secret_env("OTELGUARD_REDIS_URL", redis_ref))
    smtp = spec.smtp
    if component == "worker" and smtp is not None and smtp.password_secret_ref is not None:
        env.append(_secret_env("OTELGUARD_SMTP_PASSWORD", smtp.password_secret_ref))
    for ref in spec.secrets:
        var = _secret_env(secret_env_name(namespace, ref.name, ref.key), ref)
        var["valueFrom"]["secretKeyRef"]["optional"] = True
        env.append(var)
    return env


def _resources(res: ResourceRequirements | None) -> Json:
    return {"resources": res.model_dump(mode="json", by_alias=True, exclude_none=True)} if res else {}


def _http_probes(port: str) -> Json:
    return {
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": port}, "periodSeconds": 5},
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": port},
            "periodSeconds": 10,
            "failureThreshold": 6,
        },
    }


def _container(
    inp: ReconcileInput, spec: OTelGuardSpec, component: str, image: str | None, args: list[str], extra: Json
) -> Json:
    return {
        "name": component,
        "image": image or DEFAULT_IMAGE,
        "imagePullPolicy": spec.images.pull_policy,
        "command": ["otelguard"],
        "args": args,
        "envFrom": [{"configMapRef": {"name": names(inp.name)["config"]}}],
        "env": _env(spec, component, inp.namespace),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, {"name": "data", "mountPath": DATA_DIR}],
        **extra,
    }


def _deployment(
    inp: ReconcileInput, spec: OTelGuardSpec, component: str, replicas: int, container: Json, config_hash: str
) -> Json:
    n = names(inp.name)
    # data: OTELGUARD_DATA_DIR, the collector's spool of accepted-but-unwritten spans; an emptyDir survives
    # container restarts, not pod deletion. The root filesystem is read-only, hence tmp.
    volumes: list[Json] = [{"name": "tmp", "emptyDir": {}}, {"name": "data", "emptyDir": {}}]
    pod: Json = {
        "serviceAccountName": n["serviceaccount"],
        "automountServiceAccountToken": False,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS,
            "runAsGroup": RUN_AS,
            "fsGroup": RUN_AS,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [container],
        "volumes": volumes,
    }
    if spec.images.pull_secrets:
        pod["imagePullSecrets"] = [{"name": s} for s in spec.images.pull_secrets]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": child_metadata(inp, n[component], component),
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": selector_labels(inp, component)},
            "template": {
                "metadata": {
                    "labels": child_labels(inp, component),
                    "annotations": {CONFIG_HASH_ANNOTATION: config_hash},
                },
                "spec": pod,
            },
        },
    }


def _service(inp: ReconcileInput, component: str, ports: list[Json]) -> Json:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": child_metadata(inp, names(inp.name)[component], component),
        "spec": {"type": "ClusterIP", "selector": selector_labels(inp, component), "ports": ports},
    }


def _port(name: str, port: int, target: str, app_protocol: str | None = None) -> Json:
    out: Json = {"name": name, "port": port, "targetPort": target, "protocol": "TCP"}
    if app_protocol:
        out["appProtocol"] = app_protocol
    return out


def _collector(inp: ReconcileInput, spec: OTelGuardSpec, config_hash: str) -> list[Json]:
    c = spec.collector
    http, grpc = c.ports.otlp_http, c.ports.otlp_grpc
    args = ["collector", "--host", "0.0.0.0", "--otlp-http-port", str(http), "--otlp-grpc-port", str(grpc)]
    extra = {
        "ports": [
            {"name": "otlp-http", "containerPort": http, "protocol": "TCP"},
            {"name": "otlp-grpc", "containerPort": grpc, "protocol": "TCP"},
        ],
        **_http_probes("otlp-http"),
        **_resources(c.resources),
    }
    container = _container(inp, spec, "collector", spec.images.collector, args, extra)
    ports = [_port("otlp-http", http, "otlp-http", "http"), _port("otlp-grpc", grpc, "otlp-grpc", "grpc")]
    if METRICS_SERVICE_PORT not in (http, grpc):
        ports.append(_port("metrics", METRICS_SERVICE_PORT, "otlp-http", "http"))
    return [
        _service(inp, "collector", ports),
        _deployment(inp, spec, "collector", c.replicas, container, config_hash),
    ]


def _api(inp: ReconcileInput, spec: OTelGuardSpec, config_hash: str) -> list[Json]:
    a = spec.api
    extra = {
        "ports": [{"name": "http", "containerPort": a.port, "protocol": "TCP"}],
        **_http_probes("http"),
        **_resources(a.resources),
    }
    args = ["api", "--host", "0.0.0.0", "--port", str(a.port)]
    container = _container(inp, spec, "api", spec.images.api, args, extra)
    return [
        _service(inp, "api", [_port("http", a.port, "http", "http")]),
        _deployment(inp, spec, "api", a.replicas, container, config_hash),
    ]


def _worker(inp: ReconcileInput, spec: OTelGuardSpec, config_hash: str) -> Json:
    # No HTTP server, hence no probes; concurrency comes from OTELGUARD_WORKER_CONCURRENCY.
    w = spec.workers
    extra = _resources(w.resources)
    container = _container(inp, spec, "worker", spec.images.worker, ["worker"], extra)
    return _deployment(inp, spec, "worker", w.replicas, container, config_hash)


def _clickhouse(inp: ReconcileInput, spec: OTelGuardSpec) -> list[Json]:
    ch = spec.storage.clickhouse
    ic = ch.in_cluster
    assert ic is not None
    name = names(inp.name)["clickhouse"]
    env: list[Json] = [{"name": "CLICKHOUSE_DB", "value": ch.database}]
    if ch.password_secret_ref is not None:
        env.append(_secret_env("CLICKHOUSE_PASSWORD", ch.password_secret_ref))
    else:
        # The image disables network access for a password-less default user unless told otherwise;
        # the Service is namespace-internal. Set passwordSecretRef to require a password.
        env.append({"name": "CLICKHOUSE_SKIP_USER_SETUP", "value": "1"})
    pvc: Json = {
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": ic.storage_size}}},
    }
    if ic.storage_class_name:
        pvc["spec"]["storageClassName"] = ic.storage_class_name
    container: Json = {
        "name": "clickhouse",
        "image": ic.image or DEFAULT_CLICKHOUSE_IMAGE,
        "imagePullPolicy": spec.images.pull_policy,
        "ports": [
            {"name": "http", "containerPort": 8123, "protocol": "TCP"},
            {"name": "native", "containerPort": 9000, "protocol": "TCP"},
        ],
        "env": env,
        "readinessProbe": {"httpGet": {"path": "/ping", "port": "http"}, "periodSeconds": 5},
        "volumeMounts": [{"name": "data", "mountPath": "/var/lib/clickhouse"}],
        **_resources(ic.resources),
    }
    pod: Json = {"securityContext": {"fsGroup": 101}, "containers": [container]}
    if spec.images.pull_secrets:
        pod["imagePullSecrets"] = [{"name": s} for s in spec.images.pull_secrets]
    statefulset = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": child_metadata(inp, name, "clickhouse"),
        "spec": {
            "serviceName": name,
            "replicas": 1,
            "selector": {"matchLabels": selector_labels(inp, "clickhouse")},
            "template": {
                "metadata": {"labels": child_labels(inp, "clickhouse")},
                "spec": pod,
            },
            # Immutable after creation: a changed storageSize needs the PVC resized by hand.
            "volumeClaimTemplates": [pvc],
        },
    }
    ports = [_port("http", 8123, "http", "http"), _port("native", 9000, "native")]
    return [_service(inp, "clickhouse", ports), statefulset]


# -- status ------------------------------------------------------------------------------------------------
def status(inp: ReconcileInput, desired: Desired, applied: Applied | None) -> Json:
    conds = previous_conditions(inp.status)
    owned: dict[str, Any] = {}
    if desired.suspended:
        why = Failure(SUSPENDED, "spec.suspend is true: children and storage are left as they are")
        conds = suspension(conds, inp, True, why.message)
        conds = with_condition(conds, inp, READY, "Unknown", why)
        return render_status(inp, OTelGuardStatus, conds, owned)
    conds = suspension(conds, inp, False, "")
    config_hash = str(desired.facts.get("configHash", ""))
    conds = reconciled(
        conds, inp, desired, applied, Failure("Applied", f"children applied with config {config_hash[:12]}")
    )
    conds = _storage_condition(conds, inp, desired, applied)
    components = _components(inp)
    conds = _available(conds, inp, components)
    ready = Failure("Reconciled", "children applied and storage schema up to date")
    conds = summarize(conds, inp, [RECONCILED, STORAGE_READY], ready)
    if desired.invalid is None and applied is not None and applied.failure is None:
        owned["configHash"] = config_hash
        if components:  # unobserved: keep the last counts rather than flap
            owned["components"] = components
    if applied is not None and applied.storage is not None and applied.storage.ok:
        owned["schemaVersion"] = applied.storage.schema_version
    return render_status(inp, OTelGuardStatus, conds, owned)


def _storage_condition(
    conds: list[Condition], inp: ReconcileInput, desired: Desired, applied: Applied | None
) -> list[Condition]:
    outcome = applied.storage if applied is not None else None
    if desired.invalid is not None:
        return conds
    if outcome is None:
        # Not run this time: keep the last result (stale for a new generation, so Ready waits for it).
        if any(c.type == STORAGE_READY for c in conds):
            return conds
        return with_condition(
            conds, inp, STORAGE_READY, "Unknown", Failure(PENDING, "schema not applied yet")
        )
    if outcome.ok:
        return with_condition(conds, inp, STORAGE_READY, "True", Failure("SchemaApplied", outcome.message))
    return with_condition(conds, inp, STORAGE_READY, "False", Failure("StorageUnavailable", outcome.message))


def _components(inp: ReconcileInput) -> dict[str, Json]:
    """Replica counts of the observed Deployments (spec replicas as desired, status readyReplicas)."""
    spec = inp.resource_as(OTelGuard).spec
    wanted = {
        "collector": spec.collector.replicas,
        "api": spec.api.replicas,
        "workers": spec.workers.replicas,
    }
    n = names(inp.name)
    out: dict[str, Json] = {}
    for field, replicas in wanted.items():
        observed: Mapping[str, Any] | None = inp.observed.get(
            child_key("Deployment", n["worker" if field == "workers" else field])
        )
        if observed is not None:
            out[field] = {"replicas": replicas, "readyReplicas": int(observed.get("readyReplicas") or 0)}
    return out


def _available(conds: list[Condition], inp: ReconcileInput, components: dict[str, Json]) -> list[Condition]:
    if not components:
        return conds
    short = [f"{k} {v['readyReplicas']}/{v['replicas']}" for k, v in components.items()]
    if all(v["readyReplicas"] >= v["replicas"] for v in components.values()):
        return with_condition(conds, inp, AVAILABLE, "True", Failure("ReplicasReady", ", ".join(short)))
    return with_condition(conds, inp, AVAILABLE, "False", Failure("ReplicasNotReady", ", ".join(short)))
