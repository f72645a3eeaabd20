"""``alert`` actions of ingest-stage policies reach the IngestGuard's alert sink: deduplicated, never twice
for the spool copy's re-check, and never at the cost of ingestion (a failing sink, a full sender queue)."""

from __future__ import annotations

from typing import Any

from test_ingest_guard_stage import CARD, EMAIL, PROJECTS, Rows, chat_span, spec

from otelguard.collector.ingest_guard import MARK_ACTION, IngestGuard
from otelguard.guardrails.actions import Alert
from otelguard.guardrails.webhooks import WebhookAlertSink, WebhookSender

HOOK = "https://hooks.example.com/otelguard"


class Recorder:
    """An AlertSink that keeps what it is sent."""

    def __init__(self, fail: bool = False) -> None:
        self.alerts: list[Alert] = []
        self.fail = fail

    def send(self, alert: Alert) -> None:
        if self.fail:
            raise ConnectionError("the notifier is down")
        self.alerts.append(alert)


def alerting(dedup: int, *, sanitize: bool = True) -> dict[str, Any]:
    on_fail: list[dict[str, Any]] = [{"type": "alert", "params": {"url": HOOK, "dedupSeconds": dedup}}]
    if sanitize:
        on_fail.append({"type": "sanitize"})
    return spec({"name": "pii", "validator": "pii", "onFail": on_fail})


def guard_with(sink: Any, dedup: int = 300, **kw: Any) -> IngestGuard:
    guard = IngestGuard(Rows(watch=alerting(dedup, **kw)), lambda: PROJECTS, None, alert_sink=sink)
    guard.source.reload()
    guard.names.refresh()
    return guard


def test_alerts_reach_the_sink_deduplicated_and_the_span_is_still_redacted() -> None:
    sink = Recorder()
    guard = guard_with(sink, dedup=300)
    _, recs = chat_span()
    (rec,) = guard.process("p-1", recs)
    assert EMAIL not in rec.input and CARD not in rec.output and rec.attributes[MARK_ACTION] == "sanitize"
    assert sink.alerts, "no alert was sent"
    assert {(a.policy, a.rule, a.validator, a.stage, a.project, a.url) for a in sink.alerts} == {
        ("ns/watch", "pii", "pii", "ingest", "shop", HOOK)
    }
    # One alert per distinct entity set (input: email + card, output: card, events: email).
    assert sorted(a.entities for a in sink.alerts) == [("CREDIT_CARD",), ("CREDIT_CARD", "EMAIL"), ("EMAIL",)]
    sent = len(sink.alerts)
    _, again = chat_span(span_id=2)
    guard.process("p-1", again)  # same keys within dedupSeconds: nothing new
    assert len(sink.alerts) == sent


def test_the_spool_copy_recheck_does_not_alert_again() -> None:
    sink = Recorder()
    guard = guard_with(sink, dedup=0)  # no deduplication: every check of a text notifies
    req, recs = chat_span()
    guard.process("p-1", recs)
    sent = len(sink.alerts)
    assert sent == 3
    scrubbed = guard.spool_payload("p-1", req, req.SerializeToString(), recs)
    assert EMAIL.encode() not in scrubbed  # the re-check ran and redacted the copy ...
    assert len(sink.alerts) == sent  # ... without notifying twice
    _, more = chat_span(span_id=3)
    guard.process("p-1", more)  # and the sink is not left muted
    assert len(sink.alerts) == 2 * sent


def test_a_failing_sink_does_not_fail_ingestion() -> None:
    guard = guard_with(Recorder(fail=True), dedup=0)
    _, recs = chat_span()
    (rec,) = guard.process("p-1", recs)
    assert EMAIL not in rec.input and rec.attributes[MARK_ACTION] == "sanitize"


def test_a_full_webhook_queue_drops_alerts_instead_of_blocking() -> None:
    # A real sender that is never started: its bounded queue fills and submit drops, it never waits.
    sender = WebhookSender("ingest-alerts-test", max_queue=2)
    try:
        guard = guard_with(WebhookAlertSink(sender), dedup=0, sanitize=False)
        for span_id in range(1, 6):
            _, recs = chat_span(span_id=span_id)
            guard.process("p-1", recs)
        assert sender.dropped == 5 * 3 - 2
    finally:
        sender.close()


def test_without_a_sink_alerts_are_only_recorded() -> None:
    guard = IngestGuard(Rows(watch=alerting(0)), lambda: PROJECTS, None)
    guard.source.reload()
    guard.names.refresh()
    _, recs = chat_span()
    (rec,) = guard.process("p-1", recs)
    assert rec.attributes[MARK_ACTION] == "sanitize"
