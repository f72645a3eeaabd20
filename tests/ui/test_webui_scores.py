"""Scores in the web UI, in headless Chromium against a real ``otelguard up --manifests DIR``: two heuristic
Evaluators score LLM spans sent through the OpenTelemetry SDK (a real Celery worker on the embedded Redis),
and a judge-like helpfulness score, a categorical tone and users' thumbs arrive through the scores and
feedback APIs. The trace page shows each span's scores; the scores page draws them. Screenshots land in
test-artifacts/ui/ (50+)."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import set_span_in_context
from playwright.sync_api import Page, expect

import polling
from platform_process import Platform

pytestmark = pytest.mark.slow
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"

EVALUATORS = """\
apiVersion: otelguard.io/v1alpha1
kind: Evaluator
metadata: {name: mentions-refund, namespace: default}
spec:
  kind: heuristic
  target: {spanKinds: [llm]}
  heuristic: {type: contains, params: {substring: refund, caseInsensitive: true}}
  score: {name: mentions_refund, dataType: boolean}
---
apiVersion: otelguard.io/v1alpha1
kind: Evaluator
metadata: {name: answer-words, namespace: default}
spec:
  kind: heuristic
  target: {spanKinds: [llm]}
  heuristic: {type: length, params: {unit: words, min: 4, max: 40}}
  score: {name: answer_words, dataType: numeric}
"""

MODELS = ["gpt-4o-mini", "gpt-4o", "claude-3-5-sonnet"]
USERS = ["alice@example.com", "bob@example.com", "carol@example.com", "dave@example.com"]
QUESTIONS = [
    "Where is my order #1042?",
    "Can I get a refund for a damaged blender?",
    "How do I change my delivery address?",
    "The app crashes when I open my cart.",
    "Do you ship to Norway?",
    "I was charged twice, please refund one payment.",
]
ANSWERS = [
    "Your order #1042 left our warehouse yesterday and arrives tomorrow.",
    "Yes: damaged items get a full refund within 5 days of the return.",
    "Open Settings, then Addresses, and pick the new delivery address before checkout.",
    "Sorry about that! Please update the app; version 4.2 fixes the cart crash.",
    "We do.",
    "I see the duplicate charge and issued a refund for the second payment.",
]
REASONS = {
    "high": "The answer resolves the user's question directly and gives the concrete next step.",
    "mid": "Relevant, but it misses a detail the user asked for (timing of the refund).",
    "low": "The reply is too short to help: it does not say how or when.",
}
DAY_NS = 86_400 * 10**9
MIN_NS = 60 * 10**9


@dataclass
class Seeded:
    platform: Platform
    spans: list[dict[str, Any]]  # one per LLM span: trace_id, span_id, model, answer, helpfulness …
    focus: dict[str, Any]  # the trace the trace-page test opens


eventually = functools.partial(polling.eventually, timeout_s=90.0)


def shot(page: Page, name: str, full_page: bool = False) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(300)  # fonts and chart resizes settle
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def sign_in(page: Page, platform: Platform, key: str, path: str) -> None:
    page.goto(f"{platform.api_url}{path}")
    expect(page.get_by_role("heading", name="Sign in to OTelGuard")).to_be_visible()
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Continue").click()


def send_spans(platform: Platform) -> list[dict[str, Any]]:
    """36 support conversations over the last 6 days (6 a day): an agent span with one LLM call, spread
    over three models, four users and two prompt versions."""
    exporter = OTLPSpanExporter(endpoint=f"{platform.otlp_http_url}/v1/traces", headers=platform.auth)
    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("otelguard.ui-tests.scores")
    now = time.time_ns()
    spans = []
    for day in range(6):
        for i in range(6):
            k = day * 6 + i
            model = MODELS[i % 3]
            start = now - (5 - day) * DAY_NS - (40 + 90 * i) * MIN_NS
            latency = (900 + 130 * (k % 7)) * 10**6
            root = tracer.start_span("support agent", start_time=start)
            root.set_attribute("gen_ai.operation.name", "invoke_agent")
            root.set_attribute("gen_ai.agent.name", "support")
            root.set_attribute("user.id", USERS[(i + day) % 4])
            root.set_attribute("session.id", f"sess-{day}-{i // 2}")
            llm = tracer.start_span(
                f"chat {model}", context=set_span_in_context(root), start_time=start + 50 * 10**6
            )
            llm.set_attribute("gen_ai.operation.name", "chat")
            llm.set_attribute("gen_ai.provider.name", "anthropic" if "claude" in model else "openai")
            llm.set_attribute("gen_ai.request.model", model)
            llm.set_attribute("gen_ai.usage.input_tokens", 400 + 20 * k)
            llm.set_attribute("gen_ai.usage.output_tokens", 60 + 3 * k)
            llm.set_attribute("otelguard.prompt.name", "support-answer")
            llm.set_attribute("otelguard.prompt.version", 1 if day < 3 else 2)
            # Answers vary by day, so the share mentioning a refund moves (2, 4, 3, 2, 0, 3 of 6).
            question, answer = QUESTIONS[k % 6], ANSWERS[(i * (day % 3 + 1) + day) % 6]
            llm.set_attribute("gen_ai.input.messages", json.dumps([{"role": "user", "content": question}]))
            llm.set_attribute(
                "gen_ai.output.messages", json.dumps([{"role": "assistant", "content": answer}])
            )
            llm.end(end_time=start + 50 * 10**6 + latency)
            root.end(end_time=start + 120 * 10**6 + latency)
            # A judge-like helpfulness: better models score higher, and v2 of the prompt helps.
            base = {"gpt-4o": 0.82, "claude-3-5-sonnet": 0.74, "gpt-4o-mini": 0.58}[model]
            value = round(min(1.0, max(0.0, base + 0.035 * day + ((k * 37) % 11 - 5) / 50)), 3)
            if answer == "We do.":
                value = 0.21
            spans.append(
                {
                    "trace_id": format(root.get_span_context().trace_id, "032x"),
                    "span_id": format(llm.get_span_context().span_id, "016x"),
                    "model": model,
                    "answer": answer,
                    "start": start,
                    "helpfulness": value,
                    "day": day,
                    "i": i,
                }
            )
    provider.shutdown()
    platform.wait_for_traces(len(spans), timeout_s=60)
    return spans


def tone_of(span: dict[str, Any]) -> str:
    return (
        "curt" if span["answer"] == "We do." else "neutral" if span["model"] == "gpt-4o-mini" else "friendly"
    )


def post_scores(platform: Platform, spans: list[dict[str, Any]]) -> None:
    """Configs, a judge-like helpfulness (with reasoning) on every LLM span, a categorical tone on most,
    a few annotations, and users' thumbs on the traces through the feedback endpoint."""
    url = platform.api_url
    configs = [
        {"name": "helpfulness", "data_type": "numeric", "min_value": 0, "max_value": 1,
         "description": "How well the answer helps the user (LLM judge, 0-1)"},
        {"name": "tone", "data_type": "categorical", "categories": ["friendly", "neutral", "curt"],
         "description": "The tone of the answer"},
    ]  # fmt: skip
    for config in configs:
        r = httpx.post(f"{url}/api/v1/score-configs", json=config, headers=platform.auth, timeout=30)
        assert r.status_code in (200, 201), r.text
    items = []
    for s in spans:
        v = s["helpfulness"]
        reason = REASONS["high" if v >= 0.75 else "mid" if v >= 0.45 else "low"]
        at = s["start"] + 30 * 10**9
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at / 1e9)) + "Z"
        link = {"trace_id": s["trace_id"], "span_id": s["span_id"], "timestamp": stamp}
        items.append({"name": "helpfulness", "value": v, "source": "evaluator", "comment": reason,
                      "evaluator_name": "default/helpfulness", "evaluator_version": "3", **link})  # fmt: skip
        if s["i"] != 5:
            items.append({"name": "tone", "string_value": tone_of(s), **link})
        if s["i"] == 0:
            better = round(min(1.0, v + 0.08), 3)
            items.append({"name": "helpfulness", "value": better, "source": "annotation",
                          "comment": "Checked by the support lead.", **link})  # fmt: skip
    r = httpx.post(f"{url}/api/v1/scores", json={"scores": items}, headers=platform.auth, timeout=30)
    assert r.status_code == 201, r.text
    for s in spans[-12:]:
        good = s["helpfulness"] >= 0.6
        body = {"trace_id": s["trace_id"], "type": "thumbs", "value": "up" if good else "down"}
        if not good:
            body["comment"] = "Didn't answer my question."
        r = httpx.post(f"{url}/api/v1/feedback", json=body, headers=platform.auth, timeout=30)
        assert r.status_code in (200, 201), r.text


@pytest.fixture(scope="module")
def seeded(ui_build: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    root = tmp_path_factory.mktemp("scores-ui")
    manifests = root / "manifests"
    manifests.mkdir()
    (manifests / "evaluators.yaml").write_text(EVALUATORS)
    # Feedback is rate-limited per key and client (bursts of 10 by default): the seed sends 12 at once.
    platform = Platform(root / "data", manifests=manifests, env={"OTELGUARD_FEEDBACK_BURST": "100"})
    platform.start()
    try:
        spans = send_spans(platform)
        post_scores(platform, spans)

        def scored() -> bool:
            for name in ("mentions_refund", "answer_words"):
                got = platform.get("/api/v1/scores", name=name, source="evaluator", limit=1000)
                assert got.status_code == 200, got.text
                if len(got.json()["items"]) < len(spans):
                    return False
            return True

        eventually(scored)  # the eval worker scored every LLM span (not the agent spans)
        focus = next(s for s in spans if s["day"] == 5 and "refund" in s["answer"] and s["i"] == 0)
        yield Seeded(platform, spans, focus)
    finally:
        platform.close()


def test_trace_page_shows_span_and_trace_scores(seeded: Seeded, page: Page) -> None:
    platform, focus = seeded.platform, seeded.focus
    sign_in(page, platform, platform.api_key, f"/traces/{focus['trace_id']}")
    waterfall = page.get_by_test_id("waterfall")
    expect(waterfall).to_be_visible()

    # Only the LLM row carries a marker: helpfulness x2 (judge + annotation), tone, and the two heuristics.
    llm_row = waterfall.locator(f"[data-span-id='{focus['span_id']}']")
    expect(llm_row.get_by_test_id("wf-score")).to_have_text("5")
    expect(waterfall.get_by_test_id("wf-score")).to_have_count(1)

    # The trace-level thumbs sits on the trace header, not on a span.
    trace_scores = page.get_by_test_id("trace-scores")
    expect(trace_scores.get_by_test_id("score-entry")).to_have_count(1)
    expect(trace_scores).to_contain_text("user-feedback")
    expect(trace_scores.get_by_test_id("score-value")).to_have_text(re.compile(r"pass|fail"))
    expect(trace_scores).to_contain_text("Feedback")

    llm_row.click()
    panel = page.get_by_test_id("span-panel")
    scores = panel.get_by_test_id("span-scores")
    expect(scores).to_contain_text("Scores (5)")
    refund = scores.locator("[data-score-name=mentions_refund]")
    expect(refund.get_by_test_id("score-value")).to_have_text("✓pass")
    expect(refund).to_contain_text("default/mentions-refund · v1")
    expect(refund).to_contain_text("Evaluator")
    words = scores.locator("[data-score-name=answer_words]").get_by_test_id("score-value")
    stored = platform.get("/api/v1/scores", name="answer_words", span_id=focus["span_id"]).json()["items"]
    expect(words).to_have_text(f"{stored[0]['value']:g}")  # a whole number of words, shown whole
    expect(scores.locator("[data-score-name=tone]").get_by_test_id("score-value")).to_have_text(
        tone_of(focus)
    )
    helpful = scores.locator("[data-score-name=helpfulness]")
    expect(helpful).to_have_count(2)
    judge = helpful.filter(has_text="default/helpfulness · v3")
    expect(judge.get_by_test_id("score-value")).to_have_text(f"{focus['helpfulness']:g}")
    # The judge's reasoning folds away behind a one-line preview and opens on click.
    reasoning = judge.locator("details.score-comment")
    expect(reasoning.locator("p")).not_to_be_visible()
    reasoning.locator("summary").click()
    expect(reasoning.locator("p")).to_be_visible()
    expect(reasoning.locator("p")).to_contain_text("resolves the user's question")
    scores.screenshot(path=str(ARTIFACTS / "57-span-scores-panel.png"))
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "50-trace-scores-light")

    page.get_by_test_id("theme-toggle").click()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    shot(page, "51-trace-scores-dark")

    # A score's name leads to the scores page for that name.
    refund.get_by_role("link", name="mentions_refund").click()
    expect(page).to_have_url(re.compile(r"/scores\?name=mentions_refund"))
    expect(page.get_by_test_id("score-type")).to_have_text("boolean")


def test_scores_page_charts_and_breakdown(seeded: Seeded, page: Page) -> None:
    platform, spans = seeded.platform, seeded.spans
    sign_in(page, platform, platform.api_key, "/scores?name=helpfulness")
    expect(page.get_by_role("heading", name="Scores", exact=True)).to_be_visible()
    expect(page.get_by_test_id("score-type")).to_have_text("numeric")
    expect(page.get_by_text("How well the answer helps the user")).to_be_visible()  # from the score config

    # 36 judge scores + 6 annotations, over the last 7 days.
    values = [s["helpfulness"] for s in spans] + [
        min(1.0, s["helpfulness"] + 0.08) for s in spans if s["i"] == 0
    ]
    expect(page.get_by_test_id("kpi-count")).to_contain_text(str(len(values)))
    mean = sum(values) / len(values)
    expect(page.get_by_test_id("kpi-mean")).to_contain_text(f"{mean:.3f}".rstrip("0")[:4])

    trend = page.get_by_test_id("chart-score-trend")
    expect(trend.locator("g[data-series=mean] path.chart-line")).to_have_attribute("d", re.compile(r"^M.*L"))
    histogram = page.get_by_test_id("histogram")
    expect(histogram.locator(".histo-bar")).to_have_count(24)
    assert histogram.locator(".histo-bar:not(.zero)").count() >= 5
    expect(histogram.locator(".histo-mark").first).to_contain_text("p50")

    # By model (the default): one row per model with its own mean.
    table = page.get_by_test_id("breakdown-table")
    for model in MODELS:
        expect(table.locator(f"tr[data-dim='{model}']")).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(3)

    def mean_of(model: str) -> float:
        text = table.locator(f"tr[data-dim='{model}'] td").nth(2).inner_text()
        return float(text.split()[0])

    scored = [(s["model"], s["helpfulness"]) for s in spans]
    scored += [(s["model"], min(1.0, s["helpfulness"] + 0.08)) for s in spans if s["i"] == 0]
    for model in MODELS:
        mine = [v for m, v in scored if m == model]
        assert mean_of(model) == pytest.approx(sum(mine) / len(mine), abs=0.0006)
    by_dim = page.get_by_test_id("chart-score-by-dimension")
    expect(by_dim.locator("g[data-series='gpt-4o'] path.chart-line")).to_be_attached()

    # Recent scores link to their traces.
    recent = page.get_by_role("table", name="Recent scores")
    expect(recent.locator("tbody tr")).to_have_count(25)
    expect(recent.get_by_test_id("score-trace-link").first).to_be_visible()
    shot(page, "52-scores-numeric-light", full_page=True)

    # Prompt version: v2 of the prompt (the last three days) helps more than v1.
    page.get_by_role("group", name="Break down by").get_by_role("button", name="Prompt version").click()
    expect(page).to_have_url(re.compile(r"by=prompt_version"))
    expect(table.locator("tr[data-dim='support-answer@v1']")).to_be_visible()
    expect(table.locator("tr[data-dim='support-answer@v2']")).to_be_visible()
    assert mean_of("support-answer@v2") > mean_of("support-answer@v1")

    # Source: the judge and the annotations side by side; filter to the annotations only.
    page.get_by_role("group", name="Break down by").get_by_role("button", name="Source").click()
    expect(table.locator("tr[data-dim='evaluator']")).to_contain_text("36")
    expect(table.locator("tr[data-dim='annotation']")).to_contain_text("6")
    page.get_by_role("group", name="Source").get_by_role("button", name="annotation").click()
    expect(page.get_by_test_id("kpi-count")).to_contain_text("6")

    page.get_by_test_id("theme-toggle").click()
    page.get_by_role("group", name="Source").get_by_role("button", name="All sources").click()
    page.get_by_role("group", name="Break down by").get_by_role("button", name="Model").click()
    expect(page.get_by_test_id("kpi-count")).to_contain_text(str(len(values)))
    shot(page, "53-scores-numeric-dark", full_page=True)
    page.get_by_test_id("theme-toggle").click()

    # A recent score's row opens its trace at the scored span.
    first = recent.locator("tbody tr").first
    first.click()
    expect(page).to_have_url(re.compile(r"/traces/[0-9a-f]{32}\?span=[0-9a-f]{16}"))
    expect(page.get_by_test_id("span-scores")).to_contain_text("helpfulness")


def test_scores_page_boolean_and_categorical(seeded: Seeded, page: Page) -> None:
    platform, spans = seeded.platform, seeded.spans
    sign_in(page, platform, platform.api_key, "/scores")
    # The picker lists every name scored in the range, most scored first.
    select = page.get_by_test_id("score-name-select")
    expect(select.locator("option")).to_have_count(5)
    options = select.locator("option").all_inner_texts()
    assert {o.split(" · ")[0] for o in options} >= {
        "helpfulness",
        "mentions_refund",
        "answer_words",
        "tone",
        "user-feedback",
    }

    select.select_option("mentions_refund")
    expect(page).to_have_url(re.compile(r"name=mentions_refund"))
    expect(page.get_by_test_id("score-type")).to_have_text("boolean")
    refunds = sum(1 for s in spans if "refund" in s["answer"].lower())
    expect(page.get_by_test_id("kpi-passed")).to_contain_text(str(refunds))
    expect(page.get_by_test_id("kpi-failed")).to_contain_text(str(len(spans) - refunds))
    share = round(100 * refunds / len(spans))
    expect(page.get_by_test_id("kpi-pass-rate")).to_contain_text(f"{share}%")
    bars = page.get_by_test_id("category-bars")
    expect(bars.locator(".cat-row")).to_have_count(2)
    expect(bars.locator(".cat-row").first).to_contain_text("pass")
    # Stacked bars per UTC day (a day's conversations may straddle midnight): one bar per day with a pass
    # (none on the fifth day of the seed) and one per day with a failure.
    trend = page.get_by_test_id("chart-score-trend")
    pass_days = {s["start"] // DAY_NS for s in spans if "refund" in s["answer"].lower()}
    fail_days = {s["start"] // DAY_NS for s in spans if "refund" not in s["answer"].lower()}
    assert len(pass_days) < len(fail_days)
    expect(trend.locator("g[data-series=pass] rect")).to_have_count(len(pass_days))
    expect(trend.locator("g[data-series=fail] rect")).to_have_count(len(fail_days))
    shot(page, "54-scores-boolean-light", full_page=True)

    select.select_option("tone")
    expect(page.get_by_test_id("score-type")).to_have_text("categorical")
    toned = [s for s in spans if s["i"] != 5]
    expect(page.get_by_test_id("kpi-count")).to_contain_text(str(len(toned)))
    expect(page.get_by_test_id("kpi-categories")).to_contain_text("3")
    expect(page.get_by_test_id("kpi-categories")).to_contain_text("of 3 configured")
    friendly = sum(1 for s in toned if tone_of(s) == "friendly")
    expect(page.get_by_test_id("kpi-top")).to_contain_text("friendly")
    first_bar = page.get_by_test_id("category-bars").locator(".cat-row").first
    expect(first_bar).to_contain_text(str(friendly))
    trend = page.get_by_test_id("chart-score-trend")
    assert trend.locator(".chart-bars rect").count() >= 6
    table = page.get_by_test_id("breakdown-table")
    expect(table.locator("tr[data-dim='gpt-4o-mini']")).to_contain_text("neutral")
    page.get_by_test_id("theme-toggle").click()
    shot(page, "55-scores-categorical-dark", full_page=True)


def test_scores_page_empty_state_and_bad_links(seeded: Seeded, page: Page) -> None:
    platform = seeded.platform
    # A second project (its own key) has no scores: the page explains how scores arrive.
    out = subprocess.run(
        [sys.executable, "-m", "otelguard.cli", "keys", "create", "--project", "empty-project",
         "--data-dir", str(platform.data_dir)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    key = re.search(r"secret key:\s*(\S+)", out.stdout).group(1)  # type: ignore[union-attr]
    sign_in(page, platform, key, "/scores")
    empty = page.get_by_test_id("scores-empty")
    expect(empty.get_by_role("heading")).to_have_text("No scores in the last 7 days")
    empty.get_by_role("button", name="look at the last 90 days").click()
    expect(page).to_have_url(re.compile(r"range=90d"))
    expect(empty.get_by_role("heading")).to_have_text("No scores yet")
    expect(empty).to_contain_text("kind: Evaluator")
    empty.get_by_role("button", name="Scores API").click()
    expect(empty).to_contain_text("POST")
    expect(empty).to_contain_text("/api/v1/scores")
    empty.get_by_role("button", name="User feedback").click()
    expect(empty).to_contain_text("/api/v1/feedback")
    empty.get_by_role("button", name="Evaluator").click()
    shot(page, "56-scores-empty")

    # A name with no scores in range (e.g. a stale link) says so instead of showing another score.
    page.goto(f"{platform.api_url}/scores?name=no_such_score")
    expect(page.get_by_test_id("scores-range-empty")).to_contain_text("No no_such_score scores")
    # A name the API refuses (over 200 characters): the page says so and keeps working.
    page.goto(f"{platform.api_url}/scores?name={'x' * 300}")
    expect(page.get_by_role("heading", name=re.compile("Could not load the x+ scores"))).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Traces").click()
    expect(page).to_have_url(re.compile(r"/traces"))
