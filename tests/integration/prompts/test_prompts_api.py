"""``/api/v1/prompts`` on a real HTTP server and a real Postgres: serving by label and version, ETags,
compile previews and their errors, versions after edits and label moves, diffs, filters."""

from __future__ import annotations

import functools
from collections.abc import Iterator

import httpx
import pytest
from prompt_support import AUTH, Server, store

import polling
from otelguard.storage.postgres import Database

TRIAGE = {
    "description": "Route support tickets",
    "messages": [
        {"role": "system", "content": "You triage tickets for {{ product }}."},
        {"role": "user", "content": "{{ ticket }}"},
    ],
    "variables": [{"name": "product", "default": "Acme"}, {"name": "ticket", "required": True}],
    "modelConfig": {"model": "gpt-4o-mini", "temperature": 0.2},
    "labels": {"production": "latest", "staging": "latest"},
    "tags": ["support", "triage"],
    "folder": "support/routing",
}
FOOTER = {"template": "-- {{ team }} team", "variables": [{"name": "team"}], "labels": {"production": 1}}
SUMMARY = {
    "template": 'Summarize for {{ audience }}:\n{{ text }}\n{% include "prompt:footer@production" %}',
    "variables": [{"name": "audience"}, {"name": "text"}, {"name": "team", "default": "docs"}],
    "labels": {"production": "latest"},
    "tags": ["docs"],
}


eventually = functools.partial(polling.eventually, timeout_s=5.0)


@pytest.fixture
def api(db: Database) -> Iterator[httpx.Client]:
    store(db, "triage", TRIAGE, git_revision="abc123")
    store(db, "footer", FOOTER)
    store(db, "summary", SUMMARY)
    server = Server(db).start()
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=10) as client:
        yield client
    server.stop()


def test_list_and_filters(api: httpx.Client) -> None:
    items = api.get("/api/v1/prompts").json()["items"]
    assert [i["name"] for i in items] == ["footer", "summary", "triage"]
    triage = items[2]
    assert triage["type"] == "chat"
    assert triage["latestVersion"] == 1
    assert triage["labels"] == {"production": 1, "staging": 1}
    assert triage["folder"] == "support/routing"
    assert triage["tags"] == ["support", "triage"]

    def names(**params: str) -> list[str]:
        return [i["name"] for i in api.get("/api/v1/prompts", params=params).json()["items"]]

    assert names(name="ria") == ["triage"]
    assert names(tag="docs") == ["summary"]
    assert names(folder="support") == ["triage"]
    assert names(folder="support/rout") == []
    assert names(label="staging") == ["triage"]
    assert api.get("/api/v1/prompts", params={"bogus": 1}).status_code == 400
    assert httpx.get(f"{api.base_url}/api/v1/prompts").status_code == 401


def test_get_by_label_and_version_with_etag(api: httpx.Client) -> None:
    got = api.get("/api/v1/prompts/triage")  # default label: production
    assert got.status_code == 200
    body = got.json()
    assert (body["version"], body["type"], body["labels"]) == (1, "chat", ["production", "staging"])
    assert body["messages"][0]["content"] == "You triage tickets for {{ product }}."
    assert body["modelConfig"] == {"model": "gpt-4o-mini", "temperature": 0.2}
    assert body["gitRevision"] == "abc123"
    assert got.headers["etag"] == f'"{body["hash"]}"'
    assert got.headers["cache-control"] == "private, max-age=10, stale-while-revalidate=60"
    again = api.get("/api/v1/prompts/triage", headers={"if-none-match": got.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""
    assert api.get("/api/v1/prompts/triage", headers={"if-none-match": '"other"'}).status_code == 200
    assert api.get("/api/v1/prompts/triage", params={"version": 1}).json()["hash"] == body["hash"]


def test_unknown_prompt_label_version(api: httpx.Client) -> None:
    missing = api.get("/api/v1/prompts/nope")
    assert (missing.status_code, missing.json()["detail"]) == (404, "prompt 'nope' not found")
    label = api.get("/api/v1/prompts/triage", params={"label": "canary"})
    assert label.status_code == 404
    assert label.json()["detail"] == "prompt 'triage' has no label 'canary' (labels: production=1, staging=1)"
    version = api.get("/api/v1/prompts/triage", params={"version": 7})
    assert (version.status_code, version.json()["detail"]) == (
        404,
        "prompt 'triage' has no version 7 (versions 1..1)",
    )
    both = api.get("/api/v1/prompts/triage", params={"version": 1, "label": "production"})
    assert both.status_code == 400
    assert api.get("/api/v1/prompts/Bad_Name").status_code == 422


def test_compile_chat_text_and_includes(api: httpx.Client) -> None:
    chat = api.post("/api/v1/prompts/triage/compile", json={"variables": {"ticket": "Refund please"}})
    assert chat.status_code == 200, chat.text
    assert chat.json()["messages"] == [
        {"role": "system", "content": "You triage tickets for Acme."},
        {"role": "user", "content": "Refund please"},
    ]
    text = api.post(
        "/api/v1/prompts/summary/compile", json={"variables": {"audience": "execs", "text": "Q3"}}
    )
    assert text.status_code == 200, text.text
    assert text.json()["text"] == "Summarize for execs:\nQ3\n-- docs team"
    assert text.json()["includes"] == {"prompt:footer@production": 1}


def test_compile_errors_are_422_never_500(api: httpx.Client, db: Database) -> None:
    missing = api.post("/api/v1/prompts/triage/compile", json={"variables": {}})
    assert missing.status_code == 422
    assert missing.json()["detail"]["reason"] == "MissingVariables"
    assert missing.json()["detail"]["missing"] == ["ticket"]
    # the static check refuses literal '__class__' at reconcile; a computed one reaches the sandbox
    store(db, "sneaky", {"template": "{{ ''['__cla' ~ 'ss__'] }}", "labels": {"production": "latest"}})
    store(
        db, "huge", {"template": "{{ 'x' * n }}", "variables": [{"name": "n"}], "labels": {"production": 1}}
    )
    store(db, "loop-a", {"template": '{% include "prompt:loop-b@production" %}', "labels": {"production": 1}})
    store(db, "loop-b", {"template": '{% include "prompt:loop-a@production" %}', "labels": {"production": 1}})
    sneaky = api.post("/api/v1/prompts/sneaky/compile", json={})
    assert sneaky.status_code == 422
    assert sneaky.json()["detail"]["reason"] == "UnsafeTemplate"
    assert "sandbox" in sneaky.json()["detail"]["message"]
    huge = api.post("/api/v1/prompts/huge/compile", json={"variables": {"n": 10**9}})
    assert (huge.status_code, huge.json()["detail"]["reason"]) == (422, "OutputTooLarge")
    cycle = api.post("/api/v1/prompts/loop-a/compile", json={})
    assert (cycle.status_code, cycle.json()["detail"]["reason"]) == (422, "IncludeCycle")
    assert api.post("/api/v1/prompts/triage/compile", json={"variables": [1]}).status_code == 422
    assert (
        api.post(
            "/api/v1/prompts/triage/compile",
            content=b"\xff\xfe",
            headers={"content-type": "application/json"},
        ).status_code
        == 422
    )
    lone = b'{"variables": {"ticket": "\\udcff"}}'  # a lone surrogate, JSON-escaped
    bad = api.post(
        "/api/v1/prompts/triage/compile", content=lone, headers={"content-type": "application/json"}
    )
    assert bad.status_code == 422
    assert "surrogate" in bad.json()["detail"]["message"]
    assert api.get("/api/v1/prompts/triage").status_code == 200  # still serving


def test_edit_label_move_versions_and_diff(api: httpx.Client, db: Database) -> None:
    edited = {**TRIAGE, "labels": {"production": 1, "staging": "latest"}}
    edited["messages"] = [TRIAGE["messages"][0], {"role": "user", "content": "Ticket: {{ ticket }}"}]  # type: ignore[index]
    edited["modelConfig"] = {"model": "gpt-4o", "temperature": 0.2}
    assert store(db, "triage", edited, generation=2, git_revision="def456") == 2
    assert api.get("/api/v1/prompts/triage").json()["version"] == 1
    eventually(lambda: api.get("/api/v1/prompts/triage", params={"label": "staging"}).json()["version"] == 2)
    # promote: move production to 2 (a git change), then roll back
    assert (
        store(db, "triage", {**edited, "labels": {"production": 2, "staging": "latest"}}, generation=3) == 2
    )
    eventually(lambda: api.get("/api/v1/prompts/triage").json()["version"] == 2)
    timeline = api.get("/api/v1/prompts/triage/versions").json()
    assert [
        (i["version"], i["labels"], i["gitRevision"], i["createdGeneration"]) for i in timeline["items"]
    ] == [
        (2, ["production", "staging"], "def456", 2),
        (1, [], "abc123", 1),
    ]
    diff = api.get("/api/v1/prompts/triage/diff", params={"from": 1, "to": 2}).json()
    assert [d["part"] for d in diff["text"]] == ["messages[1] (user)"]
    assert "-{{ ticket }}\n+Ticket: {{ ticket }}\n" in diff["text"][0]["diff"]
    assert diff["modelConfig"] == [{"path": "model", "op": "changed", "from": "gpt-4o-mini", "to": "gpt-4o"}]
    assert diff["variables"] == []
    assert api.get("/api/v1/prompts/triage/diff", params={"from": 1, "to": 9}).status_code == 404
    assert api.get("/api/v1/prompts/triage/diff", params={"from": 1}).status_code == 422


def test_same_name_in_two_namespaces(api: httpx.Client, db: Database) -> None:
    store(db, "triage", FOOTER, namespace="team-b")
    assert api.get("/api/v1/prompts/triage").status_code == 409
    assert api.get("/api/v1/prompts/triage", params={"namespace": "team-b"}).json()["type"] == "text"
    assert api.get("/api/v1/prompts/triage", params={"namespace": "x"}).status_code == 404
