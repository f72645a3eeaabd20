"""The prompt API on a real ``otelguard up --manifests DIR``: Prompt YAMLs in a directory are served;
editing one in place makes version 2, a label move follows, and the diff shows the edit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import polling
from platform_process import Platform

pytestmark = [pytest.mark.slow]

PROMPT = """\
apiVersion: otelguard.io/v1alpha1
kind: Prompt
metadata: {{name: triage, namespace: support}}
spec:
  template: "{template}"
  variables: [{{name: ticket, required: true}}]
  modelConfig: {{model: gpt-4o-mini}}
  labels: {{production: {production}, staging: latest}}
  folder: support
"""


def write(path: Path, template: str, production: str) -> None:
    path.write_text(PROMPT.format(template=template, production=production))


eventually = polling.eventually


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Platform, Path]]:
    root = tmp_path_factory.mktemp("prompts-up")
    manifests = root / "manifests"
    manifests.mkdir()
    write(manifests / "triage.yaml", "Triage: {{ ticket }}", "latest")
    platform = Platform(root / "data", manifests=manifests)
    platform.start()
    yield platform, manifests / "triage.yaml"
    platform.close()


def test_edit_in_place_label_move_and_diff(up: tuple[Platform, Path]) -> None:
    platform, path = up
    got = platform.get("/api/v1/prompts/triage")
    assert got.status_code == 200, got.text
    assert (got.json()["version"], got.json()["namespace"]) == (1, "support")
    assert platform.get("/api/v1/prompts", folder="support").json()["items"][0]["name"] == "triage"

    write(path, "Triage this ticket: {{ ticket }}", "1")  # edit; production stays on 1
    eventually(lambda: platform.get("/api/v1/prompts/triage", label="staging").json()["version"] == 2)
    assert platform.get("/api/v1/prompts/triage").json()["version"] == 1

    write(path, "Triage this ticket: {{ ticket }}", "2")  # promote
    eventually(lambda: platform.get("/api/v1/prompts/triage").json()["version"] == 2)
    timeline = platform.get("/api/v1/prompts/triage/versions").json()["items"]
    assert [(v["version"], v["labels"]) for v in timeline] == [(2, ["production", "staging"]), (1, [])]
    diff = platform.get("/api/v1/prompts/triage/diff", **{"from": 1, "to": 2}).json()
    assert "+Triage this ticket: {{ ticket }}" in diff["text"][0]["diff"]
