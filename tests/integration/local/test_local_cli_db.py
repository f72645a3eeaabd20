"""`otelguard apply`, `get` and `delete` against a real Postgres (OTELGUARD_POSTGRES_DSN)."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner, Result

from otelguard.cli import app
from otelguard.storage import postgres
from otelguard.storage.postgres import Database

EXAMPLES = Path(__file__).parents[3] / "examples" / "manifests"


def run(pg_dsn: str, *args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"OTELGUARD_POSTGRES_DSN": pg_dsn})


def test_apply_get_delete(db: Database, pg_dsn: str, tmp_path: Path) -> None:
    applied = run(pg_dsn, "apply", "-f", str(EXAMPLES))
    assert applied.exit_code == 0, applied.output
    assert (
        "prompt.otelguard.io/support-triage created\n  Ready=True Stored: version 1 stored" in applied.stdout
    )
    assert "otelguard.otelguard.io/otelguard created\n  Ready=Unknown Pending: the ClickHouse schema" in (
        applied.stdout
    )
    again = run(pg_dsn, "apply", "-f", str(EXAMPLES))
    assert again.stdout.count(" unchanged\n") == 6

    table = run(pg_dsn, "get", "gpol")
    assert table.exit_code == 0
    assert table.stdout.splitlines()[0].split() == [
        "NAMESPACE",
        "NAME",
        "MODE",
        "PRIORITY",
        "READY",
        "REASON",
        "AGE",
    ]
    assert table.stdout.splitlines()[1].split()[:6] == [
        "otelguard",
        "support-bot-safety",
        "enforce",
        "100",
        "True",
        "Stored",
    ]
    everything = run(pg_dsn, "get", "all", "-n", "otelguard")
    assert (
        everything.stdout.count("NAME ") == 6 and "alertrule.otelguard.io/gpt4o-latency" in everything.stdout
    )

    one = yaml.safe_load(run(pg_dsn, "get", "prompts", "support-triage", "-o", "yaml").stdout)
    assert one["kind"] == "Prompt" and one["metadata"]["generation"] == 1
    assert one["status"]["currentVersion"] == 1
    listed = json.loads(run(pg_dsn, "get", "eval", "-o", "json").stdout)
    assert listed["kind"] == "List" and [i["metadata"]["name"] for i in listed["items"]] == ["helpfulness"]

    missing = run(pg_dsn, "get", "prompt", "nope")
    assert missing.exit_code == 1
    assert 'Error from server (NotFound): prompts.otelguard.io "nope" not found' in missing.stderr
    nothing = run(pg_dsn, "get", "prompts", "-n", "elsewhere")
    assert nothing.exit_code == 0 and "No resources found in elsewhere namespace." in nothing.stderr

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (EXAMPLES / "23-dashboard.yaml")
        .read_text()
        .replace("title: LLM overview", "title: 42\n  colour: red")
    )
    rejected = run(pg_dsn, "apply", "-f", str(bad))
    assert rejected.exit_code == 1
    assert (
        f'Error from server (BadRequest): error when applying "{bad}:2": Dashboard in version "v1alpha1" '
        'cannot be handled as a Dashboard: strict decoding error: unknown field "spec.colour"'
    ) in rejected.stderr
    shown = run(pg_dsn, "get", "dash", "-o", "wide").stdout.splitlines()[1]
    assert "False   InvalidSpec" in shown and "strict decoding error" in shown
    assert postgres.get_resource(db, "Dashboard", "otelguard", "llm-overview") is not None  # rows kept

    deleted = run(pg_dsn, "delete", "-f", str(EXAMPLES / "21-prompt.yaml"))
    assert deleted.exit_code == 0 and 'prompt.otelguard.io "support-triage" deleted' in deleted.stdout
    assert postgres.get_resource(db, "Prompt", "otelguard", "support-triage") is None
    by_name = run(pg_dsn, "delete", "alertrules", "gpt4o-latency", "nope")
    assert by_name.exit_code == 1
    assert 'alertrule.otelguard.io "gpt4o-latency" deleted' in by_name.stdout
    assert 'Error from server (NotFound): alertrule.otelguard.io "nope" not found' in by_name.stderr
    assert [o.kind for o in postgres.list_local_objects(db)] == [
        "Dashboard",
        "Evaluator",
        "GuardrailPolicy",
        "OTelGuard",
    ]
