"""The chart's CRD templates are generated from the models (chartgen) and render to exactly crdgen's CRDs."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from chart_helm import CHART, helm, of_kind, render

from otelguard.api.v1alpha1 import KINDS
from otelguard.api.v1alpha1.chartgen import (
    TEMPLATE_DIR,
    crd_template,
    escape_template,
    main,
    render_chart_crds,
    stale_chart_files,
)
from otelguard.api.v1alpha1.crdgen import crd, render_crds

BY_NAME = {info.crd_name: info for info in KINDS}


def test_committed_chart_crds_are_fresh() -> None:
    assert stale_chart_files(CHART) == [], "run `python -m otelguard.api.v1alpha1.chartgen`"
    assert main(["--chart", str(CHART), "--check"]) == 0
    assert sorted(p.name for p in (CHART / TEMPLATE_DIR).iterdir()) == sorted(render_crds())


def test_check_detects_edits_missing_and_extra_files(tmp_path: Path) -> None:
    chart = tmp_path / "otelguard"
    shutil.copytree(CHART, chart)
    assert stale_chart_files(chart) == []
    first, second = sorted(render_chart_crds())[:2]
    path = chart / TEMPLATE_DIR / first
    path.write_text(path.read_text().replace("maxLength", "maxlength", 1))
    (chart / TEMPLATE_DIR / second).unlink()
    (chart / TEMPLATE_DIR / "otelguard.io_gadgets.yaml").write_text("{}\n")
    assert stale_chart_files(chart) == sorted([first, second, "otelguard.io_gadgets.yaml"])
    assert main(["--chart", str(chart), "--check"]) == 1
    assert main(["--chart", str(chart)]) == 0
    (chart / TEMPLATE_DIR / "otelguard.io_gadgets.yaml").unlink()
    assert stale_chart_files(chart) == []


def test_rendered_crds_equal_crdgen() -> None:
    crds = of_kind(render(), "CustomResourceDefinition")
    assert sorted(c["metadata"]["name"] for c in crds) == sorted(BY_NAME)
    for rendered in crds:
        expected = crd(BY_NAME[rendered["metadata"]["name"]])
        assert rendered["apiVersion"] == expected["apiVersion"]
        assert rendered["spec"] == expected["spec"]
        assert expected["metadata"]["labels"].items() <= rendered["metadata"]["labels"].items()


def test_rendered_crds_equal_the_committed_crds_dir() -> None:
    repo_crds = {}
    for path in (CHART.parents[1] / "crds").glob("*.yaml"):
        doc = yaml.safe_load(path.read_text())
        repo_crds[doc["metadata"]["name"]] = doc["spec"]
    assert {
        c["metadata"]["name"]: c["spec"] for c in of_kind(render(), "CustomResourceDefinition")
    } == repo_crds


def test_template_delimiters_in_the_schema_render_literally(tmp_path: Path) -> None:
    text = 'description: "Use {{ name }} and {{{x}}} or }} {{"\n'
    escaped = escape_template(text)
    assert "{{ name }}" not in escaped
    chart = tmp_path / "esc"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: esc\nversion: 0.1.0\n")
    (chart / "templates" / "cm.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: esc\ndata:\n  " + escaped
    )
    out = helm("template", "esc", str(chart)).stdout
    assert yaml.safe_load(out)["data"]["description"] == "Use {{ name }} and {{{x}}} or }} {{"


def test_every_kind_has_a_guarded_template() -> None:
    for info in KINDS:
        text = crd_template(info)
        assert text.count("{{- if .Values.crds.install }}") == 1
        assert "helm.sh/resource-policy: keep" in text
