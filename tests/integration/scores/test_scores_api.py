"""The scores API on a real server (uvicorn) with real chDB and Postgres: writing (single, batch, configs),
listing, analytics, project isolation and every kind of bad request."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from score_support import SPAN_A1, TRACE_A, Api

NOW = datetime.now(UTC).replace(microsecond=0)


def post(api: Api, body: Any, auth: dict[str, str], path: str = "/api/v1/scores") -> httpx.Response:
    return httpx.post(f"{api.url}{path}", json=body, headers=auth, timeout=30)


def get(api: Api, path: str, auth: dict[str, str], **params: Any) -> httpx.Response:
    return httpx.get(f"{api.url}{path}", params=params, headers=auth, timeout=30)


def item(name: str = "quality", **over: Any) -> dict[str, Any]:
    return {"name": name, "value": 0.5, "trace_id": TRACE_A, **over}


def listed(api: Api, auth: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = get(api, "/api/v1/scores", auth, limit=1000, **params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def test_write_one_and_a_batch_then_list(api: Api) -> None:
    one = post(api, item(comment="fine", span_id=SPAN_A1.upper()), api.a.auth)
    assert one.status_code == 201, one.text
    (first_id,) = one.json()["ids"]
    batch = post(
        api,
        {
            "scores": [
                item("helpful", value=True),
                item("tone", string_value="polite", session_id="sess-1", trace_id=None),
                item("quality", value=0.9, id="my-id-1", timestamp=(NOW - timedelta(hours=1)).isoformat()),
            ]
        },
        api.a.auth,
    )
    assert batch.status_code == 201, batch.text
    assert batch.json()["ids"][2] == "my-id-1"
    rows = {r["id"]: r for r in listed(api, api.a.auth)}
    assert set(rows) == {first_id, *batch.json()["ids"]}
    assert rows[first_id]["span_id"] == SPAN_A1 and rows[first_id]["comment"] == "fine"
    assert rows[first_id]["source"] == "api" and rows[first_id]["data_type"] == "numeric"
    helpful = next(r for r in rows.values() if r["name"] == "helpful")
    assert (helpful["data_type"], helpful["value"], helpful["string_value"]) == ("boolean", 1.0, "true")
    tone = next(r for r in rows.values() if r["name"] == "tone")
    assert (tone["data_type"], tone["session_id"], tone["trace_id"]) == ("categorical", "sess-1", "")
    assert rows["my-id-1"]["timestamp"] == int((NOW - timedelta(hours=1)).timestamp()) * 10**9
    assert [r["id"] for r in listed(api, api.a.auth, name="quality", min_value=0.8)] == ["my-id-1"]
    assert listed(api, api.b.auth) == []  # another project's key sees nothing


def test_resending_an_id_replaces_the_score(api: Api) -> None:
    for value in (0.2, 0.8, 0.6):
        assert post(api, item(id="stable", value=value), api.a.auth).status_code == 201
    rows = listed(api, api.a.auth)
    assert [(r["id"], r["value"]) for r in rows] == [("stable", 0.6)]
    total = get(api, "/api/v1/scores/aggregate", api.a.auth, name="quality").json()["series"][0]["total"]
    assert total["count"] == 1 and total["mean"] == 0.6


def test_configs_validate_writes_per_project(api: Api) -> None:
    created = post(api, {"name": "quality", "data_type": "numeric", "min_value": 0, "max_value": 1},
                   api.a.auth, "/api/v1/score-configs")  # fmt: skip
    assert created.status_code == 201, created.text
    tone = {"name": "tone", "data_type": "categorical", "categories": ["polite", "rude"], "description": "d"}
    assert post(api, tone, api.a.auth, "/api/v1/score-configs").status_code == 201
    replaced = post(
        api, {**tone, "categories": ["polite", "neutral", "rude"]}, api.a.auth, "/api/v1/score-configs"
    )
    assert replaced.status_code == 200 and replaced.json()["categories"] == ["polite", "neutral", "rude"]
    names = [c["name"] for c in get(api, "/api/v1/score-configs", api.a.auth).json()["items"]]
    assert names == ["quality", "tone"]
    assert get(api, "/api/v1/score-configs/tone", api.a.auth).json()["description"] == "d"
    assert get(api, "/api/v1/score-configs/tone", api.b.auth).status_code == 404
    assert get(api, "/api/v1/score-configs", api.b.auth).json()["items"] == []

    batch = {
        "scores": [
            item(value=0.3),  # 0: fine
            item(value=1.5),  # 1: above the configured maximum
            {"value": 0.5, "trace_id": TRACE_A},  # 2: no name
            item(span_id=SPAN_A1, trace_id=None, session_id="s"),  # 3: span without trace
            item("tone", string_value="angry", value=None),  # 4: not a category
            item("tone", string_value="rude", value=None),  # 5: fine (value = index 2)
            item(value=0.1, data_type="boolean"),  # 6: contradicts the config
            "not an object",  # 7
        ]
    }
    refused = post(api, batch, api.a.auth)
    assert refused.status_code == 400
    body = refused.json()
    assert body["detail"] == "6 of 8 score(s) invalid; nothing was written"
    errors = {e["index"]: e for e in body["errors"]}
    assert sorted(errors) == [1, 2, 3, 4, 6, 7]
    assert errors[1]["field"] == "value" and "maximum 1" in errors[1]["message"]
    assert errors[2]["field"] == "name"
    assert "span_id needs trace_id" in errors[3]["message"]
    assert errors[4]["field"] == "string_value" and "'angry'" in errors[4]["message"]
    assert errors[6]["field"] == "data_type"
    assert listed(api, api.a.auth) == []  # all or nothing

    ok = post(api, {"scores": [batch["scores"][0], batch["scores"][5]]}, api.a.auth)
    assert ok.status_code == 201
    assert sorted((r["name"], r["value"]) for r in listed(api, api.a.auth)) == [
        ("quality", 0.3),
        ("tone", 2.0),
    ]
    # Project B has no config for "quality": out-of-range values are its business.
    assert post(api, item(value=1.5), api.b.auth).status_code == 201


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"", 400, "empty"),
        (b"{not json", 400, "not valid JSON"),
        (b"\xff\xfe", 400, "UTF-8"),
        (b"[1, 2]", 400, "score object"),
        (b'{"scores": []}', 400, "non-empty"),
        (b'{"scores": [], "extra": 1}', 400, "only 'scores'"),
        (json.dumps({"scores": [item()] * 1001}).encode(), 400, "at most 1000"),
        (
            b'{"name": "q", "value": 1, "trace_id": "' + b"x" * (9 * 1024 * 1024) + b'"}',
            413,
            "over the limit",
        ),
        (b'{"name": "q", "value": 1e400, "trace_id": "' + TRACE_A.encode() + b'"}', 400, "invalid"),
        (json.dumps(item(timestamp="2026-01-01T00:00:00")).encode(), 400, "invalid"),
        (json.dumps(item(timestamp="9999-01-01T00:00:00Z")).encode(), 400, "invalid"),
        (json.dumps(item(trace_id="zz")).encode(), 400, "invalid"),
        (json.dumps(item(comment="\ud800")).encode(), 400, "invalid"),  # a lone surrogate: not storable
        (json.dumps(item(comment="nul\x00")).encode(), 400, "invalid"),
        (json.dumps(item(source="robot")).encode(), 400, "invalid"),
        (json.dumps(item(unknown=1)).encode(), 400, "invalid"),
    ],
)
def test_bad_writes_are_4xx(api: Api, body: bytes, status: int, message: str) -> None:
    response = httpx.post(
        f"{api.url}/api/v1/scores",
        content=body,
        headers={**api.a.auth, "content-type": "application/json"},
        timeout=60,
    )
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]
    assert listed(api, api.a.auth) == []


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("/api/v1/scores", {"colour": "red"}, "unknown query parameter"),
        ("/api/v1/scores", {"cursor": "bogus!"}, "invalid cursor"),
        (
            "/api/v1/scores",
            {"cursor": "WzIsInRyYWNlcyIsInN0YXJ0X3RpbWUiLCJkZXNjIiwiMSIsIngiXQ"},
            "invalid cursor",
        ),
        ("/api/v1/scores", {"trace_id": "xyz"}, "trace_id must be"),
        ("/api/v1/scores", {"span_id": "abc"}, "span_id must be"),
        (
            "/api/v1/scores",
            {"start": "2026-02-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
            "start must not",
        ),
        ("/api/v1/scores", {"start": "2026-02-01T00:00:00"}, "time zone"),
        (
            "/api/v1/scores/aggregate",
            {"name": "q", "bucket": "1h", "start": "2000-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"},
            "buckets",
        ),
        ("/api/v1/scores/aggregate", {"name": "q", "grup_by": "model"}, "unknown query parameter"),
        ("/api/v1/scores/compare", {"name": "q", "dimension": "model", "a": "x", "b": "x"}, "different"),
        ("/api/v1/scores/correlation", {"name_a": "q", "name_b": "q"}, "same scores"),
        ("/api/v1/scores/agreement", {"name": "q", "source_a": "api", "source_b": "api"}, "same scores"),
    ],
)
def test_bad_queries_are_400(api: Api, path: str, params: dict[str, str], message: str) -> None:
    response = get(api, path, api.a.auth, **params)
    assert response.status_code == 400, response.text
    assert message in response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/scores", {"limit": "0"}),
        ("/api/v1/scores", {"min_value": "nan"}),
        ("/api/v1/scores/aggregate", {}),
        ("/api/v1/scores/aggregate", {"name": "q", "group_by": "colour"}),
        ("/api/v1/scores/aggregate", {"name": "q", "bins": "1000"}),
        ("/api/v1/scores/compare", {"name": "q", "dimension": "model"}),
    ],
)
def test_invalid_parameter_values_are_422(api: Api, path: str, params: dict[str, str]) -> None:
    assert get(api, path, api.a.auth, **params).status_code == 422


def test_text_postgres_cannot_store_is_refused(api: Api) -> None:
    config = {"name": "q", "data_type": "categorical", "categories": ["a\x00"]}
    assert post(api, config, api.a.auth, "/api/v1/score-configs").status_code == 400
    surrogate = json.dumps({"name": "q", "data_type": "numeric", "description": "\ud800"}).encode()
    response = httpx.post(
        f"{api.url}/api/v1/score-configs",
        content=surrogate,
        headers={**api.a.auth, "content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400 and "description" in response.json()["detail"]
    assert get(api, "/api/v1/score-configs/a%00b", api.a.auth).status_code == 422
    incomplete = post(api, {"name": "q", "data_type": "categorical"}, api.a.auth, "/api/v1/score-configs")
    assert incomplete.status_code == 400 and "at least one category" in incomplete.json()["detail"]
    assert post(api, ["q"], api.a.auth, "/api/v1/score-configs").status_code == 400
    assert get(api, "/api/v1/score-configs", api.a.auth).json()["items"] == []


def test_keys_are_required(api: Api) -> None:
    for path in ("/api/v1/scores", "/api/v1/scores/aggregate?name=q", "/api/v1/score-configs"):
        assert httpx.get(f"{api.url}{path}", timeout=30).status_code == 401
    assert httpx.post(f"{api.url}/api/v1/scores", json=item(), timeout=30).status_code == 401
    wrong = {"authorization": "Bearer sk-og-not-a-real-key-at-all"}
    assert post(api, item(), wrong).status_code == 401
    assert get(api, "/api/v1/scores", {"x-otelguard-public-key": api.a.public_key}).status_code == 401


def test_analytics_over_http(api: Api) -> None:
    when = (NOW - timedelta(minutes=5)).isoformat()
    scores = []
    for i, (judge, human) in enumerate([(1, 1), (1, 0), (0, 0), (1, 1), (0, 0), (0, 1)]):
        span = f"{i:016x}"
        scores.append(item("ok", value=bool(judge), span_id=span, source="evaluator", evaluator_name="j",
                           timestamp=when))  # fmt: skip
        scores.append(item("ok", value=bool(human), span_id=span, source="annotation", timestamp=when))
        scores.append(item("len", value=float(i), span_id=span, evaluator_name="len-v1", timestamp=when))
        scores.append(item("len", value=float(i) * 2, span_id=span, evaluator_name="len-v2", timestamp=when))
    assert post(api, {"scores": scores}, api.a.auth).status_code == 201
    post(api, item("ok", value=True, span_id=f"{0:016x}", source="annotation"), api.b.auth)

    aggregate = get(api, "/api/v1/scores/aggregate", api.a.auth, name="ok", group_by="source", bucket="all")
    assert aggregate.status_code == 200, aggregate.text
    series = {s["dimension"]: s["total"] for s in aggregate.json()["series"]}
    assert series["evaluator"]["count"] == 6 and series["evaluator"]["mean"] == 0.5
    assert series["annotation"]["categories"] == {"true": 3, "false": 3}

    compare = get(api, "/api/v1/scores/compare", api.a.auth, name="len", dimension="evaluator", a="len-v1",
                  b="len-v2").json()  # fmt: skip
    assert compare["mean_difference"] == pytest.approx(2.5) and compare["test"]["method"] == "welch_t"

    corr = get(api, "/api/v1/scores/correlation", api.a.auth, name_a="len", name_b="ok", evaluator_a="len-v1",
               source_b="evaluator").json()  # fmt: skip
    assert corr["n"] == 6 and -1 <= corr["pearson"] <= 1

    agreement = get(api, "/api/v1/scores/agreement", api.a.auth, name="ok", source_a="annotation",
                    source_b="evaluator").json()  # fmt: skip
    # matrix (A=annotation, B=evaluator): tt 2, tf 1, ft 1, ff 2 -> po 4/6, pe 0.5 -> kappa 1/3
    assert agreement["n"] == 6 and agreement["kappa"] == pytest.approx(1 / 3)
    assert agreement["positive"]["precision"] == pytest.approx(2 / 3)
    other = get(api, "/api/v1/scores/aggregate", api.b.auth, name="ok", bucket="all").json()["series"]
    assert [s["total"]["count"] for s in other] == [1]


def test_openapi_documents_the_routes(api: Api) -> None:
    spec = httpx.get(f"{api.url}/api/openapi.json", timeout=30).json()
    paths = spec["paths"]
    for path in ("/api/v1/scores", "/api/v1/scores/aggregate", "/api/v1/scores/compare",
                 "/api/v1/scores/correlation", "/api/v1/scores/agreement", "/api/v1/score-configs",
                 "/api/v1/score-configs/{name}", "/api/v1/feedback"):  # fmt: skip
        assert path in paths, path
    names = {p["name"] for p in paths["/api/v1/scores/aggregate"]["get"]["parameters"]}
    assert {"name", "bucket", "group_by", "bins", "start", "end"} <= names
    body = paths["/api/v1/scores"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert len(body["oneOf"]) == 2 and "name" in body["oneOf"][0]["properties"]
    assert "400" in paths["/api/v1/scores"]["post"]["responses"]
