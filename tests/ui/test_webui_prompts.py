"""The prompts UI in headless Chromium against a real ``otelguard up --manifests DIR``: Prompt YAMLs edited in
place make versions 1-3 (with git revisions), a label moves, and LLM spans sent through the OpenTelemetry SDK
carry the prompt version. Screenshots land in test-artifacts/ui/."""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Status, StatusCode
from playwright.sync_api import Page, expect

import polling
from platform_process import Platform

pytestmark = pytest.mark.slow
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"

TRIAGE = """\
apiVersion: otelguard.io/v1alpha1
kind: Prompt
metadata:
  name: support-triage
  namespace: support
  annotations: {{otelguard.io/git-revision: "{revision}"}}
spec:
  description: Classifies an incoming support ticket and drafts a first reply.
  messages:
    - role: system
      content: |
        You are a support triage assistant for {{{{ product }}}}.
        Classify the ticket as one of: billing, bug, how-to, other.
        {system_extra}
    - role: user
      content: "{{{{ ticket }}}}"
  variables:
    - {{name: product, required: true, description: Product name shown to the customer.}}
    - {{name: ticket, required: true}}
    - {{name: language, default: English}}
  modelConfig: {{provider: openai, model: {model}, temperature: {temperature}, maxTokens: 512}}
  labels: {{production: {production}, staging: latest}}
  tags: [support, triage]
  folder: support/triage
"""

SUMMARIZE = """\
apiVersion: otelguard.io/v1alpha1
kind: Prompt
metadata: {name: summarize-thread, namespace: support}
spec:
  description: Summarises a customer thread for the hand-over note.
  template: |
    Summarise the conversation below in {{ sentences }} sentences.
    {% for m in messages %}- {{ m }}
    {% endfor %}
  variables:
    - {name: sentences, default: "3"}
    - {name: messages, required: true}
  modelConfig: {model: gpt-4o-mini}
  labels: {production: latest}
  tags: [summaries]
  folder: writing
"""

# (git revision, extra system line, model, temperature, production label) for versions 1, 2, 3.
VERSIONS = [
    ("a1b2c3d4e5f60718293a4b5c6d7e8f9012345678", "Answer in English.", "gpt-4o-mini", 0.2, "1"),
    (
        "b2c3d4e5f60718293a4b5c6d7e8f901234567890",
        "Answer in {{ language }}. Be concise.",
        "gpt-4o-mini",
        0.3,
        "1",
    ),
    (
        "c3d4e5f60718293a4b5c6d7e8f90123456789012",
        "Answer in {{ language }}. Be concise and kind.",
        "gpt-4o",
        0.3,
        "2",
    ),
]


def write_triage(path: Path, version: int) -> None:
    revision, extra, model, temperature, production = VERSIONS[version - 1]
    path.write_text(
        TRIAGE.format(
            revision=revision, system_extra=extra, model=model, temperature=temperature, production=production
        )
    )


eventually = functools.partial(polling.eventually, timeout_s=45.0)


def timeline(platform: Platform) -> list[dict[str, object]]:
    r = platform.get("/api/v1/prompts/support-triage/versions")
    return r.json()["items"] if r.status_code == 200 else []


def seed_prompt_spans(platform: Platform) -> int:
    """LLM calls made with support-triage, sent through the OpenTelemetry SDK with the attributes the
    OTelGuard SDK sets: v1 over the last hours (one failure), a little v2 staging traffic before the label
    moves, then v2 after production moved to it — slower and dearer, so the move is a regression (the check
    compares 20+ spans on each side)."""
    exporter = OTLPSpanExporter(endpoint=f"{platform.otlp_http_url}/v1/traces", headers=platform.auth)
    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("otelguard.ui-tests.prompts")
    now = time.time_ns()
    minute = 60 * 10**9
    calls: list[tuple[int, int, int, int, bool]] = []  # (version, start, latency ms, input tokens, failed)
    calls += [(1, now - (300 - 11 * i) * minute, 780 + 9 * i, 900 + 7 * i, i == 5) for i in range(22)]
    calls += [(2, now - (50 - 10 * i) * minute, 1400 + 20 * i, 1500, False) for i in range(4)]
    # 10 ms apart just after now (after the label move): all in the past by the time a test queries "now"
    calls += [(2, now + i * 10**7, 1500 + 15 * i, 1600 + 5 * i, False) for i in range(22)]
    for version, start, latency_ms, tokens, failed in calls:
        span = tracer.start_span("chat gpt-4o-mini", start_time=start)
        span.set_attribute("gen_ai.operation.name", "chat")
        span.set_attribute("gen_ai.provider.name", "openai")
        span.set_attribute("gen_ai.request.model", "gpt-4o-mini")
        span.set_attribute("gen_ai.usage.input_tokens", tokens)
        span.set_attribute("gen_ai.usage.output_tokens", tokens // 5)
        span.set_attribute("otelguard.prompt.name", "support-triage")
        span.set_attribute("otelguard.prompt.version", version)
        if failed:
            span.set_status(Status(StatusCode.ERROR, "rate limited"))
        span.end(end_time=start + latency_ms * 10**6)
    provider.shutdown()
    platform.wait_for_traces(len(calls))
    return len(calls)


@pytest.fixture(scope="module")
def prompts_platform(ui_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """``otelguard up --manifests``: support-triage edited in place to versions 1 → 2 → 3 (production moves
    1 → 2, staging follows the latest), summarize-thread at version 1, and spans for versions 1 and 2."""
    root = tmp_path_factory.mktemp("prompts-ui")
    manifests = root / "manifests"
    manifests.mkdir()
    triage = manifests / "support-triage.yaml"
    write_triage(triage, 1)
    (manifests / "summarize-thread.yaml").write_text(SUMMARIZE)
    platform = Platform(root / "data", manifests=manifests)
    platform.start()
    try:
        eventually(lambda: len(timeline(platform)) == 1)
        write_triage(triage, 2)
        eventually(lambda: len(timeline(platform)) == 2)
        write_triage(triage, 3)
        eventually(lambda: len(timeline(platform)) == 3)
        eventually(lambda: platform.get("/api/v1/prompts/support-triage").json().get("version") == 2)
        seed_prompt_spans(platform)
        yield platform
    finally:
        platform.close()


def shot(page: Page, name: str, full_page: bool = False) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)  # fonts and the chart resize settle
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def sign_in(page: Page, platform: Platform, path: str = "/prompts") -> None:
    page.goto(f"{platform.api_url}{path}")
    expect(page.get_by_role("heading", name="Sign in to OTelGuard")).to_be_visible()
    page.get_by_label("API key").fill(platform.api_key)
    page.get_by_role("button", name="Continue").click()


def rows(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("table", name="Prompts").locator("tbody tr")


def test_prompts_list_filters_and_opens_a_prompt(prompts_platform: Platform, page: Page) -> None:
    platform = prompts_platform
    sign_in(page, platform, "/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Prompts").click()
    expect(page.get_by_role("heading", name="Prompts", exact=True)).to_be_visible()
    expect(rows(page)).to_have_count(2)
    triage = rows(page).filter(has_text="support-triage")
    expect(triage).to_contain_text("support/triage")
    expect(triage).to_contain_text("production")
    expect(triage.locator(".label-prod")).to_contain_text("v2")
    expect(triage.locator(".label-staging")).to_contain_text("v3")
    expect(triage).to_contain_text("v3")  # latest version
    expect(triage).to_contain_text("chat")
    shot(page, "40-prompts-list")

    # The name filter goes to the API and lives in the URL.
    page.get_by_label("Filter prompts by name").fill("summ")
    expect(rows(page)).to_have_count(1)
    expect(page).to_have_url(re.compile(r"q=summ"))
    expect(rows(page).first).to_contain_text("summarize-thread")
    page.get_by_role("button", name="Clear").click()
    expect(rows(page)).to_have_count(2)
    # Clicking a tag filters by it; a label filter keeps prompts that have that label.
    triage.get_by_role("button", name="triage", exact=True).click()
    expect(page).to_have_url(re.compile(r"tag=triage"))
    expect(rows(page)).to_have_count(1)
    page.get_by_role("button", name="Clear").click()
    page.get_by_label("Filter by label").select_option("staging")
    expect(rows(page)).to_have_count(1)
    page.get_by_label("Filter prompts by name").fill("no-such-prompt")
    expect(page.get_by_text("No prompts match")).to_be_visible()
    page.get_by_role("button", name="Clear filters").click()
    expect(rows(page)).to_have_count(2)

    rows(page).filter(has_text="support-triage").locator("td").last.click()  # the whole row opens it
    expect(page).to_have_url(re.compile(r"/prompts/support-triage$"))
    expect(page.get_by_role("heading", name="support-triage")).to_be_visible()


def test_prompt_page_timeline_template_and_labels(prompts_platform: Platform, page: Page) -> None:
    platform = prompts_platform
    sign_in(page, platform, "/prompts/support-triage")
    labels = page.get_by_test_id("prompt-labels")
    expect(labels.locator(".label-prod")).to_contain_text("v2")
    expect(labels.locator(".label-staging")).to_contain_text("v3")
    # production moved 1 → 2 and v2's first calls are slower and dearer than v1's last: a regression.
    badge = labels.get_by_test_id("regression-production")
    expect(badge).to_contain_text("Regression")
    expect(badge).to_contain_text(re.compile(r"p95 latency \+\d+%"))
    expect(labels).to_contain_text("Gathering data")  # staging 2 → 3: no v3 calls yet

    tl = page.get_by_role("complementary", name="Version timeline")
    expect(tl.locator("li")).to_have_count(3)
    # Newest first, each with the generation and git revision that made it.
    expect(tl.locator("li").first).to_contain_text("v3")
    expect(page.get_by_test_id("version-3")).to_contain_text("git c3d4e5f")
    expect(page.get_by_test_id("version-1")).to_contain_text("git a1b2c3d")
    expect(page.get_by_test_id("version-2")).to_contain_text(re.compile(r"generation \d"))
    expect(page.get_by_test_id("version-2")).to_contain_text("production")

    # Default: the production version; its chat messages with the variables highlighted.
    expect(page.get_by_test_id("version-2").get_by_role("button", name="Version 2")).to_have_attribute(
        "aria-current", "true"
    )
    template = page.get_by_role("region", name="Template")
    expect(template).to_contain_text("Version 2")
    expect(template).to_contain_text("Be concise.")
    expect(template.locator(".tpl-expr").first).to_have_text("{{ product }}")
    model = page.get_by_role("region", name="Model config")
    expect(model).to_contain_text("gpt-4o-mini")
    expect(model).to_contain_text("0.3")
    variables = page.get_by_role("region", name="Variables")
    expect(variables).to_contain_text("product")
    expect(variables).to_contain_text("required")
    expect(variables).to_contain_text("English")
    shot(page, "41-prompt-template")

    # A label chip selects its version; the timeline selects any version.
    labels.locator(".label-staging").click()
    expect(template).to_contain_text("Be concise and kind.")
    expect(model).to_contain_text("gpt-4o")
    page.get_by_test_id("version-1").get_by_role("button", name="Version 1").click()
    expect(page).to_have_url(re.compile(r"v=1"))
    expect(template).to_contain_text("Answer in English.")
    expect(template).not_to_contain_text("Be concise")


def test_preview_renders_with_the_variable_form_and_shows_422_inline(
    prompts_platform: Platform, page: Page
) -> None:
    platform = prompts_platform
    sign_in(page, platform, "/prompts/support-triage?tab=preview")
    form = page.get_by_test_id("preview-form")
    expect(form.locator("textarea")).to_have_count(3)  # product, ticket, language
    expect(form.get_by_placeholder("Default: English")).to_be_visible()

    # Nothing filled: the server's 422 is shown inline, the missing fields are marked, no toast.
    form.get_by_role("button", name="Render preview").click()
    error = page.get_by_test_id("preview-error")
    expect(error).to_contain_text("Missing variables")
    expect(error).to_contain_text("product")
    expect(error).to_contain_text("ticket")
    expect(form.locator("textarea[aria-invalid=true]")).to_have_count(2)
    expect(page.locator(".toast")).to_have_count(0)

    form.get_by_label("product").fill("Acme Shop")
    form.get_by_label("ticket").fill("My blender arrived broken. Can I get a refund?")
    form.get_by_role("button", name="Render preview").click()
    out = page.get_by_test_id("rendered-messages")
    expect(out.locator("[data-role=system]")).to_contain_text("support triage assistant for Acme Shop.")
    expect(out.locator("[data-role=system]")).to_contain_text("Answer in English. Be concise.")  # the default
    expect(out.locator("[data-role=user]")).to_have_text(re.compile(r"My blender arrived broken"))
    expect(page.get_by_test_id("preview-error")).to_have_count(0)
    shot(page, "42-prompt-preview")

    form.get_by_label("language").fill("German")
    form.get_by_label("language").press("Control+Enter")
    expect(out.locator("[data-role=system]")).to_contain_text("Answer in German.")

    # A text prompt with a loop: a JSON list in the form is passed as a list.
    page.goto(f"{platform.api_url}/prompts/summarize-thread?tab=preview")
    form = page.get_by_test_id("preview-form")
    form.get_by_label("messages").fill('["Customer: it is broken", "Agent: sending a new one"]')
    form.get_by_role("button", name="Render preview").click()
    text = page.get_by_test_id("rendered-text")
    expect(text).to_contain_text("in 3 sentences")
    expect(text).to_contain_text("- Customer: it is broken")
    expect(text).to_contain_text("- Agent: sending a new one")


def test_side_by_side_diff_between_versions(prompts_platform: Platform, page: Page) -> None:
    platform = prompts_platform
    sign_in(page, platform, "/prompts/support-triage")
    # Pick from the timeline: v1 against the selected production version (v2).
    page.get_by_test_id("version-1").hover()
    page.get_by_test_id("version-1").get_by_role("button", name="Diff with v2").click()
    expect(page).to_have_url(re.compile(r"tab=diff"))
    view = page.get_by_test_id("diff-view")
    table = view.get_by_test_id("diff-table").first
    expect(table.locator("thead")).to_contain_text("v1")
    expect(table.locator("thead")).to_contain_text("v2")
    removed = table.locator("td.diff-text.diff-removed")
    added = table.locator("td.diff-text.diff-added")
    expect(removed.filter(has_text="Answer in English.")).to_have_count(1)
    expect(added.filter(has_text="Answer in {{ language }}. Be concise.")).to_have_count(1)
    # The removed and added line sit on one row, the changed words marked.
    row = table.locator("tr").filter(has=page.locator("td.diff-removed", has_text="Answer in English."))
    expect(row.locator("td.diff-added")).to_have_count(2)  # number + text cells
    expect(row.locator("mark").first).to_be_visible()
    expect(view.get_by_role("region", name="Model config")).to_contain_text("temperature")
    expect(view.get_by_role("region", name="Model config")).to_contain_text("0.2")
    shot(page, "43-prompt-diff")

    # The pickers change the pair; model config changes show.
    view.get_by_label("Older version").select_option("2")
    view.get_by_label("Newer version").select_option("3")
    expect(page).to_have_url(re.compile(r"from=2&to=3|to=3&from=2"))
    expect(view.get_by_role("region", name="Model config")).to_contain_text("gpt-4o")
    expect(table.locator("td.diff-added").filter(has_text="Be concise and kind.")).to_have_count(1)

    # Dark theme.
    page.get_by_test_id("theme-toggle").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    shot(page, "44-prompt-diff-dark")
    page.get_by_test_id("theme-toggle").click()


def test_usage_per_version(prompts_platform: Platform, page: Page) -> None:
    platform = prompts_platform
    sign_in(page, platform, "/prompts/support-triage?tab=usage")
    requests = page.get_by_test_id("chart-prompt-requests")
    legend = requests.locator(".chart-legend")
    expect(legend.get_by_text("v1", exact=True)).to_be_visible()
    expect(legend.get_by_text("v2", exact=True)).to_be_visible()
    assert requests.locator("g[data-series=v1] rect").count() >= 2
    assert requests.locator("g[data-series=v2] rect").count() >= 2
    latency = page.get_by_test_id("chart-prompt-latency")
    expect(latency.locator("g[data-series=v2]")).to_be_attached()
    table = page.get_by_test_id("usage-table")
    expect(table.locator("tbody tr")).to_have_count(2)
    v1, v2 = page.get_by_test_id("usage-v1"), page.get_by_test_id("usage-v2")
    expect(v2.locator("td").nth(1)).to_have_text("26")  # calls
    expect(v2).to_contain_text("production")
    expect(v1.locator("td").nth(1)).to_have_text("22")
    expect(v1.locator("td").nth(7)).to_have_text("5%")  # 1 of 22 failed
    expect(v2.locator("td").nth(7)).to_have_text("0%")
    moves = page.get_by_role("region", name="Label moves")
    expect(moves).to_contain_text("v1 → v2")
    expect(moves).to_contain_text(re.compile(r"p95 latency \+\d+% \(threshold 20%\)"))
    expect(moves).to_contain_text("mean cost +")
    page.set_viewport_size({"width": 1440, "height": 1180})
    shot(page, "45-prompt-usage")


def test_unknown_prompt_and_empty_list(prompts_platform: Platform, page: Page) -> None:
    platform = prompts_platform
    sign_in(page, platform, "/prompts/no-such-prompt")
    expect(page.get_by_test_id("prompt-error")).to_contain_text("No prompt named")
    expect(page.locator(".toast")).to_have_count(0)

    # A project without prompts (the API answer replaced with an empty list) explains the git workflow.
    page.route(re.compile(r".*/api/v1/prompts\?.*"), lambda route: route.fulfill(json={"items": []}))
    page.get_by_role("link", name="All prompts").click()
    onboarding = page.get_by_test_id("prompts-onboarding")
    expect(onboarding).to_contain_text("No prompts yet")
    expect(onboarding).to_contain_text("kind: Prompt")
    expect(onboarding).to_contain_text("labels: {production: 1, staging: latest}")
    shot(page, "46-prompts-empty")

    # A server without the prompt store answers 503: the page says so and offers a retry.
    page.unroute(re.compile(r".*/api/v1/prompts\?.*"))
    page.route(
        re.compile(r".*/api/v1/prompts\?.*"),
        lambda route: route.fulfill(
            status=503, json={"detail": "the prompt store (Postgres) is not configured"}
        ),
    )
    page.reload()
    expect(page.get_by_test_id("prompts-error")).to_contain_text(
        "the prompt store (Postgres) is not configured"
    )
    expect(page.get_by_role("button", name="Try again")).to_be_visible()


def test_bad_input_gets_4xx_and_the_server_keeps_serving(prompts_platform: Platform) -> None:
    platform = prompts_platform
    url = f"{platform.api_url}/api/v1/prompts/support-triage"
    sandbox = httpx.post(
        f"{url}/compile",
        headers=platform.auth,
        json={"variables": {"product": "{{ ''.__class__ }}", "ticket": "x"}, "version": 1},
    )
    assert sandbox.status_code == 200  # a variable's value is data, never template code
    assert "__class__" in str(sandbox.json()["messages"])
    assert httpx.get(f"{url}/diff", params={"from": 1, "to": 99}, headers=platform.auth).status_code == 404
    assert httpx.get(f"{url}/diff", params={"from": "x", "to": 2}, headers=platform.auth).status_code == 422
    assert httpx.get(url, params={"label": "Bad Label!"}, headers=platform.auth).status_code == 422
    assert platform.get("/api/v1/prompts/support-triage/versions").status_code == 200
