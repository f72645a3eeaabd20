"""Overview, user page and guardrail events in headless Chromium against a real ``otelguard up`` seeded
through the OpenTelemetry SDK (fixtures in conftest.py). Screenshots land in test-artifacts/ui/."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, Route, expect

from platform_process import Platform

pytestmark = pytest.mark.slow
Seeded = tuple[Platform, dict[str, str]]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"


def shot(page: Page, name: str, full_page: bool = False) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(250)  # fonts and the chart resize settle
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def sign_in(page: Page, platform: Platform, path: str = "/") -> None:
    page.goto(f"{platform.api_url}{path}")
    expect(page.get_by_role("heading", name="Sign in to OTelGuard")).to_be_visible()
    page.get_by_label("API key").fill(platform.api_key)
    page.get_by_role("button", name="Continue").click()


def nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def test_overview_is_the_landing_page_with_cards_and_charts(seeded: Seeded, page: Page) -> None:
    platform, _ = seeded
    sign_in(page, platform)
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()

    # Cards: 5 seeded traces, one of them (the agent's failing tool call) an error.
    expect(page.get_by_test_id("kpi-requests")).to_contain_text("5")
    expect(page.get_by_test_id("kpi-errors")).to_contain_text("20%")
    expect(page.get_by_test_id("kpi-errors")).to_contain_text("1 failed request")
    expect(page.get_by_test_id("kpi-tokens")).not_to_contain_text(
        "\u2013"
    )  # the placeholder dash of an empty card
    expect(page.get_by_test_id("kpi-latency")).to_contain_text(re.compile(r"\d"))

    # Charts are SVG with data marks.
    cost = page.get_by_test_id("chart-cost")
    expect(cost.locator("svg path.chart-area").first).to_be_attached()
    expect(cost.locator("svg path.chart-line").first).to_have_attribute("d", re.compile(r"^M"))
    tokens = page.get_by_test_id("chart-tokens")
    expect(tokens.locator("svg rect[height]").first).to_be_attached()
    assert tokens.locator(".chart-bars rect").count() >= 1
    # Stacked by model: the seeded models each have a legend entry.
    legend = tokens.locator(".chart-legend")
    for model in ("gpt-4o-mini", "gpt-4o", "gpt-4.1"):
        expect(legend.get_by_text(model, exact=True)).to_be_visible()
    latency = page.get_by_test_id("chart-latency")
    expect(latency.locator("svg g[data-series=p95]")).to_be_attached()
    assert latency.locator("svg g[data-series=p95] path, svg g[data-series=p95] circle").count() >= 1
    requests = page.get_by_test_id("chart-requests")
    expect(requests.locator("g[data-series=errors] rect")).to_have_count(1)

    # Hovering the busiest bucket shows a tooltip with the requests in it.
    bar = requests.locator("g[data-series=ok] rect").last
    box = bar.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    tip = requests.get_by_role("tooltip")
    expect(tip).to_be_visible()
    expect(tip).to_contain_text("Succeeded")
    expect(tip).to_contain_text("Total")
    shot(page, "20-overview-light")

    # The range lives in the URL; 1h still holds the seeded traces.
    page.get_by_role("group", name="Time range").get_by_role("button", name="1h").click()
    expect(page).to_have_url(re.compile(r"[?&]range=1h"))
    expect(page.get_by_test_id("kpi-requests")).to_contain_text("5")
    page.reload()
    expect(page.get_by_role("button", name="1h")).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_test_id("chart-requests").locator(".chart-bars rect").first).to_be_attached()

    page.get_by_test_id("theme-toggle").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.get_by_role("button", name="7d").click()
    expect(page.get_by_test_id("kpi-requests")).to_contain_text("5")
    expect(page.get_by_test_id("chart-cost").locator("path.chart-area").first).to_be_attached()
    shot(page, "21-overview-dark")
    page.get_by_test_id("theme-toggle").click()

    # Traces stay one click away.
    nav(page, "Traces")
    expect(page.get_by_role("table", name="Traces").locator("tbody tr")).to_have_count(5)


def test_overview_empty_project_points_to_the_first_trace_snippet(seeded: Seeded, page: Page) -> None:
    platform, _ = seeded
    empty_metric = {
        "metric": "requests", "agg": "count", "bucket": "1h", "scope": "traces", "group_by": [],
        "start_time": 0, "end_time": 1, "series": [], "truncated": False,
    }  # fmt: skip
    page.route(re.compile(r".*/api/v1/metrics\?.*"), lambda route: route.fulfill(json=empty_metric))
    page.route(
        re.compile(r".*/api/v1/traces\?.*"),
        lambda route: route.fulfill(json={"items": [], "next_cursor": None}),
    )
    sign_in(page, platform)
    onboarding = page.get_by_test_id("onboarding")
    expect(onboarding).to_contain_text("Send your first trace")
    expect(onboarding).to_contain_text("/v1/traces")
    shot(page, "22-overview-empty")


def test_overview_api_failure_shows_a_toast(seeded: Seeded, page: Page) -> None:
    platform, _ = seeded
    page.route(
        re.compile(r".*/api/v1/metrics\?.*metric=latency.*"),
        lambda route: route.fulfill(status=400, json={"detail": "the metrics store is unavailable"}),
    )
    sign_in(page, platform)
    toast = page.get_by_role("alert").filter(has_text="Request failed")
    expect(toast).to_be_visible()
    expect(toast).to_contain_text("the metrics store is unavailable")
    expect(page.get_by_test_id("kpi-requests")).to_contain_text("5")  # the rest of the page still works


def test_user_page_charts_and_traces_link(seeded: Seeded, page: Page) -> None:
    platform, _ = seeded
    sign_in(page, platform, "/users")
    users = page.get_by_role("table", name="Users")
    users.get_by_text("alice@example.com").click()
    expect(page).to_have_url(re.compile(r"/users/alice(%40|@)example\.com"))
    expect(page.get_by_role("heading", name="alice@example.com")).to_be_visible()
    expect(page.get_by_test_id("user-kpi-traces")).to_contain_text("2")
    expect(page.get_by_test_id("user-kpi-errors")).to_contain_text("50%")
    expect(page.get_by_test_id("user-kpi-tokens")).to_contain_text("2,330")  # 1240+310 and 600+180
    traces = page.get_by_test_id("chart-user-traces")
    assert traces.locator(".chart-bars rect").count() >= 1
    expect(traces.locator("g[data-series=errors] rect")).to_have_count(1)
    expect(page.get_by_test_id("chart-user-cost").locator("path.chart-area")).to_be_attached()
    assert page.get_by_test_id("chart-user-tokens").locator(".chart-bars rect").count() >= 1
    shot(page, "23-user-light")

    page.get_by_role("button", name="24h").click()
    expect(page).to_have_url(re.compile(r"range=24h"))
    expect(page.get_by_test_id("user-kpi-traces")).to_contain_text("2")
    page.get_by_test_id("theme-toggle").click()
    shot(page, "24-user-dark")
    page.get_by_test_id("theme-toggle").click()

    page.get_by_test_id("user-traces-link").click()
    expect(page).to_have_url(re.compile(r"/traces\?user_id=alice"))
    expect(page.get_by_role("table", name="Traces").locator("tbody tr")).to_have_count(2)


def test_guardrail_events_empty_state_and_url_filters(seeded: Seeded, page: Page) -> None:
    platform, _ = seeded
    sign_in(page, platform, "/traces")
    nav(page, "Guardrails")
    expect(page).to_have_url(re.compile(r"/guardrails$"))
    empty = page.get_by_test_id("events-empty")
    expect(empty).to_contain_text("No guardrail events yet")
    expect(empty).to_contain_text("GuardrailPolicy")
    shot(page, "25-guardrails-empty")

    page.get_by_label("Filter by stage").select_option("input")
    expect(page).to_have_url(re.compile(r"stage=input"))
    page.get_by_label("Filter by policy").fill("support-bot-safety")
    expect(page).to_have_url(re.compile(r"policy=support-bot-safety"))
    expect(page.get_by_test_id("events-empty")).to_contain_text("No events match")
    page.reload()
    expect(page.get_by_label("Filter by stage")).to_have_value("input")
    expect(page.get_by_label("Filter by policy")).to_have_value("support-bot-safety")
    page.get_by_role("button", name=re.compile(r"Clear 2 filters")).click()
    expect(page.get_by_test_id("events-empty")).to_contain_text("No guardrail events yet")


def _events(ids: dict[str, str]) -> list[dict[str, object]]:
    base = {"span_id": "00f067aa0ba902b7", "policy_version": "3", "latency_us": 1840}
    now = time.time_ns()
    return [
        {**base, "id": "e1", "trace_id": ids["agent"], "timestamp": now - 120 * 10**9,
         "policy": "support-bot-safety", "rule": "prompt-injection", "validator": "prompt-injection",
         "stage": "input", "action": "alert,block", "verdict": "block", "shadow": False,
         "findings": [{"validator": "prompt-injection", "score": 0.97}]},
        {**base, "id": "e2", "trace_id": ids["rag"], "timestamp": now - 3_600 * 10**9,
         "policy": "support-bot-safety", "rule": "pii", "validator": "pii", "stage": "input",
         "action": "sanitize,alert", "verdict": "flag", "shadow": False,
         "findings": [{"entity": "EMAIL_ADDRESS"}, {"entity": "PHONE_NUMBER"}]},
        {**base, "id": "e3", "trace_id": ids["rag"], "timestamp": now - 26 * 3_600 * 10**9,
         "policy": "toxicity-trial", "rule": "toxicity", "validator": "toxicity", "stage": "output",
         "action": "fallback", "verdict": "block", "shadow": True, "findings": []},
    ]  # fmt: skip


def test_guardrail_events_table_filters_and_trace_links(seeded: Seeded, page: Page) -> None:
    """The colleague's API has no way to create events from the seed yet: the answer is stubbed, the
    request the page sends (filters → query parameters) is checked."""
    platform, ids = seeded
    events = _events(ids)
    seen: list[dict[str, list[str]]] = []

    def answer(route: Route) -> None:
        q = parse_qs(urlparse(route.request.url).query)
        seen.append(q)
        items = [e for e in events if "verdict" not in q or e["verdict"] == q["verdict"][0]]
        route.fulfill(body=json.dumps({"items": items, "next_cursor": None}), content_type="application/json")

    page.route(re.compile(r".*/api/v1/guardrail-events(\?.*)?$"), answer)
    sign_in(page, platform, "/guardrails?range=30d")
    table = page.get_by_role("table", name="Guardrail events")
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("support-bot-safety")
    expect(rows.nth(0)).to_contain_text("prompt-injection")
    expect(rows.nth(0)).to_contain_text("block")
    expect(rows.nth(1)).to_contain_text("sanitize")
    expect(rows.nth(2).locator(".pill-shadow")).to_have_text("shadow")
    expect(page.get_by_test_id("event-count")).to_have_text("3 events")
    assert "start" in seen[-1] and "limit" in seen[-1] and "range" not in seen[-1]
    shot(page, "26-guardrails-light")

    page.get_by_label("Filter by verdict").select_option("block")
    expect(page).to_have_url(re.compile(r"verdict=block"))
    expect(rows).to_have_count(2)
    page.get_by_label("Filter by mode").select_option("true")
    expect(page).to_have_url(re.compile(r"shadow=true"))
    for _ in range(50):  # the select's request goes out right after the URL changes
        if any(q.get("shadow") == ["true"] and q.get("verdict") == ["block"] for q in seen):
            break
        page.wait_for_timeout(100)
    assert any(q.get("shadow") == ["true"] and q.get("verdict") == ["block"] for q in seen), seen[-3:]

    page.get_by_test_id("theme-toggle").click()
    shot(page, "27-guardrails-dark")
    page.get_by_test_id("theme-toggle").click()

    rows.nth(0).get_by_test_id("event-trace-link").click()
    expect(page).to_have_url(re.compile(rf"/traces/{ids['agent']}\?span="))
