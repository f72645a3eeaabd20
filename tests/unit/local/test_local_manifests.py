"""Reading manifest files and directories: documents, notes, errors with file:line, duplicates."""

from __future__ import annotations

import base64
from pathlib import Path

from otelguard.local.manifests import load_manifests, manifest_files

EXAMPLES = Path(__file__).parents[3] / "examples" / "manifests"

PROMPT = """\
apiVersion: otelguard.io/v1alpha1
kind: Prompt
metadata:
  name: {name}
  namespace: {namespace}
spec:
  template: "Hello {{{{ who }}}}"
  variables: [{{name: who}}]
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_examples_load_with_notes_for_core_kinds() -> None:
    loaded = load_manifests([EXAMPLES])
    assert loaded.errors == []
    assert [m.kind for m in loaded.manifests] == [
        "OTelGuard", "GuardrailPolicy", "Prompt", "Evaluator", "Dashboard", "AlertRule"
    ]  # fmt: skip
    assert {m.namespace for m in loaded.manifests} == {"otelguard"}
    assert str(loaded.manifests[2].origin).endswith("21-prompt.yaml:2")  # after the leading comment
    namespace_note, secrets_note = loaded.notes
    assert "skipped v1 Namespace otelguard" in namespace_note
    assert "otelguard/openai" in secrets_note and "never stored" in secrets_note
    assert "sk-change-me" not in " ".join(loaded.notes)
    assert loaded.secret_value("otelguard", "openai", "api-key") == "sk-change-me"
    assert loaded.secret_value("otelguard", "openai", "nope") is None
    assert "sk-change-me" not in repr(loaded)


def test_multi_document_files_lists_and_default_namespace(tmp_path: Path) -> None:
    text = (
        PROMPT.format(name="a", namespace="team")
        + "---\n# only a comment\n---\n"
        + "\n".join(
            [
                "apiVersion: v1",
                "kind: List",
                "items:",
                "  - apiVersion: otelguard.io/v1alpha1",
                "    kind: Prompt",
                "    metadata: {name: b}",
                "    spec: {template: hi}",
                "  - apiVersion: v1",
                "    kind: Secret",
                "    metadata: {name: s, namespace: team}",
                f"    data: {{key: {base64.b64encode(b'decoded').decode()}}}",
            ]
        )
    )
    write(tmp_path / "all.yaml", text)
    loaded = load_manifests([tmp_path], default_namespace="dev")
    assert loaded.errors == []
    assert [(m.namespace, m.name, m.origin.line) for m in loaded.manifests] == [
        ("team", "a", 1),
        ("dev", "b", 15),
    ]
    assert loaded.manifests[1].body["metadata"]["namespace"] == "dev"
    assert loaded.secret_value("team", "s", "key") == "decoded"


def test_a_syntax_error_names_file_line_and_column_and_drops_the_whole_file(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.yaml", PROMPT.format(name="ok", namespace="n") + "---\nkind: [unclosed\n")
    write(tmp_path / "good.yml", PROMPT.format(name="good", namespace="n"))
    loaded = load_manifests([tmp_path])
    assert [m.name for m in loaded.manifests] == ["good"]  # not "ok": half a file is no file
    (error,) = loaded.errors
    assert str(error).startswith(f"{bad}:11:")
    assert "YAML syntax error" in error.message and "nothing in this file was read" in error.message


def test_object_errors_carry_their_line(tmp_path: Path) -> None:
    docs = [
        "- just a list",
        "metadata: {name: x}",
        "apiVersion: otelguard.io/v1alpha1\nkind: Widget\nmetadata: {name: w}",
        "apiVersion: otelguard.io/v1beta1\nkind: Prompt\nmetadata: {name: w}",
        "apiVersion: otelguard.io/v1alpha1\nkind: Prompt\nmetadata: {namespace: n}",
        "apiVersion: otelguard.io/v1alpha1\nkind: Prompt\nmetadata: {name: p, namespace: Not_Valid}",
    ]
    path = write(tmp_path / "x.yaml", "\n---\n".join(docs) + "\n")
    loaded = load_manifests([path])
    assert loaded.manifests == []
    messages = [str(e) for e in loaded.errors]
    assert messages == [
        f"{path}:1: expected a Kubernetes object (a mapping), got a list",
        f"{path}:3: error validating data: [apiVersion not set, kind not set]",
        f'{path}:5: no matches for kind "Widget" in version "otelguard.io/v1alpha1"; otelguard.io serves '
        "v1alpha1 OTelGuard, GuardrailPolicy, Prompt, Evaluator, Dashboard, AlertRule",
        f'{path}:9: no matches for kind "Prompt" in version "otelguard.io/v1beta1"; otelguard.io serves '
        "v1alpha1 OTelGuard, GuardrailPolicy, Prompt, Evaluator, Dashboard, AlertRule",
        f"{path}:13: Prompt: metadata.name: Required value (apply needs a name)",
        f"{path}:17: Prompt p: metadata.namespace: Invalid value: 'Not_Valid': a namespace is a lowercase "
        "RFC 1123 label",
    ]


def test_duplicates_keep_the_first_and_report_the_others(tmp_path: Path) -> None:
    first = write(tmp_path / "a.yaml", PROMPT.format(name="p", namespace="n"))
    second = write(
        tmp_path / "b.yaml",
        PROMPT.format(name="p", namespace="n") + "---\n" + PROMPT.format(name="p", namespace="other"),
    )
    loaded = load_manifests([tmp_path])
    assert [(str(m.origin), m.namespace) for m in loaded.manifests] == [
        (f"{first}:1", "n"),
        (f"{second}:10", "other"),
    ]
    assert [str(e) for e in loaded.errors] == [
        f"{second}:1: duplicate Prompt n/p: already defined at {first}:1; this one is ignored"
    ]


def test_the_same_file_given_twice_is_read_once(tmp_path: Path) -> None:
    path = write(tmp_path / "p.yaml", PROMPT.format(name="p", namespace="n"))
    loaded = load_manifests([tmp_path, path])
    assert (len(loaded.manifests), loaded.errors) == (1, [])


def test_files_hidden_lock_and_other_suffixes_are_ignored_subdirectories_only_recursively(
    tmp_path: Path,
) -> None:
    for name in (
        "a.yaml",
        "b.json",
        "c.yml",
        ".hidden.yaml",
        "#lock.yaml",
        "notes.txt",
        "sub/d.yaml",
        ".git/e.yaml",
    ):
        write(tmp_path / name, "{}")
    assert [p.name for p in manifest_files(tmp_path)] == ["a.yaml", "b.json", "c.yml"]
    assert [p.name for p in manifest_files(tmp_path, recursive=True)] == [
        "a.yaml",
        "b.json",
        "c.yml",
        "d.yaml",
    ]


def test_a_missing_path_is_an_error_not_an_exception(tmp_path: Path) -> None:
    loaded = load_manifests([tmp_path / "nope"])
    assert [str(e) for e in loaded.errors] == [
        f"{tmp_path / 'nope'}: the path '{tmp_path / 'nope'}' does not exist"
    ]


def test_other_kinds_are_noted_per_file(tmp_path: Path) -> None:
    path = write(
        tmp_path / "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n",
    )
    loaded = load_manifests([path])
    skipped = "skipped v1 ConfigMap c, apps/v1 Deployment d"
    assert loaded.notes == [f"{path}: {skipped} (local mode reconciles otelguard.io kinds only)"]
