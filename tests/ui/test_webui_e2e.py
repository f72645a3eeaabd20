"""The web UI in headless Chromium against a real ``otelguard up`` seeded through the OpenTelemetry SDK:
sign in, list, search, sort, open a trace (waterfall, chat messages), switch theme, sessions, users.
Screenshots land in test-artifacts/ui/."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from platform_process import Platform

pytestmark = pytest.mark.slow
Seeded = tuple[Platform, dict[str, str]]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def sign_in(page: Page, platform: Platform, path: str = "/traces") -> None:
    page.goto(f"{platform.api_url}{path}")
    expect(page.get_by_role("heading", name="Sign in to OTelGuard")).to_be_visible()
    page.get_by_label("API key").fill(platform.api_key)
    page.get_by_role("button", name="Continue").click()


def trace_rows(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("table", name="Traces").locator("tbody tr")


def test_sign_in_rejects_a_bad_key_then_lists_traces(seeded: Seeded, page: Page) -> None:
    platform, _ = seeded
    page.goto(f"{platform.api_url}/")
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    page.get_by_label("API key").fill("not-a-valid-key-0000000")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("not accepted")
    shot(page, "01-sign-in-error")

    page.get_by_label("API key").fill(platform.api_key)
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/$"))  # the overview is the landing page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Traces").click()
    expect(trace_rows(page)).to_have_count(5)
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Sessions")
    expect(page.get_by_text("invoke_agent support")).to_be_visible()
    expect(page.get_by_text("alice@example.com").first).to_be_visible()
    page.wait_for_timeout(300)  # fonts settle
    shot(page, "02-traces-light")
    # The key lives in sessionStorage, not localStorage.
    assert page.evaluate("sessionStorage.getItem('otelguard.apiKey')") == platform.api_key
    assert page.evaluate("localStorage.getItem('otelguard.apiKey')") is None


def test_search_sort_and_filters_live_in_the_url(seeded: Seeded, page: Page) -> None:
    platform, _ = seeded
    sign_in(page, platform)
    expect(trace_rows(page)).to_have_count(5)

    page.get_by_label("Search traces").fill("refund")
    expect(page).to_have_url(re.compile(r"[?&]q=refund"))
    expect(trace_rows(page)).to_have_count(1)
    expect(trace_rows(page).first).to_contain_text("rag answer")
    shot(page, "03-traces-search")

    # The URL is shareable: reloading keeps the filter.
    page.reload()
    expect(page.get_by_label("Search traces")).to_have_value("refund")
    expect(trace_rows(page)).to_have_count(1)
    page.get_by_label("Search traces").fill("")
    expect(trace_rows(page)).to_have_count(5)

    # Sorting maps to the API's sort/order.
    page.get_by_role("button", name="Tokens").click()
    expect(page).to_have_url(re.compile(r"sort=total_tokens"))
    expect(trace_rows(page).first).to_contain_text("rag answer")  # 2,380 tokens, the most
    page.get_by_role("button", name="Tokens").click()
    expect(page).to_have_url(re.compile(r"order=asc"))
    expect(trace_rows(page).last).to_contain_text("rag answer")

    # Errors only, and a click on a user filters by that user.
    page.get_by_label("Errors only").check()
    expect(trace_rows(page)).to_have_count(1)
    page.get_by_label("Errors only").uncheck()
    page.get_by_role("button", name="alice@example.com").first.click()
    expect(page).to_have_url(re.compile(r"user_id=alice%40example.com"))
    expect(trace_rows(page)).to_have_count(2)
    page.get_by_role("button", name="Clear User filter").click()
    expect(trace_rows(page)).to_have_count(5)

    # A time range preset narrows the list; nothing is older than 15 minutes here.
    page.get_by_role("button", name="15m").click()
    expect(page).to_have_url(re.compile(r"range=15m"))
    expect(trace_rows(page)).to_have_count(5)


def test_trace_detail_waterfall_and_chat_messages(seeded: Seeded, page: Page) -> None:
    platform, ids = seeded
    sign_in(page, platform)
    page.get_by_role("link", name="invoke_agent support").click()
    expect(page).to_have_url(re.compile(f"/traces/{ids['agent']}"))

    waterfall = page.get_by_test_id("waterfall")
    items = waterfall.get_by_role("treeitem")
    expect(items).to_have_count(3)
    expect(items.nth(0)).to_contain_text("invoke_agent support")
    expect(items.nth(1)).to_contain_text("chat gpt-4o-mini")
    expect(items.nth(2)).to_contain_text("execute_tool lookup_order")
    expect(items.nth(2)).to_have_class(re.compile(r"\berror\b"))
    expect(items.nth(1).locator("[data-kind=llm]")).to_be_visible()

    items.nth(1).click()
    panel = page.get_by_test_id("span-panel")
    expect(panel.get_by_role("heading", name="chat gpt-4o-mini")).to_be_visible()
    messages = panel.locator(".msg")
    expect(messages).to_have_count(3)  # system + user in, assistant out
    expect(panel.locator(".msg[data-role=user]")).to_contain_text("Where is my order #1042?")
    expect(panel.locator(".msg[data-role=assistant]")).to_contain_text("Let me look up order #1042")
    expect(panel).to_contain_text("gpt-4o-mini")
    expect(page).to_have_url(re.compile(r"[?&]span="))
    # Attributes are a collapsible JSON viewer.
    attrs = panel.locator("details.collapsible").first
    expect(attrs).to_contain_text("gen_ai.request.model")
    attrs.locator("summary").click()
    expect(attrs.locator(".json-viewer")).to_be_hidden()
    attrs.locator("summary").click()
    page.wait_for_timeout(200)
    shot(page, "04-trace-detail-light")

    items.nth(2).click()
    expect(panel).to_contain_text("order service timed out")

    # Collapse the root: its children disappear from the waterfall.
    items.nth(0).get_by_role("button", name="Collapse").click()
    expect(items).to_have_count(1)


def test_theme_toggle_persists(seeded: Seeded, page: Page) -> None:
    platform, ids = seeded
    sign_in(page, platform)
    html = page.locator("html")
    expect(html).to_have_attribute("data-theme", "light")
    page.get_by_test_id("theme-toggle").click()
    expect(html).to_have_attribute("data-theme", "dark")
    expect(trace_rows(page)).to_have_count(5)
    page.wait_for_timeout(200)
    shot(page, "05-traces-dark")
    page.goto(f"{platform.api_url}/traces/{ids['rag']}")
    expect(html).to_have_attribute("data-theme", "dark")  # persisted across a full page load
    items = page.get_by_test_id("waterfall").get_by_role("treeitem")
    expect(items).to_have_count(3)
    items.nth(2).click()
    expect(page.get_by_test_id("span-panel").locator(".msg[data-role=user]")).to_contain_text(
        "damaged blender"
    )
    page.wait_for_timeout(200)
    shot(page, "06-trace-detail-dark")
    page.get_by_test_id("theme-toggle").click()
    expect(html).to_have_attribute("data-theme", "light")


def test_sessions_and_users_pages(seeded: Seeded, page: Page) -> None:
    platform, _ = seeded
    sign_in(page, platform)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Sessions").click()
    table = page.get_by_role("table", name="Sessions")
    expect(table.locator("tbody tr")).to_have_count(5)
    expect(table).to_contain_text("sess-checkout-42")
    shot(page, "07-sessions")
    table.get_by_text("sess-checkout-42").click()
    expect(page).to_have_url(re.compile(r"/sessions/sess-checkout-42$"))  # the session timeline
    expect(page.get_by_test_id("timeline-row")).to_have_count(1)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Users").click()
    users = page.get_by_role("table", name="Users")
    expect(users.locator("tbody tr")).to_have_count(4)
    expect(users).to_contain_text("alice@example.com")
    shot(page, "08-users")


def test_empty_project_shows_the_first_trace_snippet(seeded: Seeded, page: Page) -> None:
    """A project without traces (the API answer is replaced with an empty page) explains how to send one."""
    platform, _ = seeded
    page.route(
        re.compile(r".*/api/v1/traces\?.*"),
        lambda route: route.fulfill(json={"items": [], "next_cursor": None}),
    )
    sign_in(page, platform)
    onboarding = page.get_by_test_id("onboarding")
    expect(onboarding).to_contain_text("Send your first trace")
    expect(onboarding).to_contain_text("http://127.0.0.1:4318/v1/traces")
    expect(onboarding.locator("pre")).not_to_contain_text(platform.api_key)  # masked on screen
    shot(page, "09-empty-state")


def test_expired_key_returns_to_sign_in_with_a_toast(seeded: Seeded, page: Page) -> None:
    platform, _ = seeded
    sign_in(page, platform)
    expect(trace_rows(page)).to_have_count(5)
    page.evaluate("sessionStorage.setItem('otelguard.apiKey', 'revoked-key-000000000000')")
    page.goto(f"{platform.api_url}/users")
    expect(page).to_have_url(re.compile(r"/sign-in"))
    expect(page.get_by_role("alert").filter(has_text="Signed out")).to_be_visible()


def test_static_serving(seeded: Seeded) -> None:
    platform, _ = seeded
    root = httpx.get(f"{platform.api_url}/")
    assert root.status_code == 200 and '<div id="root">' in root.text
    assert root.headers["cache-control"] == "no-cache"
    deep = httpx.get(f"{platform.api_url}/traces/0123456789abcdef0123456789abcdef?span=x")
    assert deep.status_code == 200 and '<div id="root">' in deep.text
    asset = re.search(r'src="(/assets/[^"]+\.js)"', root.text)
    assert asset is not None
    js = httpx.get(f"{platform.api_url}{asset.group(1)}")
    assert js.status_code == 200
    assert "immutable" in js.headers["cache-control"]
    assert "javascript" in js.headers["content-type"]
    assert httpx.get(f"{platform.api_url}/assets/missing.js").status_code == 404
    assert httpx.get(f"{platform.api_url}/assets/..%2f..%2fapp.py").status_code == 404
    assert httpx.get(f"{platform.api_url}/favicon.svg").headers["content-type"].startswith("image/svg")
    # The UI never shadows the API or the probes.
    missing_api = httpx.get(f"{platform.api_url}/api/v1/nope")
    assert missing_api.status_code == 404
    assert missing_api.headers["content-type"] == "application/json"
    assert httpx.get(f"{platform.api_url}/api/v1/traces").status_code == 401
    assert httpx.get(f"{platform.api_url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{platform.api_url}/metrics").headers["content-type"].startswith("text/plain")
    assert httpx.get(f"{platform.api_url}/api/openapi.json").json()["info"]["title"] == "OTelGuard API"
