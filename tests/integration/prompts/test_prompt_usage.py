"""``/api/v1/prompts/{name}/usage`` and ``/regressions`` on a real HTTP server, real Postgres (versions,
label moves in audit_log) and real chDB (spans, guardrail events, scores): per-version analytics, time
ranges, project scoping, and regression verdicts of label moves."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import clickhouse_connect
import httpx
import pytest
from prompt_support import AUTH, OTHER_AUTH, Server, store
from usage_support import (
    guardrail_event,
    prompt_spans,
    score,
    seed_events,
    seed_scores,
    seed_spans,
)

from otelguard.storage.clickhouse import ClickHouseTransport, migrate
from otelguard.storage.clickhouse.chdb_transport import ChdbTransport
from otelguard.storage.clickhouse.http_transport import HttpTransport
from otelguard.storage.postgres import Database
from otelguard.storage.postgres.prompts import list_label_moves

HOUR_NS = 3600 * 10**9
DAY_NS = 24 * HOUR_NS


def triage(text: str, production: str = "latest", **labels: str) -> dict[str, Any]:
    return {"template": text, "labels": {"production": production, **labels}}


@pytest.fixture
def ch(request: pytest.FixtureRequest, chdb: ChdbTransport) -> Iterator[ClickHouseTransport]:
    """chDB, or (``indirect`` param "clickhouse-connect") the HTTP transport's client on the same
    in-process engine, which binds parameters server-side as against a ClickHouse server."""
    migrate(chdb)
    if getattr(request, "param", "chdb") == "chdb":
        yield chdb
        return
    path = str(chdb.path)
    transport = HttpTransport(
        host="unused",
        database=chdb.database,
        client_factory=lambda: clickhouse_connect.get_client(interface="chdb", path=path),
    )
    yield transport
    transport.close()


both_transports = pytest.mark.parametrize("ch", ["chdb", "clickhouse-connect"], indirect=True)


@pytest.fixture
def client(db: Database, ch: ClickHouseTransport) -> Iterator[httpx.Client]:
    store(db, "triage", triage("Triage v1"))
    store(db, "quiet", {"template": "never used", "labels": {"production": "latest"}})
    server = Server(db, clickhouse=ch).start()
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as http:
        yield http
    server.stop()


def iso(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, UTC).isoformat()


# -- usage ----------------------------------------------------------------------------------------------


@both_transports
def test_usage_per_version(client: httpx.Client, db: Database, ch: ClickHouseTransport) -> None:
    store(db, "triage", triage("Triage v2"), generation=2)
    now = time.time_ns()
    v1 = prompt_spans(
        now - 3 * HOUR_NS, [float(ms) for ms in range(100, 1100, 100)], version=1, errors=[0, 1]
    )
    v2 = prompt_spans(now - 2 * HOUR_NS, [50.0] * 4, version=2, cost=0.25)
    # A non-LLM span in v2's scope (the application span around the call): counted, not in latency.
    wrapper = prompt_spans(now - 2 * HOUR_NS, [9000.0], version=2, kind="agent", cost=0.0)
    other_prompt = prompt_spans(now - HOUR_NS, [1.0], name="summary", version=1)
    unversioned = prompt_spans(now - HOUR_NS, [1.0], version=0)
    other_project = prompt_spans(now - HOUR_NS, [7.0] * 3, version=1, project="p2")
    seed_spans(ch, v1 + v2 + wrapper + other_prompt + unversioned + other_project)
    seed_spans(ch, v1[:2])  # an SDK retry re-sends two spans: still counted once
    seed_events(
        ch,
        [
            guardrail_event(v1[3]),
            guardrail_event(v1[3]),  # two rules failed on one span: two hits
            guardrail_event(v1[4], trace_level=True),  # about the whole trace
            guardrail_event(other_project[0], project="p1"),  # p1's event on a p2 trace: no p1 span
            guardrail_event(v2[0], project="p2"),  # another project's event on the trace id
        ],
    )
    seed_scores(
        ch,
        [
            score(v1[0], "helpfulness", 1.0),
            score(v1[1], "helpfulness", 0.5),
            score(v1[2], "helpfulness", 0.0, trace_level=True),
            score(v1[2], "correct", 1.0, data_type="boolean"),
            score(v1[3], "tone", 3.0, data_type="categorical"),  # not averaged
            score(v2[0], "helpfulness", 0.2, project="p2"),  # another project's score
        ],
    )

    got = client.get("/api/v1/prompts/triage/usage")
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["name"] == "triage"
    assert set(body) == {"name", "from", "to", "versions"}
    start = datetime.fromisoformat(body["from"])
    end = datetime.fromisoformat(body["to"])
    assert abs((end - start).total_seconds() - 7 * 86400) < 1
    assert abs(end.timestamp() - time.time()) < 60
    second, first = body["versions"]
    assert [second["version"], first["version"]] == [2, 1]
    assert set(first) == {
        "version", "spans", "traces", "latency_ms_p50", "latency_ms_p95", "input_tokens",
        "output_tokens", "total_tokens", "cost_usd", "error_rate", "guardrail_hits",
        "score_averages", "first_seen", "last_seen",
    }  # fmt: skip
    assert first["spans"] == 10 and first["traces"] == 10
    assert first["latency_ms_p50"] == pytest.approx(550.0)
    assert first["latency_ms_p95"] == pytest.approx(955.0)
    assert (first["input_tokens"], first["output_tokens"], first["total_tokens"]) == (1000, 200, 1200)
    assert first["cost_usd"] == pytest.approx(0.01)
    assert first["error_rate"] == pytest.approx(0.2)
    assert first["guardrail_hits"] == 3
    assert first["score_averages"] == pytest.approx({"helpfulness": 0.5, "correct": 1.0})
    first_seen = datetime.fromisoformat(first["first_seen"]).timestamp()
    assert first_seen == pytest.approx(v1[0].start_time / 1e9, abs=1e-3)
    assert datetime.fromisoformat(first["last_seen"]).timestamp() == pytest.approx(
        v1[-1].start_time / 1e9, abs=1e-3
    )

    assert second["spans"] == 5 and second["traces"] == 5
    assert second["latency_ms_p50"] == pytest.approx(50.0)  # the agent span's 9 s are not a latency
    assert second["latency_ms_p95"] == pytest.approx(50.0)
    assert second["cost_usd"] == pytest.approx(1.0)
    assert second["error_rate"] == 0.0
    assert (second["guardrail_hits"], second["score_averages"]) == (0, {})

    # The other project sees only its own spans of the same prompt.
    other = client.get("/api/v1/prompts/triage/usage", headers=OTHER_AUTH).json()["versions"]
    assert [(v["version"], v["spans"], v["guardrail_hits"]) for v in other] == [(1, 3, 0)]
    assert other[0]["latency_ms_p50"] == pytest.approx(7.0)


def test_usage_time_range(client: httpx.Client, ch: ClickHouseTransport) -> None:
    now = time.time_ns()
    old = prompt_spans(now - 10 * DAY_NS, [10.0, 20.0], version=1)
    recent = prompt_spans(now - HOUR_NS, [30.0], version=1)
    future = prompt_spans(now + DAY_NS, [40.0], version=1)
    seed_spans(ch, old + recent + future)

    def spans(**params: Any) -> list[int]:
        got = client.get("/api/v1/prompts/triage/usage", params=params)
        assert got.status_code == 200, got.text
        return [v["spans"] for v in got.json()["versions"]]

    assert spans() == [1]  # the last 7 days
    assert spans(**{"from": iso(now - 20 * DAY_NS)}) == [3]  # up to now
    assert spans(**{"from": iso(now - 20 * DAY_NS), "to": iso(now + 2 * DAY_NS)}) == [4]
    assert spans(to=iso(now - 9 * DAY_NS)) == [2]  # the 7 days before
    # Epoch seconds and milliseconds; to is exclusive.
    assert spans(**{"from": str((now - 11 * DAY_NS) // 10**9), "to": str(old[1].start_time // 10**6)}) == [1]
    got = client.get("/api/v1/prompts/triage/usage", params={"from": "2024-01-01T00:00:00Z"}).json()
    assert got["from"] == "2024-01-01T00:00:00+00:00"
    assert client.get("/api/v1/prompts/quiet/usage").json()["versions"] == []


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from must be before to"),
        ({"from": "2026-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "from must be before to"),
        ({"from": "yesterday"}, "not ISO-8601"),
        ({"to": "2026-01-01T00:00:00"}, "time zone"),
        ({"from": "nan"}, "not a time"),
        ({"from": "-5"}, "between 1970 and 2262"),
        ({"to": "1e300"}, "between 1970 and 2262"),
        ({"start": "2026-01-01T00:00:00Z"}, "unknown query parameter"),
        ({"from": "2026-01-01\x00"}, "not ISO-8601"),
        ({"from": "0x10"}, "not ISO-8601"),
        ({"from": "inf"}, "not a time"),
        ({"to": "2026-01-01T00:00:00+25:00"}, "not ISO-8601"),
        ({"to": "9999-12-31T23:59:59+14:00"}, "between 1970 and 2262"),
        ({"from": "0001-01-01T00:00:00+01:00"}, "between 1970 and 2262"),
    ],
)
def test_usage_bad_ranges_are_400(client: httpx.Client, params: dict[str, str], fragment: str) -> None:
    got = client.get("/api/v1/prompts/triage/usage", params=params)
    assert got.status_code == 400, got.text
    assert fragment in got.json()["detail"]
    assert client.get("/api/v1/prompts/triage/usage").status_code == 200  # still serving


def test_unknown_prompt_and_auth(client: httpx.Client) -> None:
    for path in ("/api/v1/prompts/nope/usage", "/api/v1/prompts/nope/regressions"):
        got = client.get(path)
        assert got.status_code == 404 and "not found" in got.json()["detail"]
        assert httpx.get(f"{client.base_url}{path}").status_code == 401
    assert client.get("/api/v1/prompts/triage/usage", params={"namespace": "elsewhere"}).status_code == 404
    assert client.get("/api/v1/prompts/Bad_Name/usage").status_code == 422


def test_without_clickhouse_the_trace_routes_are_503(db: Database) -> None:
    store(db, "triage", triage("Triage v1"))
    server = Server(db).start()
    try:
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as http:
            for path in ("usage", "regressions"):
                got = http.get(f"/api/v1/prompts/triage/{path}")
                assert got.status_code == 503 and "ClickHouse" in got.json()["detail"]
            assert http.get("/api/v1/prompts/triage").status_code == 200
    finally:
        server.stop()


# -- regressions ----------------------------------------------------------------------------------------


def moves_ns(db: Database, label: str = "production") -> dict[tuple[int | None, int], int]:
    return {
        (m.from_version, m.to_version): int(m.moved_at.timestamp() * 1e6) * 1000
        for m in list_label_moves(db, "default", "triage", label=label)
    }


@both_transports
def test_regressions_of_label_moves(client: httpx.Client, db: Database, ch: ClickHouseTransport) -> None:
    time.sleep(0.05)
    store(db, "triage", triage("Triage v2", staging="1"), generation=2)
    time.sleep(0.05)
    store(db, "triage", triage("Triage v3", staging="2"), generation=3)
    at = moves_ns(db)
    assert set(at) == {(None, 1), (1, 2), (2, 3)}
    t1, t2 = at[(1, 2)], at[(2, 3)]
    step = (t2 - t1) // 100  # 30 spans of v2 fit between the two moves

    # v1 before the move to v2: 300 ms, some guardrail hits, helpful answers.
    v1 = prompt_spans(t1 - 40 * 10**9, [300.0] * 30, version=1, step_ns=10**9, errors=[0])
    # v2 after it: twice as slow, a third of the spans hit a guardrail, less helpful. Same cost, errors.
    v2 = prompt_spans(t1 + step, [600.0] * 30, version=2, step_ns=step, errors=[5])
    # v3 after the move from v2: as v2 (ok) — but another project's v3 spans all fail.
    v3 = prompt_spans(t2 + 10**6, [610.0] * 25, version=3)
    noisy = prompt_spans(t2 + 10**6, [99999.0] * 25, version=3, project="p2", errors=range(25))
    # Spans outside the samples: v1 after the move, v2 long before it.
    stray = prompt_spans(t1 + 1, [5000.0] * 5, version=1) + prompt_spans(t1 - DAY_NS, [1.0] * 5, version=2)
    seed_spans(ch, v1 + v2 + v3 + noisy + stray)
    seed_events(ch, [guardrail_event(s) for s in v1[:1]] + [guardrail_event(s) for s in v2[:10]])
    seed_scores(
        ch,
        [score(s, "helpfulness", 0.9) for s in v1]
        + [score(s, "helpfulness", 0.6) for s in v2]
        + [score(s, "helpfulness", 0.6) for s in v3],
    )

    got = client.get("/api/v1/prompts/triage/regressions", params={"label": "production"})
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["name"] == "triage"
    newest, middle, created = body["moves"]
    assert [(m["from_version"], m["to_version"]) for m in body["moves"]] == [(2, 3), (1, 2), (None, 1)]
    assert {m["label"] for m in body["moves"]} == {"production"}

    assert middle["status"] == "regression"
    assert datetime.fromisoformat(middle["moved_at"]).timestamp() == pytest.approx(t1 / 1e9, abs=1e-3)
    base, cand = middle["baseline"], middle["candidate"]
    assert (base["spans"], cand["spans"]) == (30, 30)
    assert (base["latency_ms_p95"], cand["latency_ms_p95"]) == (pytest.approx(300.0), pytest.approx(600.0))
    assert base["cost_usd_mean"] == pytest.approx(cand["cost_usd_mean"]) == pytest.approx(0.001)
    assert base["error_rate"] == pytest.approx(cand["error_rate"]) == pytest.approx(1 / 30)
    assert (base["guardrail_hit_rate"], cand["guardrail_hit_rate"]) == (
        pytest.approx(1 / 30),
        pytest.approx(1 / 3),
    )
    assert (base["score_averages"], cand["score_averages"]) == (
        {"helpfulness": pytest.approx(0.9)},
        {"helpfulness": pytest.approx(0.6)},
    )
    found = {r["metric"]: r for r in middle["regressions"]}
    assert list(found) == ["latency_ms_p95", "guardrail_hit_rate", "score:helpfulness"]
    assert found["latency_ms_p95"] == {
        "metric": "latency_ms_p95", "baseline": pytest.approx(300.0), "candidate": pytest.approx(600.0),
        "change": pytest.approx(1.0), "threshold": 0.2,
    }  # fmt: skip
    assert found["score:helpfulness"]["change"] == pytest.approx(-1 / 3)

    assert newest["status"] == "ok" and newest["regressions"] == []
    # N=100: all of v2 before the move, the 5 early strays included
    assert (newest["baseline"]["spans"], newest["candidate"]["spans"]) == (35, 25)
    assert newest["candidate"]["error_rate"] == 0.0  # p2's failing spans are not p1's

    assert created["status"] == "insufficient_data" and created["from_version"] is None
    assert created["baseline"]["spans"] == 0 and created["baseline"]["latency_ms_p95"] is None

    # All labels: staging's moves too (1 -> 2 has v2's 30 spans but v1's sample before it is 30 as well).
    every = client.get("/api/v1/prompts/triage/regressions").json()["moves"]
    assert {m["label"] for m in every} == {"production", "staging"}
    assert len(every) == 5
    assert [m["label"] for m in client.get(
        "/api/v1/prompts/triage/regressions", params={"limit": 2}
    ).json()["moves"]] == ["staging", "production"]  # fmt: skip

    # Another project has no spans around these moves.
    other = client.get("/api/v1/prompts/triage/regressions", headers=OTHER_AUTH).json()["moves"]
    assert {m["status"] for m in other} == {"insufficient_data"}


def test_insufficient_data_and_sample_size(
    client: httpx.Client, db: Database, ch: ClickHouseTransport
) -> None:
    time.sleep(0.05)
    store(db, "triage", triage("Triage v2"), generation=2)
    t1 = moves_ns(db)[(1, 2)]
    seed_spans(
        ch,
        prompt_spans(t1 - 10**9, [100.0] * 15, version=1, step_ns=-(10**6))
        + prompt_spans(t1 + 10**6, [900.0] * 15, version=2),
    )

    def move(**params: Any) -> dict[str, Any]:
        got = client.get("/api/v1/prompts/triage/regressions", params={"label": "production", **params})
        assert got.status_code == 200, got.text
        first: dict[str, Any] = got.json()["moves"][0]
        assert (first["from_version"], first["to_version"]) == (1, 2)
        return first

    default = move()  # N=100: each side needs 20 spans, has 15
    assert default["status"] == "insufficient_data" and default["regressions"] == []
    assert (default["baseline"]["spans"], default["candidate"]["spans"]) == (15, 15)
    assert default["candidate"]["latency_ms_p95"] == pytest.approx(900.0)
    small = move(sample=10)  # the last/first 10 spans on each side are enough
    assert small["status"] == "regression"
    assert (small["baseline"]["spans"], small["candidate"]["spans"]) == (10, 10)
    for bad in ({"sample": 9}, {"sample": 10001}, {"sample": "x"}, {"limit": 0}, {"label": "Bad_Label"}):
        assert client.get("/api/v1/prompts/triage/regressions", params=bad).status_code == 422
    assert client.get("/api/v1/prompts/triage/regressions", params={"bogus": 1}).status_code == 400
    unknown_label = client.get("/api/v1/prompts/triage/regressions", params={"label": "canary"})
    assert unknown_label.status_code == 200 and unknown_label.json()["moves"] == []
