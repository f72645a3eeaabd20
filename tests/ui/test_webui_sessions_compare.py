"""Session timeline, the traces table's column chooser and trace compare, in headless Chromium against a real
``otelguard up`` seeded through the OpenTelemetry SDK (plus a guardrail event through the guard API).
Screenshots land in test-artifacts/ui/."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode, Tracer
from playwright.sync_api import Page, expect

from platform_process import Platform

pytestmark = pytest.mark.slow
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"
SESSION = "sess-order-help"
MINUS = "\u2212"  # the UI writes negative changes with a real minus sign
POLICY = """\
apiVersion: otelguard.io/v1alpha1
kind: GuardrailPolicy
metadata: {name: pii-watch, namespace: ui-test}
spec:
  selector: {matchLabels: {app: shop-bot}}
  stages: [input]
  rules:
    - {name: pii, validator: pii, onFail: [{type: sanitize}]}
"""
Seeded = tuple[Platform, dict[str, str]]


def shot(page: Page, name: str) -> None:
    """The whole page: the viewport grows to the content (a full-page capture would detach the sticky
    sidebar), then shrinks back."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size or {"width": 1440, "height": 900}
    height = int(page.evaluate("document.documentElement.scrollHeight"))
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(height, 4000))})
    page.wait_for_timeout(250)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    page.set_viewport_size(size)


def sign_in(page: Page, platform: Platform, path: str) -> None:
    page.goto(f"{platform.api_url}{path}")
    page.get_by_label("API key").fill(platform.api_key)
    page.get_by_role("button", name="Continue").click()


def _messages(*pairs: tuple[str, str]) -> str:
    return json.dumps([{"role": r, "parts": [{"type": "text", "content": c}]} for r, c in pairs])


def _turn(
    tracer: Tracer,
    base_ns: int,
    at_s: float,
    dur_s: float,
    *,
    question: str,
    answer: str,
    model: str,
    tokens: tuple[int, int],
    temperature: float,
    tool_error: str | None = None,
    history: tuple[tuple[str, str], ...] = (),
) -> str:
    """One agent turn of the session: agent root → chat → tool, at explicit times (to scale)."""
    start = base_ns + int(at_s * 1e9)
    end = start + int(dur_s * 1e9)
    root = tracer.start_span("invoke_agent shop-assistant", start_time=start)
    root.set_attribute("gen_ai.operation.name", "invoke_agent")
    root.set_attribute("gen_ai.agent.name", "shop-assistant")
    root.set_attribute("session.id", SESSION)
    root.set_attribute("user.id", "erin@example.com")
    ctx = trace.set_span_in_context(root)
    llm = tracer.start_span("chat " + model, context=ctx, start_time=start + int(0.1e9))
    llm.set_attribute("gen_ai.operation.name", "chat")
    llm.set_attribute("gen_ai.provider.name", "openai")
    llm.set_attribute("gen_ai.request.model", model)
    llm.set_attribute("gen_ai.request.temperature", temperature)
    llm.set_attribute("gen_ai.usage.input_tokens", tokens[0])
    llm.set_attribute("gen_ai.usage.output_tokens", tokens[1])
    llm.set_attribute(
        "gen_ai.input.messages",
        _messages(("system", "You are the Acme Shop assistant. Be brief."), *history, ("user", question)),
    )
    llm.set_attribute("gen_ai.output.messages", _messages(("assistant", answer)))
    llm.end(end_time=start + int(dur_s * 0.7e9))
    tool = tracer.start_span("execute_tool lookup_order", context=ctx, start_time=start + int(dur_s * 0.72e9))
    tool.set_attribute("gen_ai.operation.name", "execute_tool")
    tool.set_attribute("gen_ai.tool.name", "lookup_order")
    if tool_error:
        tool.set_status(Status(StatusCode.ERROR, tool_error))
    tool.end(end_time=end - int(0.05e9))
    root.end(end_time=end)
    return format(root.get_span_context().trace_id, "032x")


def seed_session(platform: Platform) -> dict[str, str]:
    exporter = OTLPSpanExporter(endpoint=f"{platform.otlp_http_url}/v1/traces", headers=platform.auth)
    provider = TracerProvider(resource=Resource.create({"service.name": "shop-bot"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("otelguard.ui-tests.sessions")
    base = time.time_ns() - 300 * 10**9
    q1, a1 = "Hi! Where is my order #2231?", "Order #2231 left our warehouse yesterday and arrives Thursday."
    q2 = "Can you send the invoice to erin@example.com instead?"
    ids = {
        "t1": _turn(tracer, base, 0, 2.4, question=q1, answer=a1, model="gpt-4o-mini", tokens=(820, 96),
                    temperature=0.2),
        "t2": _turn(tracer, base, 38, 3.6, question=q2, model="gpt-4o-mini", tokens=(1310, 140),
                    temperature=0.7, history=(("user", q1), ("assistant", a1)),
                    answer="I tried to update the invoice address, but the order service did not answer.",
                    tool_error="order service timed out after 3s"),
        "t3": _turn(tracer, base, 95, 1.5, question="Thanks, that's all.", model="gpt-4o", tokens=(1490, 24),
                    temperature=0.2, answer="You're welcome, Erin — have a great day!"),
    }  # fmt: skip
    provider.shutdown()
    platform.wait_for_traces(3, session_id=SESSION)
    return ids


def _until(what: str, check: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def guardrail_hit(platform: Platform, trace_id: str, tmp: Path) -> None:
    """A real guardrail event on the trace: apply a PII policy, then call the guard API for that trace."""
    (tmp / "policy.yaml").write_text(POLICY)
    cmd = [sys.executable, "-m", "otelguard.cli", "apply", "-f", str(tmp / "policy.yaml")]
    done = subprocess.run(
        [*cmd, "--data-dir", str(platform.data_dir)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr

    def guard(text: str, **meta: Any) -> dict[str, Any]:
        body = {"stage": "input", "input": text, "metadata": {"labels": {"app": "shop-bot"}, **meta}}
        r = httpx.post(f"{platform.api_url}/api/v1/guard", json=body, headers=platform.auth, timeout=30)
        assert r.status_code == 200, r.text
        result: dict[str, Any] = r.json()
        return result

    _until("the policy", lambda: guard("x")["policies"] == ["ui-test/pii-watch"])
    assert guard("send it to erin@example.com", trace_id=trace_id)["findings"]
    _until(
        "the guardrail event",
        lambda: bool(platform.get("/api/v1/guardrail-events", trace_id=trace_id).json()["items"]),
    )


@pytest.fixture(scope="module")
def session(seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    platform, base_ids = seeded
    ids = {**base_ids, **seed_session(platform)}
    guardrail_hit(platform, ids["t2"], tmp_path_factory.mktemp("ui-policy"))
    return platform, ids


def test_session_timeline_from_the_sessions_list(session: Seeded, page: Page) -> None:
    platform, ids = session
    sign_in(page, platform, "/sessions")
    table = page.get_by_role("table", name="Sessions")
    expect(table.locator("tbody tr")).to_have_count(6)
    table.get_by_role("link", name=SESSION).click()
    expect(page).to_have_url(re.compile(f"/sessions/{SESSION}$"))
    expect(page.get_by_role("heading", name=f"Session {SESSION}")).to_be_visible()

    rows = page.get_by_test_id("timeline-row")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("invoke_agent shop-assistant")
    expect(rows.nth(0)).to_contain_text("gpt-4o-mini")
    expect(rows.nth(1)).to_have_class(re.compile(r"\berror\b"))
    expect(rows.nth(1).get_by_test_id("guardrail-marker")).to_contain_text("1")
    expect(rows.nth(0).get_by_test_id("guardrail-marker")).to_have_count(0)
    expect(rows.nth(2)).to_contain_text("gpt-4o")
    # Bars are placed to scale: turn 2 starts 38 s into a ~96.5 s session, turn 3 at 95 s.
    lefts = [
        float(rows.nth(i).locator(".st-bar").evaluate("e => parseFloat(e.style.left)")) for i in range(3)
    ]
    assert lefts[0] == pytest.approx(0, abs=0.01)
    assert lefts[1] == pytest.approx(38 / 96.5 * 100, abs=1)
    assert lefts[2] == pytest.approx(95 / 96.5 * 100, abs=1)

    # The conversation: the new user message of each turn (not the repeated history) and the answer.
    turns = page.get_by_test_id("turn")
    expect(turns).to_have_count(3)
    expect(turns.nth(0).locator("[data-role=user]")).to_have_text(re.compile("Where is my order #2231"))
    expect(turns.nth(0).locator("[data-role=assistant]")).to_contain_text("arrives Thursday")
    expect(turns.nth(1).locator("[data-role=user]")).to_contain_text("send the invoice")
    expect(turns.nth(1).locator("[data-role=user]")).not_to_contain_text("#2231")
    expect(turns.nth(1)).to_contain_text("order service timed out after 3s")
    expect(turns.nth(1)).to_contain_text("1 guardrail")
    expect(page.locator(".stats")).to_contain_text("Guardrail hits1")
    page.wait_for_timeout(300)
    shot(page, "30-session-timeline-light")

    page.get_by_test_id("theme-toggle").click()
    page.wait_for_timeout(200)
    shot(page, "31-session-timeline-dark")
    page.get_by_test_id("theme-toggle").click()

    rows.nth(1).click()  # a timeline row opens its trace
    expect(page).to_have_url(re.compile(f"/traces/{ids['t2']}$"))
    expect(page.get_by_test_id("waterfall").get_by_role("treeitem")).to_have_count(3)


def test_unknown_session_is_a_clear_empty_state(session: Seeded, page: Page) -> None:
    platform, _ = session
    sign_in(page, platform, "/sessions/no-such-session")
    expect(page.get_by_role("heading", name="Session not found")).to_be_visible()


def test_column_chooser_hides_columns_across_reloads(session: Seeded, page: Page) -> None:
    platform, _ = session
    sign_in(page, platform, "/traces?q=order")
    table = page.get_by_role("table", name="Traces")
    expect(table.locator("tbody tr").first).to_be_visible()
    expect(table.locator("th[data-column=user_id]")).to_be_visible()
    expect(table.locator("th[data-column=trace_id]")).to_have_count(0)  # hidden by default

    page.get_by_role("button", name="Columns").click()
    menu = page.get_by_role("group", name="Visible columns")
    menu.get_by_label("User").uncheck()
    menu.get_by_label("Trace ID").check()
    expect(menu.get_by_label("Name")).to_have_count(0)  # the name always shows
    expect(table.locator("th[data-column=user_id]")).to_have_count(0)
    expect(table.locator("th[data-column=trace_id]")).to_be_visible()
    shot(page, "32-traces-column-chooser")
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(page.get_by_test_id("hidden-columns")).to_have_text("1")

    page.reload()  # the layout is in localStorage; the filter stays in the URL
    expect(page).to_have_url(re.compile(r"[?&]q=order"))
    expect(page.get_by_label("Search traces")).to_have_value("order")
    expect(table.locator("tbody tr").first).to_be_visible()
    expect(table.locator("th[data-column=user_id]")).to_have_count(0)
    expect(table.locator("th[data-column=trace_id]")).to_be_visible()
    assert "columns" not in page.url
    saved = json.loads(page.evaluate("localStorage.getItem('otelguard.columns.traces')"))
    assert saved == {"user_id": False, "trace_id": True}

    page.get_by_role("button", name="Columns").click()
    page.get_by_role("button", name="Reset to default").click()
    expect(table.locator("th[data-column=user_id]")).to_be_visible()
    expect(table.locator("th[data-column=trace_id]")).to_have_count(0)
    assert page.evaluate("localStorage.getItem('otelguard.columns.traces')") is None


def test_compare_two_traces(session: Seeded, page: Page) -> None:
    platform, ids = session
    sign_in(page, platform, f"/traces?session_id={SESSION}&range=all&sort=start_time&order=asc")
    rows = page.get_by_role("table", name="Traces").locator("tbody tr")
    expect(rows).to_have_count(3)
    compare = page.get_by_role("button", name=re.compile("^Compare"))
    expect(compare).to_be_disabled()
    rows.nth(0).get_by_role("checkbox").check()
    expect(page.get_by_test_id("compare-selection")).to_contain_text("1 of 2 selected")
    rows.nth(1).get_by_role("checkbox").check()
    expect(rows.nth(1)).to_have_class(re.compile(r"\brow-selected\b"))
    expect(compare).to_be_enabled()
    shot(page, "35-traces-compare-selection")
    compare.click()
    expect(page).to_have_url(re.compile(f"/compare\\?a={ids['t1']}&b={ids['t2']}$"))

    expect(page.get_by_test_id("trace-a")).to_contain_text("invoke_agent shop-assistant")
    totals = page.get_by_role("table", name="Totals")
    expect(totals.locator("tr[data-metric=total_tokens]")).to_contain_text("916")  # 820 + 96
    expect(totals.locator("tr[data-metric=total_tokens]")).to_contain_text("1,450")
    expect(totals.locator("tr[data-metric=errors] .delta-worse")).to_contain_text("+1")
    expect(totals.locator("tr[data-metric=latency] .delta-worse")).to_be_visible()

    # Input/output: B repeats A's exchange as history and adds the new question; the rest is equal.
    diff_in = page.get_by_test_id("diff-input").first
    expect(diff_in.locator(".dl-equal")).to_contain_text(["[system]", "[user]", "Where is my order #2231?"])
    expect(diff_in.locator(".dl-add")).to_contain_text(
        ["[assistant]", "arrives Thursday", "[user]", "invoice"]
    )
    expect(diff_in.locator(".dl-del")).to_have_count(0)
    expect(diff_in).to_contain_text(f"+6 {MINUS}0 lines")  # a blank line between messages
    expect(page.get_by_test_id("diff-output").first.locator(".dl-add")).to_contain_text(
        ["I tried to update the invoice address"]
    )

    # Spans matched by name+kind: all three pair up; the chat span's temperature attribute changed.
    pairs = page.get_by_test_id("span-pair")
    expect(pairs).to_have_count(3)
    expect(page.get_by_test_id("span-summary")).to_contain_text("3 matched")
    expect(pairs.filter(has_text="invoke_agent")).to_have_attribute("data-status", "same")
    expect(pairs.filter(has_text="execute_tool")).to_have_attribute("data-status", "changed")  # fails in B
    chat = pairs.filter(has_text="chat gpt-4o-mini")
    expect(chat).to_have_attribute("data-status", "changed")
    chat.get_by_role("button").first.click()
    changed = chat.get_by_test_id("attr-diff").locator("tr[data-kind=changed]")
    expect(changed.filter(has_text="gen_ai.request.temperature")).to_contain_text("0.7")
    page.wait_for_timeout(300)
    shot(page, "33-compare-light")

    page.get_by_test_id("theme-toggle").click()
    page.wait_for_timeout(200)
    shot(page, "34-compare-dark")
    page.get_by_test_id("theme-toggle").click()

    page.get_by_role("button", name="Swap A and B").click()
    expect(page).to_have_url(re.compile(f"a={ids['t2']}&b={ids['t1']}"))
    expect(totals.locator("tr[data-metric=errors] .delta-better")).to_contain_text(f"{MINUS}1")


def test_compare_with_a_missing_trace_explains_itself(session: Seeded, page: Page) -> None:
    platform, ids = session
    sign_in(page, platform, f"/compare?a={ids['t1']}&b={'0' * 32}")
    expect(page.get_by_role("heading", name="Trace B not found")).to_be_visible()
    page.goto(f"{platform.api_url}/compare")
    expect(page.get_by_role("heading", name="Pick two traces to compare")).to_be_visible()
