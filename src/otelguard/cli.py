"""The ``otelguard`` command."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from otelguard import __version__
from otelguard.settings import Settings, SettingsError

if TYPE_CHECKING:
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


def _run(
    settings: Settings,
    host: str,
    api_port: int,
    http_port: int,
    grpc_port: int,
    *,
    api: bool,
    collector: bool,
) -> None:
    from otelguard.local.runtime import Ports, serve

    _logging()
    ports = Ports(host=host, api=api_port, otlp_http=http_port, otlp_grpc=grpc_port)
    try:
        asyncio.run(serve(settings, ports, api=api, collector=collector))
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
) -> None:
    """Run the whole platform in one process on embedded stores (chDB, Postgres, Redis)."""
    _run(_settings(data_dir), host, port, otlp_http_port, otlp_grpc_port, api=True, collector=True)


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
    _run(settings, host, 0, otlp_http_port, otlp_grpc_port, api=False, collector=True)


@app.command()
def api(
    host: Host = "0.0.0.0",
    port: Annotated[int, typer.Option("--port", help="API and web UI port.")] = 8080,
) -> None:
    """Run only the API and web UI (production: ClickHouse and Postgres from the environment)."""
    settings = _settings(None)
    _require_external(settings, "api")
    _run(settings, host, port, 0, 0, api=True, collector=False)


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
def version() -> None:
    """Print the OTelGuard version."""
    typer.echo(__version__)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
