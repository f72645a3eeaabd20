"""Prompt controller: content addressing, template checks, label targets, status."""

from __future__ import annotations

from typing import Any

import pytest

from otelguard.controllers import GIT_REVISION_ANNOTATION, Applied, Desired, Failure
from otelguard.controllers.prompt import include_failure
from otelguard.controllers.templates import check_template, include_problems, used_variables
from otelguard.prompts import Included, IncludeRef
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
        "served by the prompts API (GET /api/v1/prompts/support-triage)",
    )


def test_checks_are_the_api_engine_s() -> None:
    """What the API would refuse to render is not Ready: a version number must not start with 0."""
    [problem] = check_template('{% include "prompt:footer@01" %}', [])
    assert (problem.reason, problem.message) == (
        "InvalidInclude",
        "include 'prompt:footer@01': versions start at 1",
    )
    assert used_variables("{{ a }}{% if b %}{{ c.d }}{% endif %}") == {"a", "b", "c"}
    assert used_variables("{% if %}") == set()


# -- includes, resolved through a loader (the apply step passes one reading the prompt store) ------------


def loader(store: dict[tuple[str, str], tuple[int, str | None]]) -> Any:
    """Prompts by (name, label or version) -> (version, text template or None for a chat prompt)."""

    def load(ref: IncludeRef) -> Included | None:
        key = (ref.name, ref.label if ref.label is not None else str(ref.version))
        found = store.get(key)
        return None if found is None else Included(ref.name, found[0], found[1])

    return load


FOOTER = {("footer", "production"): (2, "-- {{ team }}"), ("footer", "2"): (2, "-- {{ team }}")}


def test_includes_that_resolve_are_fine() -> None:
    content = {"template": 'Hi\n{% include "prompt:footer@production" %}{% include "prompt:footer@2" %}'}
    assert include_problems(content, loader(FOOTER), ("summary", 1)) == []
    assert include_failure(content, loader(FOOTER), ("summary", 1)) is None


def test_missing_includes_name_the_part_and_what_is_missing() -> None:
    content = {
        "messages": [
            {"role": "system", "content": "ok"},
            {"role": "user", "content": '{% include "prompt:footer@staging" %}'},
        ]
    }
    failure = include_failure(content, loader(FOOTER), ("triage", 1))
    assert failure == Failure(
        "IncludeNotFound",
        "spec.messages[1].content: prompt:footer@staging: no prompt 'footer' with label 'staging'",
    )
    text = {"template": '{% include "prompt:nowhere@7" %}'}
    [problem] = include_problems(text, loader(FOOTER), ("triage", 1))
    assert problem.message == "spec.template: prompt:nowhere@7: no prompt 'nowhere' with version 7"


def test_include_cycles_are_reported_with_the_chain() -> None:
    store = {
        ("a", "production"): (1, '{% include "prompt:b@production" %}'),
        ("b", "production"): (4, 'B {% include "prompt:a@production" %}'),
    }
    content = {"template": '{% include "prompt:b@production" %}'}
    failure = include_failure(content, loader(store), ("a", 1))
    assert failure is not None and failure.reason == "IncludeCycle"
    assert failure.message == (
        "spec.template: include cycle: prompt:a@1 -> prompt:b@production (version 4) -> "
        "prompt:a@production (version 1)"
    )
    itself = include_failure(
        {"template": '{% include "prompt:a@1" %}'}, loader({("a", "1"): (1, "x")}), ("a", 1)
    )
    assert itself is not None and itself.reason == "IncludeCycle"


def test_a_chat_prompt_cannot_be_included_and_nested_misses_say_where() -> None:
    store = {
        ("chat", "production"): (1, None),
        ("outer", "production"): (3, '{% include "prompt:inner@production" %}'),
    }
    [chat] = include_problems({"template": '{% include "prompt:chat@production" %}'}, loader(store), None)
    assert chat.reason == "InvalidInclude" and "is a chat prompt" in chat.message
    [nested] = include_problems({"template": '{% include "prompt:outer@production" %}'}, loader(store), None)
    assert nested.reason == "IncludeNotFound"
    assert nested.message.startswith("spec.template: prompt:inner@production: no prompt 'inner'")
