"""The prompt template engine: variables, conditionals, loops, chat, includes and cycles, the sandbox,
output bounds, bad input."""

from __future__ import annotations

import pytest

from otelguard.prompts import (
    IncludeCycle,
    Included,
    IncludeNotFound,
    IncludeRef,
    InvalidInclude,
    Limits,
    Message,
    MissingVariables,
    OutputTooLarge,
    PromptSource,
    PromptTemplateError,
    SandboxViolation,
    TemplateEngine,
    TemplateSyntax,
    TemplateTooLarge,
    UndefinedValue,
    Variable,
    check_template,
    decode_template,
    diff_versions,
    extract_variables,
)

ENGINE = TemplateEngine()


def text(template: str, variables: dict[str, object] | None = None, **kw: object) -> str:
    rendered = ENGINE.render(PromptSource(template=template), variables or {}, **kw)  # type: ignore[arg-type]
    assert rendered.text is not None
    return rendered.text


def test_variables_conditionals_loops() -> None:
    source = (
        "Hello {{ user.name }}!\n"
        "{% if vip %}You are VIP.{% else %}Welcome.{% endif %}\n"
        "{% for item in items %}- {{ loop.index }}. {{ item | upper }}\n{% endfor %}"
    )
    out = text(source, {"user": {"name": "Ada"}, "vip": True, "items": ["a", "b"]})
    assert out == "Hello Ada!\nYou are VIP.\n- 1. A\n- 2. B\n"


def test_defaults_and_required() -> None:
    prompt = PromptSource(
        template="{{ greeting }}, {{ name }}",
        variables=(Variable("greeting", default="Hi"), Variable("name", required=True)),
    )
    assert ENGINE.render(prompt, {"name": "Bo"}).text == "Hi, Bo"
    with pytest.raises(MissingVariables) as err:
        ENGINE.render(prompt, {})
    assert err.value.names == ["name"]


def test_missing_variables_are_all_listed_with_line_and_column() -> None:
    with pytest.raises(MissingVariables) as err:
        text("intro\n  {{ first }} and {{ second }}", {})
    assert err.value.names == ["first", "second"]
    assert (err.value.line, err.value.column) == (2, 6)
    assert "line 2, column 6" in str(err.value)


def test_variable_only_used_in_untaken_branch_is_not_required() -> None:
    assert text("{% if premium %}{{ discount }}{% endif %}ok", {"premium": False}) == "ok"
    assert text("{{ x if x is defined else 'none' }}") == "none"


def test_undefined_attribute_is_a_clear_error() -> None:
    with pytest.raises(UndefinedValue, match="no attribute 'y'"):
        text("{{ x.y }}", {"x": {}})


def test_chat_prompt_each_message_templated() -> None:
    prompt = PromptSource(
        messages=(Message("system", "You help with {{ topic }}."), Message("user", "{{ question }}")),
    )
    rendered = ENGINE.render(prompt, {"topic": "billing", "question": "Why?"})
    assert rendered.kind == "chat"
    assert rendered.messages == [
        {"role": "system", "content": "You help with billing."},
        {"role": "user", "content": "Why?"},
    ]


def test_error_in_second_message_names_it() -> None:
    prompt = PromptSource(messages=(Message("system", "ok"), Message("user", "{{ 1 / 0 }}")))
    with pytest.raises(PromptTemplateError) as err:
        ENGINE.render(prompt, {})
    assert err.value.where == "messages[1]"
    assert "ZeroDivisionError" in str(err.value)


def test_from_content_reads_the_stored_form() -> None:
    content = {
        "messages": [{"role": "system", "content": "Hi {{ n }}"}],
        "variables": [{"name": "n", "default": "x"}],
        "modelConfig": {"model": "gpt-4o-mini", "temperature": 0.2},
    }
    source = PromptSource.from_content(content)
    assert source.kind == "chat"
    assert ENGINE.render(source, {}).messages == [{"role": "system", "content": "Hi x"}]


def test_extract_variables_in_order_of_use() -> None:
    source = "{% for x in items %}{{ x }}{{ sep }}{% endfor %}{% set local = 1 %}{{ local }}{{ tail }}"
    assert extract_variables(source) == ["items", "sep", "tail"]


# -- includes -------------------------------------------------------------------------------------------

PROMPTS = {
    ("footer", "production"): Included("footer", 2, "-- {{ team }}"),
    ("footer", 1): Included("footer", 1, "-- old footer"),
    ("footer", 2): Included("footer", 2, "-- {{ team }}"),
    ("a", "production"): Included("a", 1, 'A {% include "prompt:b@production" %}'),
    ("b", "production"): Included("b", 4, 'B {% include "prompt:a@production" %}'),
    ("self", 3): Included("self", 3, 'me {% include "prompt:self@3" %}'),
    ("chat", "production"): Included("chat", 1, None),
}


def loader(ref: IncludeRef) -> Included | None:
    return PROMPTS.get((ref.name, ref.label if ref.label is not None else ref.version))  # type: ignore[arg-type]


def test_include_by_label_and_version() -> None:
    source = 'Body\n{% include "prompt:footer@production" %}\n{% include "prompt:footer@1" %}'
    rendered = ENGINE.render(PromptSource(template=source), {"team": "support"}, loader=loader)
    assert rendered.text == "Body\n-- support\n-- old footer"
    assert rendered.includes == {"prompt:footer@production": 2, "prompt:footer@1": 1}


def test_include_cycle_is_detected() -> None:
    with pytest.raises(IncludeCycle) as err:
        text('{% include "prompt:a@production" %}', loader=loader)
    assert "prompt:a@production (version 1)" in str(err.value)
    assert err.value.chain[-1] == "prompt:a@production (version 1)"


def test_self_include_of_the_rendered_version_is_a_cycle() -> None:
    with pytest.raises(IncludeCycle):
        ENGINE.render(
            PromptSource(template='{% include "prompt:self@3" %}'), {}, loader=loader, root=("self", 3)
        )


def test_include_not_found_and_bad_refs() -> None:
    with pytest.raises(IncludeNotFound, match="no prompt 'footer' with label 'staging'"):
        text('{% include "prompt:footer@staging" %}', loader=loader)
    with pytest.raises(IncludeNotFound, match="version 9"):
        text('{% include "prompt:footer@9" %}', loader=loader)
    with pytest.raises(InvalidInclude, match="must look like"):
        text('{% include "/etc/passwd" %}', loader=loader)
    with pytest.raises(InvalidInclude, match="constant"):
        text("{% include name %}", {"name": "prompt:footer@1"}, loader=loader)
    with pytest.raises(InvalidInclude, match="chat prompt"):
        text('{% include "prompt:chat@production" %}', loader=loader)
    with pytest.raises(IncludeNotFound, match="not available"):
        text('{% include "prompt:footer@1" %}')


def test_include_depth_bound() -> None:
    deep = {i: Included(f"p{i}", 1, f'{{% include "prompt:p{i + 1}@1" %}}') for i in range(20)}

    def chain(ref: IncludeRef) -> Included | None:
        return deep.get(int(ref.name[1:]))

    with pytest.raises(InvalidInclude, match="deeper"):
        text('{% include "prompt:p0@1" %}', loader=chain)


# -- sandbox and bounds -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ ''['__cla' ~ 'ss__'] }}",
        "{{ x.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ items.append(1) }}",
        "{{ x.update({'a': 1}) }}",
    ],
)
def test_sandbox_refuses_internals(template: str) -> None:
    with pytest.raises(SandboxViolation, match="sandbox"):
        text(template, {"x": {}, "items": []})


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'a' * 10**9 }}",
        "{{ [1] * 10**9 }}",
        "{% set ns = namespace(x='ab') %}{% for i in range(40) %}{% set ns.x = ns.x ~ ns.x %}{% endfor %}",
        "{% set ns = namespace(x='ab') %}{% for i in range(40) %}{% set ns.x = ns.x + ns.x %}{% endfor %}",
        "{{ 'a'|center(100000000) }}",
        "{{ 'a'.ljust(100000000) }}",
        "{{ '%999999999s' % 'a' }}",
        "{{ '%999999999s'|format('a') }}",
        "{{ '{:99999999}'.format(1) }}",
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        "{{ 10 ** 100000 }}",
        "{% for i in range(100000) %}{{ 'x' * 100 }}{% endfor %}",
    ],
)
def test_resource_abuse_is_bounded(template: str) -> None:
    with pytest.raises((OutputTooLarge, SandboxViolation)):
        text(template)


def test_output_bound_counts_all_messages() -> None:
    engine = TemplateEngine(Limits(max_output_chars=100))
    prompt = PromptSource(messages=(Message("user", "{{ 'x' * 60 }}"), Message("user", "{{ 'y' * 60 }}")))
    with pytest.raises(OutputTooLarge):
        engine.render(prompt, {})
    assert engine.render(PromptSource(template="{{ 'x' * 100 }}"), {}).text == "x" * 100


def test_big_numbers_as_values_are_fine() -> None:
    assert text("{{ n|int }} {{ n * 2 }}", {"n": 10**12}) == f"{10**12} {2 * 10**12}"


def test_variable_values_are_not_templates() -> None:
    assert text("{{ q }}", {"q": "{{ ''.__class__ }}"}) == "{{ ''.__class__ }}"


def test_syntax_error_has_a_line() -> None:
    with pytest.raises(TemplateSyntax) as err:
        text("ok\n{% if %}")
    assert err.value.line == 2
    assert err.value.where == "template"


def test_huge_and_non_utf8_input() -> None:
    with pytest.raises(TemplateTooLarge):
        text("x" * 200_000)
    with pytest.raises(TemplateSyntax, match="not valid UTF-8"):
        decode_template(b"Hello \xff\xfe {{ x }}")
    with pytest.raises(TemplateTooLarge):
        decode_template(b"x" * 10_000_000)
    assert decode_template("héllo {{ x }}".encode()) == "héllo {{ x }}"
    with pytest.raises(TemplateSyntax, match="Unicode"):
        text("bad \udcff")
    with pytest.raises(PromptTemplateError, match="lone surrogate"):
        text("{{ v }}", {"v": "\udcff"})


def test_engine_keeps_working_after_errors() -> None:
    for bad in ["{{ ''.__class__ }}", "{{ 'a' * 10**9 }}", "{% if %}", "{{ missing }}"]:
        with pytest.raises(PromptTemplateError):
            text(bad)
    assert text("{{ a }}", {"a": 1}) == "1"


# -- static check (what reconcile reports) --------------------------------------------------------------


def test_check_template_reports_like_the_controller() -> None:
    problems = check_template("Hi {{ name }}\n{{ ''.__class__ }}{% include 'x.txt' %}", ["other"])
    reasons = [p.reason for p in problems]
    assert reasons == ["UndefinedVariable", "UnsafeTemplate", "InvalidInclude"]
    assert str(problems[0]) == "line 1, column 7: variable 'name' is used but not declared in spec.variables"
    assert check_template("{{ name }}", ["name"]) == []
    assert check_template("{% if %}", [])[0].reason == "TemplateSyntaxError"


def test_diff_versions() -> None:
    old = {
        "template": "Hello {{ name }}\nBye",
        "variables": [{"name": "name"}],
        "modelConfig": {"model": "m1", "temperature": 0.1, "params": {"seed": 1}},
    }
    new = {
        "template": "Hi {{ name }}\nBye",
        "variables": [{"name": "name", "required": True}, {"name": "x", "default": "1"}],
        "modelConfig": {"model": "m2", "params": {"seed": 1, "stop": ["\n"]}},
    }
    diff = diff_versions(old, new, old_label="v1", new_label="v2")
    assert diff["text"][0]["part"] == "template"
    assert "-Hello {{ name }}\n+Hi {{ name }}\n" in diff["text"][0]["diff"]
    assert "--- v1/template" in diff["text"][0]["diff"]
    assert {c["path"]: c["op"] for c in diff["modelConfig"]} == {
        "model": "changed",
        "params.stop": "added",
        "temperature": "removed",
    }
    assert [(v["name"], v["op"]) for v in diff["variables"]] == [("name", "changed"), ("x", "added")]
    assert diff_versions(old, old)["identical"] is True
