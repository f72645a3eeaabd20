"""The API's 422 for a request FastAPI itself rejects never echoes the input: a lone surrogate in it made
the 422 a 500."""

from __future__ import annotations

from fastapi.testclient import TestClient
from pydantic import BaseModel

from otelguard.auth import KeyCache
from otelguard.webui.app import create_app
from otelguard.webui.context import ApiContext


class Body(BaseModel):
    count: int


def test_a_lone_surrogate_in_a_rejected_field_is_a_422_not_a_500() -> None:
    ctx = ApiContext(clickhouse=object(), keys=KeyCache(lambda creds: None))  # type: ignore[arg-type]
    app = create_app(ctx)

    @app.post("/probe")
    async def probe(body: Body) -> int:
        return body.count

    with TestClient(app) as client:
        headers = {"content-type": "application/json"}
        r = client.post("/probe", content=b'{"count": "\\ud800"}', headers=headers)
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["body", "count"]
        assert "input" not in r.json()["detail"][0]
        assert client.post("/probe", json={"count": 3}).json() == 3
