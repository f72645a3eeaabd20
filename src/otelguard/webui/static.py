"""Serve the built web UI (``webui/`` → ``otelguard/webui/static``) from the API server.

``/assets/*`` are content-hashed files: cached for a year, immutable. Any other ``GET`` path outside the
API (``/``, ``/traces/…``, …) is a client-side route and gets ``index.html`` (never cached, so a new build
shows at once). Paths under ``/api``, ``/healthz``, ``/readyz`` and ``/metrics`` are never answered with the
UI: an unknown API path stays a JSON 404. Without a build, ``/`` explains how to make one.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, Response

__all__ = ["STATIC_DIR", "register_static"]

STATIC_DIR = Path(__file__).with_name("static")
_RESERVED = ("api", "healthz", "readyz", "metrics")
_IMMUTABLE = "public, max-age=31536000, immutable"
_NO_CACHE = "no-cache"

_MISSING_BUILD = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>OTelGuard — web UI not built</title>
<style>body{font-family:system-ui,sans-serif;max-width:640px;margin:12vh auto;padding:0 24px;
color:#1f2937;line-height:1.6}
code,pre{background:#f3f4f6;border-radius:6px;padding:2px 6px}pre{padding:12px 16px}</style></head>
<body><h1>The OTelGuard web UI is not built</h1>
<p>The API is running (see <a href="/api/docs">/api/docs</a>), but this installation has no built web UI in
<code>otelguard/webui/static</code>. Build it from a source checkout (needs Node.js 20+):</p>
<pre>scripts/build_ui.sh        # or: make run</pre>
<p>which runs <code>npm ci &amp;&amp; npm run build</code> in <code>webui/</code>, then reload this page.</p>
</body></html>
"""


def _inside(root: Path, relative: str) -> Path | None:
    """The regular file ``root/relative``, or None when it is missing or escapes ``root``."""
    try:
        base = root.resolve()
        candidate = (base / relative).resolve()
    except (OSError, ValueError):
        return None
    if candidate != base and base not in candidate.parents:
        return None
    return candidate if candidate.is_file() else None


def register_static(app: FastAPI, directory: Path = STATIC_DIR) -> None:
    """Add the UI routes. Call after every API router: the catch-all route must come last."""

    @app.get("/assets/{path:path}", include_in_schema=False)
    def asset(path: str) -> Response:
        found = _inside(directory / "assets", path)
        if found is None:
            raise HTTPException(404, "asset not found")
        return FileResponse(found, headers={"cache-control": _IMMUTABLE})

    @app.get("/{path:path}", include_in_schema=False)
    def ui(path: str) -> Response:
        if path.split("/", 1)[0] in _RESERVED:
            raise HTTPException(404, "Not Found")
        index = directory / "index.html"
        if not index.is_file():
            return HTMLResponse(_MISSING_BUILD, status_code=503, headers={"cache-control": _NO_CACHE})
        if path and path != "index.html" and "/" not in path:
            top_level = _inside(directory, path)  # favicon.svg and other files of webui/public
            if top_level is not None:
                return FileResponse(top_level, headers={"cache-control": "public, max-age=3600"})
        return FileResponse(index, headers={"cache-control": _NO_CACHE})
