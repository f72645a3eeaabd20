"""``register_static`` without a running platform: the missing-build page and path containment."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from otelguard.webui.static import register_static


def make_client(directory: Path) -> TestClient:
    app = FastAPI()

    @app.get("/api/v1/ping")
    def ping() -> dict[str, str]:
        return {"pong": "yes"}

    register_static(app, directory)
    return TestClient(app)


def test_missing_build_explains_how_to_build(tmp_path: Path) -> None:
    client = make_client(tmp_path / "static")
    response = client.get("/")
    assert response.status_code == 503
    assert "text/html" in response.headers["content-type"]
    assert "scripts/build_ui.sh" in response.text
    assert client.get("/traces").status_code == 503
    assert client.get("/api/v1/ping").json() == {"pong": "yes"}
    assert client.get("/api/v1/other").status_code == 404


def test_serves_index_assets_and_top_level_files(tmp_path: Path) -> None:
    static = tmp_path / "static"
    (static / "assets").mkdir(parents=True)
    (static / "index.html").write_text("<html>app</html>")
    (static / "assets" / "app-1234.js").write_text("console.log(1)")
    (static / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("nope")
    client = make_client(static)
    assert client.get("/").text == "<html>app</html>"
    assert client.get("/users").text == "<html>app</html>"
    assert client.get("/traces/abc/def").text == "<html>app</html>"
    js = client.get("/assets/app-1234.js")
    assert js.status_code == 200
    assert js.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert client.get("/favicon.svg").text == "<svg/>"
    # Nothing outside the build directory is ever served, however the path is spelled.
    for path in (
        "/assets/../../secret.txt",
        "/assets/%2e%2e/%2e%2e/secret.txt",
        "/assets/..%2f..%2fsecret.txt",
        "/..%2fsecret.txt",
        "/%2e%2e/secret.txt",
    ):
        assert "nope" not in client.get(path).text, path
    assert client.get("/metrics").status_code == 404
    assert client.get("/healthz").status_code == 404
