"""The ``otelguard`` command."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from otelguard import __version__
from otelguard.settings import Settings, SettingsError

if TYPE_CHECKING:
    from otelguard.api.v1alpha1 import KindInfo
    from otelguard.storage.postgres import Database

app = typer.Typer(
    help="OTelGuard: LLM observability and guardrails, configured as Kubernetes resources.",
    no_args_is_help=True,
    add_completion=False,
)
keys_app = typer.Typer(help="Manage API keys (stored hashed in Postgres).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
prices_app = typer.Typer(
    help="Per-project model price overrides (tried before the built-in table).", no_args_is_help=True
)
app.add_typer(prices_app, name="prices")

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Where embedded stores and the spool live [env OTELGUARD_DATA_DIR; ./.otelguard]"
    ),
]
Host = Annotated[str, typer.Option("--host", help="Address to bind every listener to.")]


def _settings(data_dir: Path | None) -> Settings:
    try:
        return Settings.from_env(data_dir=data_dir)
    except SettingsError as exc:
        raise typer.BadParameter(str(exc)) from None


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request's full URL at INFO: a webhook URL held in a Secret must not reach the log.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def _run(
    settings: Settings,
    host: str,
    api_port: int,
    http_port: int,
    grpc_port: int,
    *,
    api: bool,
    collector: bool,
    manifests: Path | None = None,
    eval_workers: int = 0,
    secrets: Callable[[str, str, str], str | None] | None = None,
) -> None:
    from otelguard.local.runtime import Ports, serve

    if api or collector:  # a bad webhook setting (OTELGUARD_WEBHOOK_ALLOW_NETWORKS): a clear startup error
        from otelguard.webui.guard_service import GuardConfig

        try:
            GuardConfig.from_env(local=api and collector)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
    _logging()
    ports = Ports(host=host, api=api_port, otlp_http=http_port, otlp_grpc=grpc_port)
    try:
        asyncio.run(
            serve(
                settings,
                ports,
                api=api,
                collector=collector,
                manifests=manifests,
                eval_workers=eval_workers,
                secrets=secrets,
            )
        )
    except OSError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command()
def up(
    data_dir: DataDir = None,
    host: Host = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="API and web UI port.")] = 8080,
    otlp_http_port: Annotated[int, typer.Option("--otlp-http-port", help="OTLP/HTTP port.")] = 4318,
    otlp_grpc_port: Annotated[int, typer.Option("--otlp-grpc-port", help="OTLP/gRPC port.")] = 4317,
    manifests: Annotated[
        Path | None,
        typer.Option(
            "--manifests",
            exists=True,
            help="Reconcile this directory (or file) of otelguard.io manifests at start, then watch it: "
            "changes are applied, removed manifests pruned (local GitOps mode).",
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option("--workers", min=0, max=32, help="Eval worker processes (0: spans are not evaluated)."),
    ] = 1,
) -> None:
    """Run the whole platform in one process on embedded stores (chDB, Postgres, Redis)."""
    settings = _settings(data_dir)
    _run(
        settings,
        host,
        port,
        otlp_http_port,
        otlp_grpc_port,
        api=True,
        collector=True,
        manifests=manifests,
        eval_workers=workers,
    )


def _require_external(settings: Settings, what: str) -> None:
    missing = [
        name
        for name, value in (
            ("OTELGUARD_CLICKHOUSE_URL", settings.clickhouse_url),
            ("OTELGUARD_POSTGRES_DSN", settings.postgres_dsn),
        )
        if value is None
    ]
    if missing:
        typer.echo(
            f"error: `otelguard {what}` runs against shared stores; set {' and '.join(missing)} "
            "(or use `otelguard up` for everything in one process on embedded stores)",
            err=True,
        )
        raise typer.Exit(2)


@app.command()
def collector(
    host: Host = "0.0.0.0",
    otlp_http_port: Annotated[int, typer.Option("--otlp-http-port", help="OTLP/HTTP port.")] = 4318,
    otlp_grpc_port: Annotated[int, typer.Option("--otlp-grpc-port", help="OTLP/gRPC port.")] = 4317,
    data_dir: DataDir = None,
) -> None:
    """Run only the OTLP collector (production: ClickHouse and Postgres from the environment)."""
    settings = _settings(data_dir)
    _require_external(settings, "collector")
    _run(
        settings,
        host,
        0,
        otlp_http_port,
        otlp_grpc_port,
        api=False,
        collector=True,
        secrets=_cluster_secrets(),
    )


@app.command()
def api(
    host: Host = "0.0.0.0",
    port: Annotated[int, typer.Option("--port", help="API and web UI port.")] = 8080,
) -> None:
    """Run only the API and web UI (production: ClickHouse and Postgres from the environment)."""
    settings = _settings(None)
    _require_external(settings, "api")
    _run(settings, host, port, 0, 0, api=True, collector=False, secrets=_cluster_secrets())


_SA_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")


def _cluster_secrets() -> Callable[[str, str, str], str | None] | None:
    """Secrets read through the Kubernetes API, for a process in a pod that has a ServiceAccount token.
    The operator's pods have none (``spec.secrets`` reach them as variables), so this is for hand-made
    deployments; without a token it is None rather than a start-up failure."""
    if not (os.environ.get("KUBERNETES_SERVICE_HOST") and _SA_TOKEN.exists()):
        return None
    from otelguard.operator.kube import KubeApi

    return KubeApi().read_secret


@contextlib.contextmanager
def _postgres(data_dir: Path | None) -> Iterator[Database]:
    """The configured Postgres, or the embedded one (left running when `otelguard up` owns it)."""
    from otelguard.local.stores import open_postgres

    with open_postgres(_settings(data_dir)) as db:
        yield db


@keys_app.command("create")
def keys_create(
    project: Annotated[str, typer.Option("--project", help="Project name; created if missing.")] = "default",
    note: Annotated[str, typer.Option("--note", help="A note to recognise the key by.")] = "",
    data_dir: DataDir = None,
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    from otelguard.storage import postgres

    with _postgres(data_dir) as db:
        project_row = postgres.ensure_project(db, project)
        issued = postgres.create_api_key(db, project_row.id, note=note)
    typer.echo(f"project:    {project}")
    typer.echo(f"public key: {issued.public_key}")
    typer.echo(f"secret key: {issued.secret}")
    typer.echo("Keep the secret key now: it is stored only as a hash and cannot be shown again.")


@keys_app.command("list")
def keys_list(
    project: Annotated[str, typer.Option("--project", help="Project name.")] = "default",
    data_dir: DataDir = None,
) -> None:
    """List a project's keys (public key, prefix of the secret, note, status)."""
    from otelguard.storage import postgres

    with _postgres(data_dir) as db:
        row = postgres.get_project(db, project)
        if row is None:
            typer.echo(f"error: no project named {project!r}", err=True)
            raise typer.Exit(1)
        for key in postgres.list_api_keys(db, row.id):
            revoked = "  revoked" if key.revoked_at else ""
            typer.echo(f"{key.public_key}  {key.secret_prefix}…  {key.note}{revoked}")


@prices_app.command("set")
def prices_set(
    file: Annotated[Path, typer.Option("--file", "-f", help="YAML: a list of entries, or {models: [...]}.")],
    project: Annotated[str, typer.Option("--project", help="Project name.")] = "default",
    data_dir: DataDir = None,
) -> None:
    """Replace a project's price overrides; entries use the shape of the built-in prices.yaml."""
    import yaml

    from otelguard.semconv import PriceTable
    from otelguard.storage import postgres

    try:
        doc = yaml.safe_load(file.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise typer.BadParameter(f"cannot read {file}: {exc}") from None
    entries = doc.get("models") if isinstance(doc, dict) else doc
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise typer.BadParameter(f"{file}: expected a list of price entries or a mapping with 'models'")
    try:
        PriceTable.from_entries(entries, source=str(file))
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    with _postgres(data_dir) as db:
        row = postgres.get_project(db, project)
        if row is None:
            typer.echo(f"error: no project named {project!r}", err=True)
            raise typer.Exit(1)
        postgres.set_price_overrides(db, row.id, entries)
    typer.echo(
        f"{len(entries)} price override(s) set for project {project!r}; collectors pick them up within 30 s"
    )


@prices_app.command("show")
def prices_show(
    project: Annotated[str, typer.Option("--project", help="Project name.")] = "default",
    data_dir: DataDir = None,
) -> None:
    """Print a project's price overrides as YAML."""
    import yaml

    from otelguard.storage import postgres

    with _postgres(data_dir) as db:
        row = postgres.get_project(db, project)
        if row is None:
            typer.echo(f"error: no project named {project!r}", err=True)
            raise typer.Exit(1)
        entries = postgres.get_price_overrides(db, row.id)
    typer.echo(yaml.safe_dump({"models": entries}, sort_keys=False).rstrip())


# -- local GitOps mode: apply / get / delete (objects in Postgres, see otelguard.local.gitops) ---------------
Filenames = Annotated[
    list[Path] | None,
    typer.Option("--filename", "-f", help="A manifest file or a directory of them (repeatable)."),
]
Recursive = Annotated[
    bool, typer.Option("--recursive", "-R", help="Also read the subdirectories of -f directories.")
]


def _server_error(origin: str, message: str) -> str:
    # kubectl's wording; strict decoding (unknown fields) is a BadRequest, the rest Invalid.
    kind = "BadRequest" if "strict decoding error" in message else "Invalid"
    return f'Error from server ({kind}): error when applying "{origin}": {message}'


@app.command("apply")
def apply_manifests(
    filename: Filenames = None,
    recursive: Recursive = False,
    namespace: Annotated[
        str, typer.Option("--namespace", "-n", help="Namespace of objects that name none.")
    ] = "default",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only validate (schema, CEL, controller checks); store nothing.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Validate and reconcile otelguard.io manifests with the operator's controllers, without a cluster.

    Objects, their status and configuration rows go to the embedded Postgres (shared with a running
    `otelguard up`). The OTelGuard kind's ClickHouse step runs in `otelguard up`.
    """
    from otelguard.local import gitops
    from otelguard.local.manifests import load_manifests

    if not filename:
        raise typer.BadParameter("pass at least one -f FILE|DIR", param_hint="'--filename' / '-f'")
    loaded = load_manifests(filename, default_namespace=namespace, recursive=recursive)
    for note in loaded.notes:
        typer.echo(f"note: {note}", err=True)
    for error in loaded.errors:
        typer.echo(f"error: {error}", err=True)
    failed = bool(loaded.errors)
    if not loaded.manifests:
        if not loaded.errors:
            typer.echo("error: no objects passed to apply", err=True)
        raise typer.Exit(1)
    if dry_run:
        for manifest in loaded.manifests:
            verdict = gitops.dry_run(manifest)
            ref = f"{manifest.kind.lower()}.otelguard.io/{manifest.name}"
            if verdict.rejected is not None:
                typer.echo(_server_error(str(manifest.origin), verdict.rejected), err=True)
            elif verdict.failure is not None:
                typer.echo(f"{ref} would not be Ready (dry run): {verdict.failure}", err=True)
            else:
                typer.echo(f"{ref} valid (dry run)")
            failed = failed or not verdict.ok
        raise typer.Exit(int(failed))
    with _postgres(data_dir) as db:
        reconciler = gitops.Reconciler(db)
        for manifest in loaded.manifests:
            result = reconciler.apply(manifest, source=gitops.APPLY_SOURCE)
            if result.rejected is not None:
                typer.echo(_server_error(result.origin, result.rejected), err=True)
                typer.echo(
                    f"  stored with Ready=False: otelguard get {manifest.kind} {manifest.name}", err=True
                )
                failed = True
                continue
            typer.echo(f"{result.ref} {result.action}")
            typer.echo(f"  {result.ready_text}")
    raise typer.Exit(int(failed))


def _kinds(kind: str) -> list[KindInfo]:
    from otelguard.api.v1alpha1 import KINDS, UnknownKind, kind_info

    if kind.lower() == "all":
        return list(KINDS)
    try:
        return [kind_info(kind)]
    except UnknownKind as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


@app.command("get")
def get_objects(
    kind: Annotated[str, typer.Argument(help="Kind, plural, singular or short name (e.g. gpol), or 'all'.")],
    name: Annotated[str | None, typer.Argument(help="Only this object.")] = None,
    namespace: Annotated[
        str | None, typer.Option("--namespace", "-n", help="Only this namespace (default: all namespaces).")
    ] = None,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="yaml, json or wide (default: a table).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Show objects of the local GitOps mode with their Ready condition, like `kubectl get`."""
    from otelguard.local.printing import dump, object_view, table
    from otelguard.storage import postgres

    if output not in (None, "yaml", "json", "wide"):
        raise typer.BadParameter(f"unknown output format {output!r} (yaml, json or wide)")
    infos = _kinds(kind)
    with _postgres(data_dir) as db:
        found = [
            (
                info,
                [o for o in postgres.list_local_objects(db, info.kind, namespace) if name in (None, o.name)],
            )
            for info in infos
        ]
    found = [(info, objs) for info, objs in found if objs]
    if not found:
        if name is not None:
            typer.echo(f'Error from server (NotFound): {infos[0].crd_name} "{name}" not found', err=True)
            raise typer.Exit(1)
        where = f" in {namespace} namespace" if namespace else ""
        typer.echo(f"No resources found{where}.", err=True)
        return
    if output in ("yaml", "json"):
        items = [object_view(o) for _, objs in found for o in objs]
        single = name is not None and len(items) == 1
        list_doc = {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}
        typer.echo(dump(items[0] if single else list_doc, output))
        return
    tables = [
        table(info, objs, wide=output == "wide", namespaces=namespace is None, qualified=len(infos) > 1)
        for info, objs in found
    ]
    typer.echo("\n\n".join(tables))


@app.command("delete")
def delete_objects(
    args: Annotated[list[str] | None, typer.Argument(help="KIND NAME [NAME...], or none with -f.")] = None,
    filename: Filenames = None,
    recursive: Recursive = False,
    namespace: Annotated[
        str | None,
        typer.Option("--namespace", "-n", help="Namespace (with -f: default; by name: any, if unique)"),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Delete objects of the local GitOps mode and their configuration rows (what the finalizer does)."""
    from otelguard.local.gitops import Reconciler
    from otelguard.local.manifests import load_manifests
    from otelguard.storage import postgres

    keys: list[tuple[str, str | None, str]] = []
    failed = False
    if filename:
        if args:
            raise typer.BadParameter("pass either -f or KIND NAME, not both")
        loaded = load_manifests(filename, default_namespace=namespace or "default", recursive=recursive)
        for error in loaded.errors:
            typer.echo(f"error: {error}", err=True)
        failed = bool(loaded.errors)
        keys = [(m.kind, m.namespace, m.name) for m in loaded.manifests]
    elif args and len(args) >= 2:
        info = _kinds(args[0])
        if len(info) != 1:
            raise typer.BadParameter("name one kind to delete by name")
        keys = [(info[0].kind, namespace, n) for n in args[1:]]
    else:
        raise typer.BadParameter("pass KIND NAME [NAME...] or -f FILE|DIR")
    with _postgres(data_dir) as db:
        reconciler = Reconciler(db)
        for kind, ns, name in keys:
            crd = f"{kind.lower()}.otelguard.io"
            matches = [o for o in postgres.list_local_objects(db, kind, ns) if o.name == name]
            if len(matches) > 1:
                where = ", ".join(o.namespace for o in matches)
                typer.echo(f'error: {crd} "{name}" exists in namespaces {where}: pass -n', err=True)
            if len(matches) != 1:
                if not matches:
                    typer.echo(f'Error from server (NotFound): {crd} "{name}" not found', err=True)
                failed = True
                continue
            result = reconciler.delete(kind, matches[0].namespace, name)
            if result is None:  # deleted meanwhile
                continue
            typer.echo(f'{crd} "{name}" deleted')
            if result.source not in ("", "apply"):
                typer.echo(
                    f"note: its manifest is in {result.source}; a running `otelguard up --manifests` "
                    "recreates it unless the file is removed",
                    err=True,
                )
    raise typer.Exit(int(failed))


@app.command()
def crds(
    output: Annotated[Path, typer.Option("--output", help="Directory to write the CRD YAML into.")] = Path(
        "crds"
    ),
    chart: Annotated[
        Path | None,
        typer.Option("--chart", help="Also write the Helm chart's CRD templates (charts/otelguard)."),
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 when any generated file is stale.")
    ] = False,
) -> None:
    """Generate the CustomResourceDefinitions from the pydantic models (otelguard.api.v1alpha1)."""
    from otelguard.api.v1alpha1 import chartgen, crdgen

    flag = ["--check"] if check else []
    code = crdgen.main(["--output", str(output), *flag])
    if chart is not None:
        code = chartgen.main(["--chart", str(chart), *flag]) or code
    if code:
        raise typer.Exit(code)


@app.command()
def operator(
    namespace: Annotated[
        list[str] | None, typer.Option("--namespace", "-n", help="Watch this namespace (repeatable).")
    ] = None,
    all_namespaces: Annotated[
        bool, typer.Option("--all-namespaces", "-A", help="Watch every namespace.")
    ] = False,
    liveness: Annotated[
        str | None, typer.Option("--liveness", help="Liveness endpoint, e.g. http://0.0.0.0:8080/healthz")
    ] = None,
    metrics_port: Annotated[
        int, typer.Option("--metrics-port", help="Prometheus /metrics port (0: off).")
    ] = 9090,
    log_level: Annotated[str, typer.Option("--log-level", help="debug, info, warning or error.")] = "info",
    data_dir: DataDir = None,
) -> None:
    """Run the Kubernetes operator that reconciles otelguard.io resources (kopf)."""
    from otelguard.operator.main import run

    if bool(namespace) == all_namespaces:
        raise typer.BadParameter("pass --all-namespaces or at least one --namespace")
    if log_level.lower() not in ("debug", "info", "warning", "error"):
        raise typer.BadParameter(f"unknown log level {log_level!r}")
    run(
        namespaces=namespace or [],
        clusterwide=all_namespaces,
        liveness=liveness,
        metrics_port=metrics_port or None,
        data_dir=_settings(data_dir).data_dir,
        log_level=log_level,
    )


@app.command()
def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency", min=1, max=256, help="Tasks in parallel [env OTELGUARD_WORKER_CONCURRENCY; 4]."
        ),
    ] = None,
    pool: Annotated[
        str,
        typer.Option("--pool", help="threads (judges: I/O-bound), prefork or solo (heuristics: CPU-bound)."),
    ] = "threads",
    manifests: Annotated[
        Path | None,
        typer.Option(
            "--manifests", exists=True, help="Resolve judge API-key Secrets from this manifest directory."
        ),
    ] = None,
) -> None:
    """Run an eval worker: scores sampled spans for Evaluators (Celery on OTELGUARD_REDIS_URL)."""
    import os

    from otelguard.evals.worker import chain_resolvers, env_secret_resolver, run_worker

    if pool not in ("threads", "prefork", "solo"):
        raise typer.BadParameter(f"unknown pool {pool!r}: threads, prefork or solo")
    settings = _settings(None)
    if settings.redis_url is None:
        typer.echo("error: `otelguard worker` needs OTELGUARD_REDIS_URL (the eval queue's Redis)", err=True)
        raise typer.Exit(2)
    resolvers = [env_secret_resolver()]
    if manifests is not None:
        from otelguard.local.manifests import load_manifests

        # Re-read on each lookup: an evaluator is built once per version, and a Secret may be added later.
        resolvers.append(lambda ns, name, key: load_manifests([manifests]).secret_value(ns, name, key))
    elif (cluster := _cluster_secrets()) is not None:
        resolvers.append(cluster)
    _logging()
    env_concurrency = os.environ.get("OTELGUARD_WORKER_CONCURRENCY", "4")
    run_worker(
        settings.redis_url,
        chain_resolvers(*resolvers),
        concurrency=concurrency or int(env_concurrency),
        pool=pool,
    )


@app.command()
def version() -> None:
    """Print the OTelGuard version."""
    typer.echo(__version__)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
