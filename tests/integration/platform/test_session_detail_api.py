"""GET /api/v1/sessions/{id} on a running platform: each trace of the session read as a conversation turn
(the user's message, the answer, the first error, guardrail hits), oldest first, paged, per project;
bad input is a clear 4xx."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_projects_and_api import cli, send

from platform_process import Platform

pytestmark = pytest.mark.slow

NOW_NS = (int(time.time()) - 600) * 10**9
SESSION = "sess-turns"
T1, T2, T3 = "1" * 32, "2" * 32, "3" * 32
POLICY = """\
apiVersion: otelguard.io/v1alpha1
kind: GuardrailPolicy
metadata: {name: pii-watch, namespace: session-test}
spec:
  selector: {matchLabels: {app: session-test}}
  stages: [input]
  rules:
    - {name: pii, validator: pii, onFail: [{type: sanitize}]}
"""


def _value(v: Any) -> dict[str, Any]:
    if isinstance(v, int):
        return {"intValue": str(v)}
    return {"stringValue": v}


def span(
    trace_id: str,
    span_id: str,
    name: str,
    *,
    start_ms: int,
    end_ms: int,
    parent: str = "",
    error: str | None = None,
    **attrs: Any,
) -> dict[str, Any]:
    return {
        "traceId": trace_id,
        "spanId": span_id,
        "parentSpanId": parent,
        "name": name,
        "startTimeUnixNano": str(NOW_NS + start_ms * 10**6),
        "endTimeUnixNano": str(NOW_NS + end_ms * 10**6),
        "attributes": [{"key": k.replace("__", "."), "value": _value(v)} for k, v in attrs.items()],
        "status": {"code": 2, "message": error} if error else {"code": 1},
    }


def body(*spans: dict[str, Any]) -> bytes:
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": list(spans)}]}]}).encode()


def msgs(*pairs: tuple[str, str]) -> str:
    return json.dumps([{"role": r, "parts": [{"type": "text", "content": c}]} for r, c in pairs])


def session_trace_spans(session: str = SESSION) -> list[bytes]:
    common = {"session__id": session, "user__id": "u1"}
    # Turn 1: an agent root without input; its LLM child carries the messages (history + the new question).
    turn1 = body(
        span(T1, "a" * 16, "invoke_agent shop", start_ms=0, end_ms=900, **common),
        span(
            T1, "b" * 16, "chat gpt-4o-mini", parent="a" * 16, start_ms=100, end_ms=800,
            gen_ai__operation__name="chat", gen_ai__request__model="gpt-4o-mini",
            gen_ai__input__messages=msgs(("system", "Be brief."), ("user", "Where is order 7?")),
            gen_ai__output__messages=msgs(("assistant", "Order 7 ships tomorrow.")),
            **common,
        ),
    )  # fmt: skip
    # Turn 2: the root has a plain-text input and output; a tool child fails.
    turn2 = body(
        span(T2, "c" * 16, "answer", start_ms=5000, end_ms=6000, input__value="And order 8?",
             output__value="I could not look up order 8.", **common),
        span(T2, "d" * 16, "execute_tool lookup", parent="c" * 16, start_ms=5100, end_ms=5200,
             error="order service timed out", **common),
    )  # fmt: skip
    # Turn 3: OpenAI-style messages; the input repeats the history, the last user message is the new one.
    history = [
        {"role": "user", "content": "Where is order 7?"},
        {"role": "assistant", "content": "Order 7 ships tomorrow."},
        {"role": "user", "content": "Thanks! Cancel order 8."},
    ]
    answer = [{"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "cancel_order", "arguments": '{"id": 8}'}}
    ]}]  # fmt: skip
    turn3 = body(
        span(T3, "e" * 16, "chat gpt-4o", start_ms=9000, end_ms=9500, gen_ai__request__model="gpt-4o",
             gen_ai__input__messages=json.dumps(history), gen_ai__output__messages=json.dumps(answer),
             **common),
    )  # fmt: skip
    return [turn1, turn2, turn3]


@pytest.fixture(scope="module")
def other(platform: Platform) -> Platform:
    out = cli(platform, "keys", "create", "--project", "other", "--note", "session isolation")
    match = re.search(r"secret key: (\S+)", out)
    assert match, out
    return Platform(
        platform.data_dir, api_key=match.group(1), api_port=platform.api_port, http_port=platform.http_port
    )


def _guard(platform: Platform, text: str, **meta: Any) -> dict[str, Any]:
    r = httpx.post(
        f"{platform.api_url}/api/v1/guard",
        json={"stage": "input", "input": text, "metadata": {"labels": {"app": "session-test"}, **meta}},
        headers=platform.auth,
        timeout=30,
    )
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def _until(what: str, check: Any, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def data(platform: Platform, other: Platform, tmp_path_factory: pytest.TempPathFactory) -> None:
    for payload in session_trace_spans():
        send(platform, platform.api_key, payload)
    # Another project uses the same session id: it must never see these turns (nor they its turn).
    theirs = span("9" * 32, "f" * 16, "other", start_ms=0, end_ms=10, session__id=SESSION,
                  input__value="other project text")  # fmt: skip
    send(other, other.api_key, body(theirs))
    platform.wait_for_traces(3, session_id=SESSION)
    other.wait_for_traces(1)
    # Two guardrail events on turn 2 (an email and a phone number, sanitized).
    policy = Path(tmp_path_factory.mktemp("session-policy")) / "policy.yaml"
    policy.write_text(POLICY)
    cli(platform, "apply", "-f", str(policy))
    _until("the policy to load", lambda: _guard(platform, "x")["policies"] == ["session-test/pii-watch"])
    findings = _guard(platform, "mail jane@example.com", trace_id=T2)["findings"]
    assert findings, "the pii validator found nothing"
    _until(
        "the guardrail event",
        lambda: platform.get("/api/v1/guardrail-events", trace_id=T2).json()["items"] != [],
    )


@pytest.mark.usefixtures("data")
def test_session_detail_reads_as_a_conversation(platform: Platform) -> None:
    r = platform.get(f"/api/v1/sessions/{SESSION}")
    assert r.status_code == 200, r.text
    detail = r.json()
    assert (detail["trace_count"], detail["error_count"], detail["user_ids"]) == (3, 1, ["u1"])
    turns = detail["traces"]
    assert [t["trace_id"] for t in turns] == [T1, T2, T3]  # oldest first
    previews = [(t["input_preview"], t["output_preview"]) for t in turns]
    assert previews == [
        ("Where is order 7?", "Order 7 ships tomorrow."),  # from the LLM child: the root has no input
        ("And order 8?", "I could not look up order 8."),
        ("Thanks! Cancel order 8.", '→ cancel_order({"id": 8})'),  # the last user message; a tool call
    ]
    assert [t["error_message"] for t in turns] == ["", "order service timed out", ""]
    events = len(platform.get("/api/v1/guardrail-events", trace_id=T2).json()["items"])
    assert events >= 1
    assert [t["guardrail_hits"] for t in turns] == [0, events, 0]
    assert turns[0]["models"] == ["gpt-4o-mini"] and turns[0]["span_count"] == 2
    # Turn 1 lasts 900 ms and turn 3 starts 9 s after turn 1: the timeline scales bars from these.
    assert turns[0]["latency_ms"] == pytest.approx(900)
    assert (turns[2]["start_time"] - turns[0]["start_time"]) / 1e6 == pytest.approx(9000)


@pytest.mark.usefixtures("data")
def test_session_detail_pages_keep_the_previews(platform: Platform) -> None:
    first = platform.get(f"/api/v1/sessions/{SESSION}", limit=2).json()
    assert [t["trace_id"] for t in first["traces"]] == [T1, T2] and first["next_cursor"]
    rest = platform.get(f"/api/v1/sessions/{SESSION}", limit=2, cursor=first["next_cursor"]).json()
    assert [t["trace_id"] for t in rest["traces"]] == [T3] and rest["next_cursor"] is None
    assert rest["traces"][0]["input_preview"] == "Thanks! Cancel order 8."
    assert rest["trace_count"] == 3  # the totals cover the whole session on every page


@pytest.mark.usefixtures("data")
def test_a_key_reads_only_its_projects_turns(platform: Platform, other: Platform) -> None:
    mine = platform.get(f"/api/v1/sessions/{SESSION}").json()["traces"]
    assert all(t["input_preview"] != "other project text" for t in mine)
    theirs = other.get(f"/api/v1/sessions/{SESSION}").json()["traces"]
    assert [(t["trace_id"], t["input_preview"], t["guardrail_hits"]) for t in theirs] == [
        ("9" * 32, "other project text", 0)
    ]
    assert httpx.get(f"{platform.api_url}/api/v1/sessions/{SESSION}").status_code == 401


@pytest.mark.usefixtures("data")
def test_bad_input_is_a_clear_4xx(platform: Platform) -> None:
    cases: list[tuple[str, dict[str, Any], int]] = [
        (f"/api/v1/sessions/{SESSION}", {"cursor": "not-a-cursor"}, 400),
        (f"/api/v1/sessions/{SESSION}", {"bogus": "1"}, 400),
        (f"/api/v1/sessions/{SESSION}", {"limit": 0}, 422),
        (f"/api/v1/sessions/{'x' * 600}", {}, 422),
        ("/api/v1/sessions/no-such-session", {}, 404),
        ("/api/v1/sessions/' OR 1=1 --", {}, 404),
    ]
    for path, params, status in cases:
        r = platform.get(path, **params)
        assert r.status_code == status, (path, params, r.text)
        assert r.json()["detail"]
    big = platform.get(f"/api/v1/sessions/{SESSION}", limit=10**9)
    assert big.status_code == 200 and len(big.json()["traces"]) == 3
