"""Outgoing webhooks (alert actions, async guard callbacks): a bounded queue drained by background threads
that POST JSON with httpx and retry.

``submit`` never blocks: when the queue is full the delivery is dropped and counted. A delivery is retried
with exponential backoff after a transport error, a 429 or a 5xx, up to ``max_attempts``; any other status is
final. Every attempt of one delivery carries the same ``X-OTelGuard-Delivery`` id so a receiver can drop
duplicates caused by a retry after a lost response.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from prometheus_client import Counter

if TYPE_CHECKING:
    from otelguard.guardrails.actions import Alert

__all__ = [
    "Delivery",
    "DeliveryResult",
    "WebhookAlertSink",
    "WebhookSender",
    "check_webhook_url",
]

log = logging.getLogger(__name__)

DELIVERIES = Counter(
    "otelguard_webhook_deliveries_total", "Outgoing webhook deliveries by outcome", ["sender", "outcome"]
)
MAX_URL_LENGTH = 2048


def check_webhook_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL with a host and no credentials; ValueError otherwise."""
    if not isinstance(url, str) or not url:
        raise ValueError("the webhook URL must be a non-empty string")
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"the webhook URL is longer than {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  # raises ValueError on a bad port
    except ValueError as exc:
        raise ValueError(f"the webhook URL is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"the webhook URL must use http or https, not {parts.scheme or 'no scheme'!r}")
    if not parts.hostname:
        raise ValueError("the webhook URL has no host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("the webhook URL must not contain credentials")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise ValueError("the webhook URL contains whitespace or control characters")
    return url


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    ok: bool
    attempts: int
    status: int | None  # the last HTTP status, None when no response came back
    error: str | None


@dataclass(frozen=True, slots=True)
class Delivery:
    url: str
    payload: Mapping[str, Any]
    on_done: Callable[[DeliveryResult], None] | None = None  # called from a sender thread


_ID_PREFIX = os.urandom(6).hex()
_ID_SEQ = itertools.count()
_STOP = object()


class WebhookSender:
    """Background POSTs; see the module docstring. ``start`` before ``submit``; ``close`` when done."""

    def __init__(
        self,
        name: str = "webhook",
        *,
        max_queue: int = 1000,
        max_attempts: int = 4,
        backoff_s: float = 0.5,
        timeout_s: float = 5.0,
        workers: int = 2,
    ) -> None:
        self.name = name
        self.max_attempts = max(1, max_attempts)
        self.backoff_s = backoff_s
        self._queue: queue.Queue[object] = queue.Queue(max_queue)
        self._stop = threading.Event()
        self._client = httpx.Client(
            timeout=timeout_s,
            follow_redirects=False,  # a redirect could turn the POST into a GET somewhere else
            headers={"user-agent": "otelguard-webhook/1"},
        )
        self._threads = [
            threading.Thread(target=self._run, name=f"{name}-{i}", daemon=True) for i in range(workers)
        ]
        self.delivered = 0
        self.failed = 0
        self.dropped = 0

    def start(self) -> WebhookSender:
        for thread in self._threads:
            if not thread.is_alive():
                thread.start()
        return self

    def submit(self, delivery: Delivery) -> bool:
        """Queue a delivery; False (and counted as dropped) when the queue is full or the sender closed."""
        if self._stop.is_set():
            self._drop()
            return False
        try:
            self._queue.put_nowait(delivery)
            return True
        except queue.Full:
            self._drop()
            return False

    def _drop(self) -> None:
        self.dropped += 1
        DELIVERIES.labels(self.name, "dropped").inc()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is _STOP:
                    return
                assert isinstance(item, Delivery)
                result = self._deliver(item)
                self.delivered += result.ok
                self.failed += not result.ok
                DELIVERIES.labels(self.name, "delivered" if result.ok else "failed").inc()
                if item.on_done is not None:
                    try:
                        item.on_done(result)
                    except Exception:
                        log.exception("webhook %s: completion callback failed", self.name)
            finally:
                self._queue.task_done()

    def _deliver(self, delivery: Delivery) -> DeliveryResult:
        delivery_id = f"{_ID_PREFIX}{next(_ID_SEQ):010x}"
        status: int | None = None
        error: str | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self._client.post(
                    delivery.url,
                    json=dict(delivery.payload),
                    headers={"x-otelguard-delivery": delivery_id, "x-otelguard-attempt": str(attempt)},
                )
                status, error = response.status_code, None
                if 200 <= status < 300:
                    return DeliveryResult(True, attempt, status, None)
                error = f"HTTP {status}"
                if status != 429 and status < 500:
                    return DeliveryResult(False, attempt, status, error)  # the receiver said no: final
            except httpx.HTTPError as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"
            if attempt < self.max_attempts and self._stop.wait(self.backoff_s * 2 ** (attempt - 1)):
                return DeliveryResult(False, attempt, status, f"{error} (sender closed)")
        log.warning(
            "webhook %s: giving up on %s after %d attempts: %s",
            self.name,
            delivery.url,
            self.max_attempts,
            error,
        )
        return DeliveryResult(False, self.max_attempts, status, error)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait (bounded) until every queued delivery finished; True when it did."""
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def close(self, timeout_s: float = 5.0) -> None:
        """Stop: retries waiting on backoff give up; deliveries still queued are not sent."""
        self._stop.set()
        started = [t for t in self._threads if t.is_alive()]
        for _ in started:
            with contextlib.suppress(queue.Full):
                self._queue.put(_STOP, timeout=0.1)
        deadline = time.monotonic() + timeout_s
        for thread in started:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._client.close()


class WebhookAlertSink:
    """The engine's :class:`~otelguard.guardrails.actions.AlertSink`: posts each alert (already
    deduplicated by the engine) to the action's ``url``, else to ``default_url``; neither → not sent.

    The payload names the policy, rule, validator and the entity types found — never the checked text."""

    def __init__(self, sender: WebhookSender, default_url: str | None = None) -> None:
        self.sender = sender
        self.default_url = check_webhook_url(default_url) if default_url else None
        self.unrouted = 0

    def send(self, alert: Alert) -> None:
        url = alert.url or self.default_url
        if url is None:
            self.unrouted += 1
            return
        self.sender.submit(Delivery(url, alert_payload(alert)))


def alert_payload(alert: Alert) -> dict[str, Any]:
    return {
        "type": "otelguard.guardrail.alert",
        "dedupKey": alert.dedup_key,
        "policy": alert.policy,
        "rule": alert.rule,
        "validator": alert.validator,
        "stage": alert.stage,
        "severity": alert.severity,
        "channel": alert.channel,
        "entities": list(alert.entities),
        "project": alert.project,
        "timestamp": datetime.fromtimestamp(alert.timestamp, UTC).isoformat(),
    }
