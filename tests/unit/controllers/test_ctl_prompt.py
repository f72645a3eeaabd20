"""Prompt controller: content addressing, template checks, label targets, status."""

from __future__ import annotations

from typing import Any

import pytest

from otelguard.controllers import GIT_REVISION_ANNOTATION, Applied, Desired, Failure
from otelguard.controllers.templates import check_template, used_variables
from unit.controllers.ctl_support import edited, manifest, ready, reconcile


def prompt_rows(obj: dict[str, Any]) -> Desired:
    desired, _ = reconcile(obj)
    assert desired.db is not None and desired.db.prompt is not None
    return desired


def test_the_example_plans_a_version_and_label_targets() -> None:
    desired = prompt_rows(manifest("prompt"))
    assert desired.db is not None and desired.db.prompt is not None
    rows = desired.db.prompt
    assert rows.labels == {"production": 3, "staging": None}  # None: "latest"
    assert set(rows.content) == {"messages", "variables", "modelConfig"}
    assert rows.content["variables"][2] == {"name": "language", "default": "English"}  # defaults left out
    assert desired.facts == {"contentHash": rows.content_hash}


def test_content_hash_ignores_labels_tags_and_folder() -> None:
    obj = manifest("prompt")
    base = prompt_rows(obj).db.prompt.content_hash  # type: ignore[union-attr]
    for path, value in [
        ("spec.labels", {"production": 1}),
        ("spec.tags", ["x"]),
        ("spec.folder", "elsewhere"),
        ("spec.description", "new"),
    ]:
        assert prompt_rows(edited(obj, path, value)).db.prompt.content_hash == base  # type: ignore[union-attr]
    changed = edited(obj, "spec.messages.1.content", "Ticket: {{ ticket }}")
    assert prompt_rows(changed).db.prompt.content_hash != base  # type: ignore[union-attr]
    model = edited(obj, "spec.modelConfig.temperature", 0.3)
    assert prompt_rows(model).db.prompt.content_hash != base  # type: ignore[union-attr]


def test_git_revision_annotation_is_recorded() -> None:
    obj = manifest("prompt")
    obj["metadata"]["annotations"] = {GIT_REVISION_ANNOTATION: "3f2a9c1"}
    assert prompt_rows(obj).db.prompt.git_revision == "3f2a9c1"  # type: ignore[union-attr]


def test_undeclared_variable_with_line_and_column() -> None:
    obj = edited(
        manifest("prompt"),
        "spec.messages.0.content",
        "You help with {{ product }}.\nReply in {{ language }} to {{ customer_name }}.",
    )
    desired, status = reconcile(obj)
    assert desired.db is None
    assert ready(status) == (
        "False",
        "UndefinedVariable",
        "spec.messages[0].content: line 2, column 31: variable 'customer_name' is used but not declared "
        "in spec.variables",
    )


def test_syntax_error_with_line() -> None:
    obj = edited(manifest("prompt"), "spec.messages.1.content", "{{ ticket }}\n{% if urgent %}urgent")
    _, status = reconcile(obj)
    state, reason, message = ready(status)
    assert (state, reason) == ("False", "TemplateSyntaxError")
    assert message.startswith("spec.messages[1].content: line 2: Unexpected end of template")


def test_text_templates_are_checked_too() -> None:
    obj = manifest("prompt")
    obj["spec"]["messages"] = []
    obj["spec"]["template"] = "Summarise {{ ticket }} for {{ product }} in {{ language }}: {{ tone }}"
    _, status = reconcile(obj)
    assert ready(status)[1:] == (
        "UndefinedVariable",
        "spec.template: line 1, column 64: variable 'tone' is used but not declared in spec.variables",
    )


@pytest.mark.parametrize(
    ("source", "reason", "fragment"),
    [
        ("{{ ''.__class__ }}", "UnsafeTemplate", "access to '__class__' is not allowed"),
        ("{{ ticket['_secret'] }}", "UnsafeTemplate", "access to '_secret' is not allowed"),
        ('{% include "footer.txt" %}', "InvalidInclude", "must look like prompt:NAME@LABEL"),
    ],
)
def test_unsafe_templates_and_bad_includes(source: str, reason: str, fragment: str) -> None:
    problems = check_template(source, ["ticket"])
    assert [p.reason for p in problems] == [reason]
    assert fragment in problems[0].message


def test_loops_globals_and_includes_are_fine() -> None:
    source = (
        "{% for item in items %}{{ loop.index }}. {{ item }}{% endfor %}{{ range(2) | list }}"
        '{% include "prompt:footer@production" %}{% include "prompt:footer@3" %}'
    )
    assert check_template(source, ["items"]) == []
    assert used_variables(source) == {"items"}


def test_unknown_version_from_the_database_is_not_ready_but_facts_are_reported() -> None:
    applied = Applied(
        version=1,
        labels={"staging": 1},
        failure=Failure("UnknownVersion", "spec.labels: no such version (production -> 3)"),
    )
    _, status = reconcile(manifest("prompt"), applied)
    assert ready(status)[:2] == ("False", "UnknownVersion")
    assert status["currentVersion"] == 1
    assert status["labels"] == {"staging": 1}


def test_ready_message_when_stored() -> None:
    _, status = reconcile(manifest("prompt"), Applied(version=2, labels={"staging": 2, "production": 1}))
    assert ready(status) == (
        "True",
        "Stored",
        "version 2 stored; labels: production=1, staging=2; "
        "not served yet: this OTelGuard release has no prompt API",
    )
