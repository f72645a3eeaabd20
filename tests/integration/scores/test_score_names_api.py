"""``GET /api/v1/scores/names`` on a real server with real chDB and Postgres: names with their data type,
counts, sources and newest time, the time range, the limit, project isolation and bad requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from score_support import TRACE_A, Api

NOW = datetime.now(UTC).replace(microsecond=0)


def names(api: Api, auth: dict[str, str], **params: Any) -> httpx.Response:
    return httpx.get(f"{api.url}/api/v1/scores/names", params=params, headers=auth, timeout=30)


def write(api: Api, auth: dict[str, str], items: list[dict[str, Any]]) -> None:
    r = httpx.post(f"{api.url}/api/v1/scores", json={"scores": items}, headers=auth, timeout=30)
    assert r.status_code == 201, r.text


def test_names_with_type_count_sources_and_range(api: Api) -> None:
    old = (NOW - timedelta(days=20)).isoformat()
    write(
        api,
        api.a.auth,
        [
            {"name": "relevance", "value": 0.4, "trace_id": TRACE_A, "source": "evaluator"},
            {"name": "relevance", "value": 0.9, "trace_id": TRACE_A, "source": "annotation"},
            {"name": "relevance", "value": 0.7, "trace_id": TRACE_A},
            {"name": "thumbs", "value": True, "trace_id": TRACE_A, "source": "feedback"},
            {"name": "tone", "string_value": "polite", "trace_id": TRACE_A},
            {"name": "ancient", "value": 1, "trace_id": TRACE_A, "timestamp": old},
        ],
    )
    write(api, api.b.auth, [{"name": "other_project", "value": 1, "trace_id": TRACE_A}])

    r = names(api, api.a.auth)
    assert r.status_code == 200, r.text
    body = r.json()
    by_name = {i["name"]: i for i in body["items"]}
    assert body["items"][0]["name"] == "relevance"  # most scored first
    assert set(by_name) == {"relevance", "thumbs", "tone"}  # the default window is 7 days
    assert by_name["relevance"]["count"] == 3
    assert by_name["relevance"]["sources"] == ["annotation", "api", "evaluator"]
    assert by_name["thumbs"]["data_type"] == "boolean" and by_name["tone"]["data_type"] == "categorical"
    assert by_name["tone"]["last_seen"] >= int((NOW - timedelta(minutes=5)).timestamp()) * 10**9
    assert body["truncated"] is False and body["end_time"] > body["start_time"]

    month = {"start": (NOW - timedelta(days=30)).isoformat(), "end": (NOW + timedelta(minutes=1)).isoformat()}
    wide = names(api, api.a.auth, **month).json()["items"]
    assert "ancient" in {i["name"] for i in wide}
    top = names(api, api.a.auth, limit=1).json()
    assert [i["name"] for i in top["items"]] == ["relevance"] and top["truncated"] is True
    assert [i["name"] for i in names(api, api.b.auth).json()["items"]] == ["other_project"]


def test_names_bad_requests_are_4xx(api: Api) -> None:
    assert names(api, api.a.auth, limit=0).status_code in (400, 422)
    assert names(api, api.a.auth, limit=5000).status_code in (400, 422)
    assert names(api, api.a.auth, start="yesterday").status_code in (400, 422)
    later, earlier = NOW.isoformat(), (NOW - timedelta(days=1)).isoformat()
    assert names(api, api.a.auth, start=later, end=earlier).status_code == 400
    assert names(api, api.a.auth, bogus="1").status_code == 400
    assert names(api, {"authorization": "Bearer nope-nope-nope-nope"}).status_code == 401
    assert names(api, api.a.auth).status_code == 200  # still serving
