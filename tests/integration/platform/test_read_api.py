"""The read API on a running platform, fed through OTLP/HTTP JSON: trace filters, sorts and cursors,
export, spans and generations, sessions, users, metrics; a key never reads another project on any route;
bad input is a clear 4xx, never a 5xx."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from typing import Any

import httpx
import pytest
from test_projects_and_api import cli, send

from platform_process import Platform

NOW_S = int(time.time()) - 3600  # an hour ago: inside every default time window
T = {name: f"{i:x}" * 32 for i, name in enumerate(["a", "b", "c", "d"], start=10)}  # aaaa…, bbbb…, …


def otlp(
    trace_id: str,
    *,
    start_s: int,
    user: str,
    session: str,
    model: str,
    provider: str,
    cost: float,
    text: str,
    tags: list[str] | None = None,
    prompt: tuple[str, int] | None = None,
    error: bool = False,
) -> bytes:
    attrs: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": model,
        "gen_ai.provider.name": provider,
        "gen_ai.usage.input_tokens": 100,
        "gen_ai.usage.output_tokens": 10,
        "gen_ai.usage.cost": cost,
        "user.id": user,
        "session.id": session,
        "input.value": text,
        "output.value": f"answer to {text}",
    }
    if prompt:
        attrs["otelguard.prompt.name"], attrs["otelguard.prompt.version"] = prompt

    def value(v: Any) -> dict[str, Any]:
        if isinstance(v, bool):
            return {"boolValue": v}
        if isinstance(v, int):
            return {"intValue": str(v)}
        if isinstance(v, float):
            return {"doubleValue": v}
        if isinstance(v, list):
            return {"arrayValue": {"values": [value(x) for x in v]}}
        return {"stringValue": v}

    if tags:
        attrs["otelguard.tags"] = tags
    span = {
        "traceId": trace_id,
        "spanId": trace_id[:16],
        "name": f"chat {model}",
        "kind": 3,
        "startTimeUnixNano": str(start_s * 10**9),
        "endTimeUnixNano": str(start_s * 10**9 + int(cost * 10**9)),  # latency follows cost: easy sorts
        "attributes": [{"key": k, "value": value(v)} for k, v in attrs.items()],
        "status": {"code": 2, "message": "boom"} if error else {"code": 1},
    }
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}).encode()


@pytest.fixture(scope="module")
def other(platform: Platform) -> Platform:
    out = cli(platform, "keys", "create", "--project", "other", "--note", "read api isolation")
    match = re.search(r"secret key: (\S+)", out)
    assert match, out
    return Platform(
        platform.data_dir, api_key=match.group(1), api_port=platform.api_port, http_port=platform.http_port
    )


@pytest.fixture(scope="module")
def data(platform: Platform, other: Platform) -> None:
    common = {"user": "ua", "session": "sa"}
    send(platform, platform.api_key, otlp(
        T["a"], start_s=NOW_S, model="gpt-4o-mini", provider="openai", cost=0.5,
        text="Refund request for order 7", tags=["alpha", "beta"], prompt=("support", 2), **common,
    ))  # fmt: skip
    send(platform, platform.api_key, otlp(
        T["b"], start_s=NOW_S + 10, model="claude-3", provider="anthropic", cost=1.5,
        text="'; DROP TABLE spans; --", tags=["alpha"], error=True, **common,
    ))  # fmt: skip
    send(platform, platform.api_key, otlp(
        T["c"], start_s=NOW_S + 20, user="ub", session="sb", model="gpt-4o-mini", provider="openai",
        cost=0.25, text="weather in Paris",
    ))  # fmt: skip
    send(other, other.api_key, otlp(
        T["d"], start_s=NOW_S + 5, model="gpt-4o-mini", provider="openai", cost=9.0, text="refund please",
        tags=["alpha"], prompt=("support", 2), **common,
    ))  # fmt: skip
    platform.wait_for_traces(3)
    other.wait_for_traces(1)


def ids(platform: Platform, path: str = "/api/v1/traces", **params: Any) -> list[str]:
    r = platform.get(path, **params)
    assert r.status_code == 200, r.text
    return [t["trace_id"][:1] for t in r.json()["items"]]


@pytest.mark.usefixtures("data")
def test_trace_filters_and_sorts(platform: Platform) -> None:
    assert ids(platform) == ["c", "b", "a"]
    assert ids(platform, provider="openai") == ["c", "a"]
    assert ids(platform, tags=["beta", "zzz"]) == ["a"]
    assert ids(platform, tags=["alpha", "beta"], tags_mode="all") == ["a"]
    assert ids(platform, has_error="true") == ["b"]
    assert ids(platform, min_cost=0.4, max_cost=1.0) == ["a"]
    assert ids(platform, min_latency_ms=1000) == ["b"]
    assert ids(platform, prompt_name="support", prompt_version=2) == ["a"]
    assert ids(platform, search="REFUND order") == ["a"]
    assert ids(platform, search="efun", search_mode="substring") == ["a"]
    assert ids(platform, search="'; DROP TABLE spans; --") == ["b"]  # just text
    assert ids(platform, search="' OR 1=1 --", search_mode="substring") == []
    assert ids(platform, has_guardrail_event="false") == ["c", "b", "a"]
    assert ids(platform, has_guardrail_event="true") == []
    assert ids(platform, sort="cost", order="asc") == ["c", "a", "b"]
    assert ids(platform, sort="latency", order="desc") == ["b", "a", "c"]
    assert ids(platform, sort="user_id", order="asc")[-1] == "c"
    # keyset pages on a non-time sort
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"sort": "cost", "order": "desc", "limit": 1}
        if cursor:
            params["cursor"] = cursor
        page = platform.get("/api/v1/traces", **params).json()
        seen += [t["trace_id"][:1] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ["b", "a", "c"]
    first = platform.get("/api/v1/traces", sort="cost", limit=1).json()["next_cursor"]
    r = platform.get("/api/v1/traces", sort="latency", cursor=first)
    assert r.status_code == 400 and "another listing or sort" in r.text


@pytest.mark.usefixtures("data")
def test_export(platform: Platform) -> None:
    r = platform.get("/api/v1/traces/export", format="jsonl", provider="openai")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in r.text.splitlines()]
    assert [row["trace_id"][:1] for row in rows] == ["c", "a"]
    r = platform.get("/api/v1/traces/export", format="csv", sort="cost", order="desc")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["trace_id"][:1] for row in table] == ["b", "a", "c"]
    assert json.loads(table[1]["tags"]) == ["alpha", "beta"]
    assert len(platform.get("/api/v1/traces/export", max_rows=1).text.splitlines()) == 1
    assert platform.get("/api/v1/traces/export", format="xml").status_code == 422
    assert platform.get("/api/v1/traces/export", cursor="x").status_code == 400  # not an export parameter


@pytest.mark.usefixtures("data")
def test_spans_and_generations(platform: Platform) -> None:
    r = platform.get(f"/api/v1/spans/{T['a'][:16]}", trace_id=T["a"])
    assert r.status_code == 200, r.text
    span = r.json()
    assert (span["model"], span["provider"], span["prompt_name"], span["input"]) == (
        "gpt-4o-mini",
        "openai",
        "support",
        "Refund request for order 7",
    )
    gens = platform.get("/api/v1/generations", sort="cost", order="desc").json()
    assert [g["trace_id"][:1] for g in gens["items"]] == ["b", "a", "c"]
    assert ids(platform, "/api/v1/generations", provider="openai", user_id="ub") == ["c"]
    page = platform.get("/api/v1/generations", limit=2).json()
    rest = platform.get("/api/v1/generations", limit=2, cursor=page["next_cursor"]).json()
    assert len(page["items"]) == 2 and len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert platform.get(f"/api/v1/spans/{'f' * 16}", trace_id=T["a"]).status_code == 404
    assert platform.get(f"/api/v1/spans/{T['a'][:16]}").status_code == 422  # trace_id is required


@pytest.mark.usefixtures("data")
def test_sessions_and_users(platform: Platform) -> None:
    sessions = platform.get("/api/v1/sessions").json()["items"]
    assert [s["session_id"] for s in sessions] == ["sb", "sa"]
    sa = sessions[1]
    assert (sa["trace_count"], sa["user_ids"], sa["error_count"]) == (2, ["ua"], 1)
    assert sa["total_cost"] == pytest.approx(2.0)
    detail = platform.get("/api/v1/sessions/sa").json()
    assert [t["trace_id"][:1] for t in detail["traces"]] == ["a", "b"]  # oldest first, not project other's
    assert platform.get("/api/v1/sessions/nope").status_code == 404
    users = platform.get("/api/v1/users", sort="cost", order="desc").json()["items"]
    assert [(u["user_id"], u["trace_count"], u["error_rate"], u["guardrail_hits"]) for u in users] == [
        ("ua", 2, 0.5, 0),
        ("ub", 1, 0.0, 0),
    ]
    ua = platform.get("/api/v1/users/ua", bucket="1h").json()
    assert ua["trace_count"] == 2 and sum(p["trace_count"] for p in ua["activity"]) == 2
    assert ua["total_cost"] == pytest.approx(2.0)
    assert platform.get("/api/v1/users/nobody").status_code == 404


@pytest.mark.usefixtures("data")
def test_metrics(platform: Platform) -> None:
    r = platform.get("/api/v1/metrics", metric="requests", agg="count", bucket="1d")
    assert r.status_code == 200, r.text
    assert sum(p["value"] for s in r.json()["series"] for p in s["points"]) == 3
    by = platform.get("/api/v1/metrics", metric="cost", agg="sum", group_by="model,user", bucket="1d").json()
    totals = {tuple(s["dimensions"].values()): sum(p["value"] for p in s["points"]) for s in by["series"]}
    assert totals == pytest.approx(
        {("claude-3", "ua"): 1.5, ("gpt-4o-mini", "ua"): 0.5, ("gpt-4o-mini", "ub"): 0.25}
    )
    gen = platform.get(
        "/api/v1/metrics",
        metric="latency",
        agg="p95",
        scope="generations",
        group_by=["provider"],
        bucket="1d",
    ).json()
    assert sorted(s["dimensions"]["provider"] for s in gen["series"]) == ["anthropic", "openai"]
    for params in [
        {"metric": "latency", "agg": "sum"},
        {"metric": "requests", "agg": "count", "group_by": "provider"},  # needs scope=generations
        {"metric": "requests", "agg": "count", "group_by": "model,user,session"},
        {"metric": "requests", "agg": "count", "group_by": "model;drop"},
        {
            "metric": "requests",
            "agg": "count",
            "bucket": "1m",
            "start": "2000-01-01T00:00:00Z",
            "end": "2030-01-01T00:00:00Z",
        },
        {
            "metric": "requests",
            "agg": "count",
            "start": "2030-01-01T00:00:00Z",
            "end": "2029-01-01T00:00:00Z",
        },
    ]:
        r = platform.get("/api/v1/metrics", **params)
        assert r.status_code == 400, (params, r.text)
    assert platform.get("/api/v1/metrics", metric="nope", agg="count").status_code == 422


@pytest.mark.usefixtures("data")
def test_a_key_never_reads_another_project_on_any_route(platform: Platform, other: Platform) -> None:
    assert ids(other) == ["d"]
    assert ids(other, search="refund", tags=["alpha"], provider="openai", prompt_name="support") == ["d"]
    assert ids(platform, search="please") == []
    assert [json.loads(x)["trace_id"][:1] for x in other.get("/api/v1/traces/export").text.splitlines()] == [
        "d"
    ]
    assert ids(other, "/api/v1/generations") == ["d"]
    assert other.get(f"/api/v1/spans/{T['a'][:16]}", trace_id=T["a"]).status_code == 404
    assert platform.get(f"/api/v1/spans/{T['d'][:16]}", trace_id=T["d"]).status_code == 404
    assert platform.get(f"/api/v1/traces/{T['d']}").status_code == 404
    [session] = other.get("/api/v1/sessions").json()["items"]
    assert (session["session_id"], session["trace_count"], session["total_cost"]) == ("sa", 1, 9.0)
    assert [t["trace_id"][:1] for t in other.get("/api/v1/sessions/sa").json()["traces"]] == ["d"]
    [user] = other.get("/api/v1/users").json()["items"]
    assert (user["user_id"], user["trace_count"]) == ("ua", 1)
    assert other.get("/api/v1/users/ub").status_code == 404
    assert other.get("/api/v1/users/ua").json()["total_cost"] == 9.0
    r = other.get("/api/v1/metrics", metric="cost", agg="sum", bucket="1d").json()
    assert sum(p["value"] for s in r["series"] for p in s["points"]) == 9.0
    for path in [
        "/api/v1/traces",
        "/api/v1/generations",
        "/api/v1/sessions",
        "/api/v1/users",
        "/api/v1/metrics",
    ]:
        assert httpx.get(f"{platform.api_url}{path}").status_code == 401
        assert (
            httpx.get(
                f"{platform.api_url}{path}", headers={"authorization": "Bearer nope-nope-nope-nope"}
            ).status_code
            == 401
        )


HOSTILE = ["' OR 1=1 --", "{project_id:String}", "\\", "%00", "😀" * 10, "x" * 600, "-1", "1e400", "nan"]
ROUTES: dict[str, list[str]] = {
    "/api/v1/traces": ["user_id", "session_id", "model", "provider", "tags", "search", "prompt_name",
                       "prompt_version", "min_cost", "max_latency_ms", "has_error", "sort", "order", "cursor",
                       "limit", "start", "end", "tags_mode", "search_mode", "bogus"],
    "/api/v1/traces/export": ["format", "max_rows", "search", "sort", "cursor", "min_cost"],
    "/api/v1/generations": ["model", "provider", "user_id", "session_id", "sort", "order", "cursor", "limit",
                            "start", "end", "tags"],
    "/api/v1/sessions": ["user_id", "sort", "order", "cursor", "limit", "start", "end", "search"],
    "/api/v1/sessions/sa": ["cursor", "limit", "sort"],
    "/api/v1/users": ["sort", "order", "cursor", "limit", "start", "end"],
    "/api/v1/users/ua": ["bucket", "start", "end", "cursor"],
    f"/api/v1/spans/{'a' * 16}": ["trace_id", "cursor"],
    "/api/v1/metrics": ["metric", "agg", "bucket", "group_by", "scope", "start", "end", "limit"],
}  # fmt: skip


@pytest.mark.usefixtures("data")
@pytest.mark.parametrize("path", list(ROUTES))
def test_bad_input_is_a_clear_4xx(platform: Platform, path: str) -> None:
    base: dict[str, Any] = {"metric": "cost", "agg": "sum"} if path.endswith("metrics") else {}
    if "/spans/" in path:
        base["trace_id"] = T["a"]
    for name in ROUTES[path]:
        for value in HOSTILE:
            r = platform.get(path, **{**base, name: value})
            assert r.status_code < 500, (path, name, value, r.text)
            if r.status_code >= 400:
                assert r.json()["detail"], (path, name, value)
    for params in [
        {"start": "2025-01-02T00:00:00Z", "end": "2025-01-01T00:00:00Z"},
        {"start": "2025-01-01T00:00:00"},
        {"start": "0001-01-01T00:00:00Z"},
        {"unknown_filter": "1"},
        {"cursor": "not-a-cursor"},
    ]:
        if "/spans/" in path and "cursor" not in params:
            continue
        r = platform.get(path, **{**base, **params})
        assert r.status_code == 400, (path, params, r.text)  # also where the parameter is unknown
    big = platform.get(path, **{**base, "limit": 10**9})
    assert big.status_code < 500


@pytest.mark.usefixtures("data")
def test_limits_are_clamped(platform: Platform) -> None:
    for path in ["/api/v1/traces", "/api/v1/generations", "/api/v1/sessions", "/api/v1/users"]:
        r = platform.get(path, limit=10**6)
        assert r.status_code == 200 and len(r.json()["items"]) <= 1000
        assert platform.get(path, limit=0).status_code == 422
