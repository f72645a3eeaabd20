"""Every command has --help; bad settings are clear errors."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from otelguard.cli import app

COMMANDS = [[], ["up"], ["collector"], ["api"], ["keys"], ["keys", "create"], ["keys", "list"], ["prices"],
            ["prices", "set"], ["prices", "show"], ["crds"], ["version"],
            ["apply"], ["get"], ["delete"], ["operator"]]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "otelguard")
def test_help(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_short_api_key_is_refused() -> None:
    result = CliRunner().invoke(app, ["up"], env={"OTELGUARD_API_KEY": "short"})
    assert result.exit_code != 0
    assert "at least 16 characters" in result.output


def test_collector_requires_shared_stores() -> None:
    env = {"OTELGUARD_CLICKHOUSE_URL": "", "OTELGUARD_POSTGRES_DSN": ""}
    result = CliRunner().invoke(app, ["collector"], env=env)
    assert result.exit_code == 2
    assert "OTELGUARD_CLICKHOUSE_URL" in result.output


def test_operator_needs_a_scope() -> None:
    result = CliRunner().invoke(app, ["operator"])
    assert result.exit_code == 2
    assert "--all-namespaces" in result.output
