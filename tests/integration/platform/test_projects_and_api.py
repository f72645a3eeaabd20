"""Projects, keys and the read API on a running platform: a key only ever sees its own project; keys and
price overrides are managed with the CLI while the platform runs; filters, pagination and bad parameters."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from platform_process import Platform


def cli(platform: Platform, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "otelguard.cli", *args, "--data-dir", str(platform.data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def span_json(trace_id: str, *, user: str, session: str, model: str, start_s: int) -> bytes:
    attrs = {
        "gen_ai.request.model": model,
        "gen_ai.provider.name": "openai",
        "gen_ai.usage.input_tokens": 1_000_000,
        "gen_ai.usage.output_tokens": 0,
        "user.id": user,
        "session.id": session,
    }
    span = {
        "traceId": trace_id,
        "spanId": trace_id[:16],
        "name": f"chat {model}",
        "startTimeUnixNano": str(start_s * 10**9),
        "endTimeUnixNano": str(start_s * 10**9 + 250_000_000),
        "attributes": [
            {"key": k, "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}}
            for k, v in attrs.items()
        ],
    }
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}).encode()


def send(platform: Platform, key: str, body: bytes) -> None:
    r = httpx.post(
        f"{platform.otlp_http_url}/v1/traces",
        content=body,
        headers={"authorization": f"Bearer {key}", "content-type": "application/json"},
    )
    assert r.status_code == 200, r.text


@pytest.fixture(scope="module")
def other_key(platform: Platform) -> str:
    out = cli(platform, "keys", "create", "--project", "other", "--note", "isolation test")
    match = re.search(r"secret key: (\S+)", out)
    assert match, out
    return match.group(1)


def test_a_key_never_reads_or_writes_another_project(platform: Platform, other_key: str) -> None:
    send(
        platform,
        platform.api_key,
        span_json("a" * 32, user="u-default", session="s1", model="gpt-4o", start_s=1_764_000_000),
    )
    send(
        platform,
        other_key,
        span_json("b" * 32, user="u-other", session="s1", model="gpt-4o", start_s=1_764_000_001),
    )
    mine = platform.wait_for_traces(1, session_id="s1")
    other = Platform(platform.data_dir, api_key=other_key, api_port=platform.api_port)
    theirs = other.wait_for_traces(1, session_id="s1")
    assert [t["trace_id"] for t in mine] == ["a" * 32]
    assert [t["trace_id"] for t in theirs] == ["b" * 32]
    assert platform.get(f"/api/v1/traces/{'b' * 32}").status_code == 404
    assert other.get(f"/api/v1/traces/{'a' * 32}").status_code == 404
    # the same key over Basic auth (public:secret) and the x-otelguard-api-key header
    public = re.search(r"(pk-og-\w+)", cli(platform, "keys", "list", "--project", "other"))
    assert public
    basic = httpx.get(f"{platform.api_url}/api/v1/traces", auth=(public.group(1), other_key))
    assert [t["trace_id"] for t in basic.json()["items"]] == ["b" * 32]
    wrong_pair = httpx.get(f"{platform.api_url}/api/v1/traces", auth=("pk-og-0000000000000000", other_key))
    assert wrong_pair.status_code == 401
    header = httpx.get(f"{platform.api_url}/api/v1/traces", headers={"x-otelguard-api-key": other_key})
    assert header.status_code == 200 and len(header.json()["items"]) == 1


def test_price_overrides_apply_per_project(platform: Platform, other_key: str, tmp_path: Path) -> None:
    overrides = tmp_path / "prices.yaml"
    overrides.write_text("models:\n  - match: 'house-model-.*'\n    prices: [{input: 2.0, output: 4.0}]\n")
    cli(platform, "prices", "set", "--project", "other", "-f", str(overrides))
    assert "house-model" in cli(platform, "prices", "show", "--project", "other")
    time.sleep(0.1)
    # a fresh platform process would see it at once; this one caches for up to 30 s: restart to be quick
    platform.stop()
    platform.start()
    send(
        platform,
        other_key,
        span_json("c" * 32, user="u", session="s2", model="house-model-1", start_s=1_764_000_100),
    )
    send(
        platform,
        platform.api_key,
        span_json("d" * 32, user="u", session="s2", model="house-model-1", start_s=1_764_000_100),
    )
    other = Platform(platform.data_dir, api_key=other_key, api_port=platform.api_port)
    [priced] = other.wait_for_traces(1, session_id="s2")
    [unpriced] = platform.wait_for_traces(1, session_id="s2")
    assert priced["total_cost"] == pytest.approx(2.0)  # 1M input tokens at $2 / 1M
    assert unpriced["total_cost"] == 0  # no override in project default, unknown model


def test_invalid_overrides_are_refused(platform: Platform, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- match: '(unclosed'\n  prices: [{input: 1}]\n")
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "otelguard.cli",
            "prices",
            "set",
            "-f",
            str(bad),
            "--data-dir",
            str(platform.data_dir),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode != 0
    assert "invalid regex" in out.stderr


def test_filters_pagination_and_bad_parameters(platform: Platform) -> None:
    for i in range(5):
        send(
            platform,
            platform.api_key,
            span_json(
                f"{i + 1:x}" * 32,
                user=f"page-user-{i % 2}",
                session="pages",
                model="gpt-4o-mini",
                start_s=1_764_001_000 + i,
            ),
        )
    platform.wait_for_traces(5, session_id="pages")
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, object] = {"session_id": "pages", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = platform.get("/api/v1/traces", **params).json()
        seen += [t["trace_id"] for t in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"{i + 1:x}" * 32 for i in reversed(range(5))]  # newest first, no gaps or repeats
    assert len(platform.get("/api/v1/traces", session_id="pages", user_id="page-user-1").json()["items"]) == 2
    assert platform.get("/api/v1/traces", session_id="pages", model="gpt-4o").json()["items"] == []
    window = platform.get(
        "/api/v1/traces", session_id="pages", start="2025-11-24T16:16:41Z", end="2025-11-24T16:16:43Z"
    ).json()["items"]
    assert [t["trace_id"] for t in window] == [f"{i + 1:x}" * 32 for i in (2, 1)]
    for params, status in [
        ({"cursor": "not-a-cursor"}, 400),
        ({"limit": 0}, 422),
        ({"start": "yesterday"}, 422),
        ({"start": "2025-11-24T16:16:43Z", "end": "2025-11-24T16:16:41Z"}, 400),
        ({"start": "2025-11-24T16:16:43"}, 400),
        ({"user_id": "' OR 1=1 --"}, 200),
    ]:
        r = platform.get("/api/v1/traces", **params)
        assert r.status_code == status, (params, r.text)
        if status == 200:
            assert r.json()["items"] == []
    assert len(platform.get("/api/v1/traces", limit=100000).json()["items"]) <= 1000  # clamped, not refused
    assert platform.get("/api/v1/traces/not-hex").status_code == 400
    assert platform.get(f"/api/v1/traces/{'e' * 32}").status_code == 404
    assert httpx.get(f"{platform.api_url}/api/v1/traces").status_code == 401
    assert httpx.get(f"{platform.api_url}/api/openapi.json").json()["info"]["title"] == "OTelGuard API"
