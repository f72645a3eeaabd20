"""`otelguard apply --dry-run` and argument errors: no database needed."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from otelguard.cli import app

EXAMPLES = Path(__file__).parents[3] / "examples" / "manifests"
BAD = """\
apiVersion: otelguard.io/v1alpha1
kind: GuardrailPolicy
metadata: {name: too-high, namespace: team}
spec:
  stages: [input]
  rules: [{name: pii, validator: pii, threshold: 1.5}]
---
apiVersion: otelguard.io/v1alpha1
kind: GuardrailPolicy
metadata: {name: no-such-validator, namespace: team}
spec:
  stages: [input]
  rules: [{name: x, validator: nope}]
"""


def test_dry_run_of_the_examples_is_clean() -> None:
    result = CliRunner().invoke(app, ["apply", "--dry-run", "-f", str(EXAMPLES)])
    assert result.exit_code == 0, result.output
    assert "prompt.otelguard.io/support-triage valid (dry run)" in result.stdout
    assert result.stdout.count("valid (dry run)") == 6
    assert "skipped v1 Namespace otelguard" in result.stderr


def test_dry_run_prints_rejections_like_kubectl_and_fails(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BAD)
    result = CliRunner().invoke(app, ["apply", "--dry-run", "-f", str(path)])
    assert result.exit_code == 1
    assert (
        f'Error from server (Invalid): error when applying "{path}:1": '
        'GuardrailPolicy.otelguard.io "too-high" is invalid: spec.rules[0].threshold: Invalid value: 1.5: '
        "spec.rules[0].threshold in body should be less than or equal to 1"
    ) in result.stderr
    assert (
        "guardrailpolicy.otelguard.io/no-such-validator would not be Ready (dry run): UnknownValidator"
        in result.stderr
    )


def test_apply_needs_objects(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("# nothing\n")
    result = CliRunner().invoke(app, ["apply", "-f", str(tmp_path)])
    assert result.exit_code == 1
    assert "error: no objects passed to apply" in result.stderr
    result = CliRunner().invoke(app, ["apply"])
    assert result.exit_code == 2 and "pass at least one -f" in result.output


def test_syntax_errors_are_reported_with_their_line(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("kind: [\n")
    result = CliRunner().invoke(app, ["apply", "--dry-run", "-f", str(tmp_path)])
    assert result.exit_code == 1
    assert f"error: {tmp_path / 'broken.yaml'}:2:1: YAML syntax error" in result.stderr


def test_unknown_kinds_and_formats_are_refused_before_touching_a_database() -> None:
    result = CliRunner().invoke(app, ["get", "widgets"])
    assert result.exit_code == 1
    assert 'doesn\'t have a resource type "widgets"' in result.stderr
    result = CliRunner().invoke(app, ["get", "prompts", "-o", "xml"])
    assert result.exit_code == 2
    result = CliRunner().invoke(app, ["delete", "prompts"])
    assert result.exit_code == 2
