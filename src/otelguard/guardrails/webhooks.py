"""Outgoing webhooks (alert actions, async guard callbacks): a bounded queue drained by background threads
that POST JSON with httpx and retry.

``submit`` never blocks: when the queue is full the delivery is dropped and counted. A delivery is retried
with exponential backoff after a transport error, a 429 or a 5xx, up to ``max_attempts``; any other status is
final. Every attempt of one delivery carries the same ``X-OTelGuard-Delivery`` id so a receiver can drop
duplicates caused by a retry after a lost response.

SSRF: every attempt first resolves and checks the destination (``otelguard.guardrails.egress``) and then
POSTs to the checked address; connections are not kept alive (two names on one address must not share a
TLS session) and environment proxies are not used (the check is about where the POST goes). A refusal is
final and counted in ``otelguard_webhook_refused_total``.

Secret URLs. An alert may name its URL by Secret reference (:class:`SecretUrl`); it is resolved on the
sender thread when the delivery is sent, through a :class:`SecretStore` that caches values briefly; a
missing Secret or key fails the delivery with the reason (logged, counted) and the URL is never logged.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import queue
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from prometheus_client import Counter

from otelguard.guardrails.egress import (
    AddressPolicy,
    IPNetwork,
    Resolver,
    WebhookRefused,
    pin_target,
    system_resolver,
)

if TYPE_CHECKING:
    from otelguard.guardrails.actions import Alert

__all__ = [
    "Delivery",
    "DeliveryResult",
    "SecretResolver",
    "SecretStore",
    "SecretUrl",
    "UnresolvedUrl",
    "WebhookAlertSink",
    "WebhookSender",
    "check_webhook_url",
]

log = logging.getLogger(__name__)

DELIVERIES = Counter(
    "otelguard_webhook_deliveries_total", "Outgoing webhook deliveries by outcome", ["sender", "outcome"]
)
REFUSED = Counter(
    "otelguard_webhook_refused_total",
    "Webhook deliveries not attempted (also counted as failed): reason address (SSRF protection) or secret "
    "(the URL's Secret or key is missing)",
    ["sender", "reason"],
)
MAX_URL_LENGTH = 2048
SecretResolver = Callable[[str, str, str], str | None]  # (namespace, name, key) -> value, None when missing


class UnresolvedUrl(Exception):
    """A :class:`SecretUrl` could not be resolved to a usable URL; the message says why (never the URL)."""


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


# -- URLs held in Secrets ----------------------------------------------------------------------------------
class SecretStore:
    """Secret values through a resolver, cached: a value for ``ttl_s`` (a rotated Secret is used within
    that), a miss for ``miss_ttl_s`` (a Secret created after a failure is found soon). Thread-safe; a
    resolver error is raised, not cached."""

    def __init__(
        self,
        resolver: SecretResolver,
        *,
        ttl_s: float = 30.0,
        miss_ttl_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._resolver = resolver
        self._ttl_s = ttl_s
        self._miss_ttl_s = miss_ttl_s
        self._clock = clock
        self._cache: dict[tuple[str, str, str], tuple[float, str | None]] = {}
        self._lock = threading.Lock()
        self.lookups = 0  # resolver calls (cache misses)

    def get(self, namespace: str, name: str, key: str) -> str | None:
        ref = (namespace, name, key)
        now = self._clock()
        with self._lock:
            hit = self._cache.get(ref)
        if hit is not None and hit[0] > now:
            return hit[1]
        self.lookups += 1
        value = self._resolver(namespace, name, key)
        with self._lock:
            if len(self._cache) > 1000:
                self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
            self._cache[ref] = (now + (self._ttl_s if value is not None else self._miss_ttl_s), value)
        return value


@dataclass(frozen=True, slots=True)
class SecretUrl:
    """A webhook URL held in key ``key`` of Secret ``namespace/name``, resolved when the delivery is sent."""

    namespace: str
    name: str
    key: str
    store: SecretStore | None
    field: str = "params.urlSecretRef"

    def __str__(self) -> str:  # what logs show instead of the URL
        return f"the URL in Secret {self.namespace}/{self.name} key {self.key!r}"

    def resolve(self) -> str:
        where = f"Secret {self.namespace}/{self.name}"
        if self.store is None:
            raise UnresolvedUrl(f"{self.field}: no Secret resolver is configured in this server ({where})")
        try:
            value = self.store.get(self.namespace, self.name, self.key)
        except Exception as exc:
            raise UnresolvedUrl(
                f"{self.field}: reading {where} failed: {type(exc).__name__}: {exc}"
            ) from None
        if value is None:
            raise UnresolvedUrl(f"{self.field}: {where} has no key {self.key!r} (or does not exist)")
        try:
            return check_webhook_url(value.strip())
        except ValueError as exc:
            raise UnresolvedUrl(
                f"{self.field}: {where} key {self.key!r} is not a usable URL: {exc}"
            ) from None


# -- the sender --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DeliveryResult:
    ok: bool
    attempts: int  # attempts made (0: refused before any POST)
    status: int | None  # the last HTTP status, None when no response came back
    error: str | None
    refused: bool = False  # not sent: the address is not allowed or the URL's Secret is missing


@dataclass(frozen=True, slots=True)
class Delivery:
    url: str | SecretUrl
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
        allow_networks: Iterable[IPNetwork | str] = (),
        resolver: Resolver = system_resolver,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.name = name
        self.max_attempts = max(1, max_attempts)
        self.backoff_s = backoff_s
        self.addresses = AddressPolicy(allow_networks)
        self._resolver = resolver
        self._queue: queue.Queue[object] = queue.Queue(max_queue)
        self._stop = threading.Event()
        self._client = httpx.Client(
            timeout=timeout_s,
            follow_redirects=False,  # a redirect could turn the POST into a GET somewhere else
            headers={"user-agent": "otelguard-webhook/1"},
            verify=verify,
            trust_env=False,  # no HTTP(S)_PROXY: the address check must be about where the POST goes
            limits=httpx.Limits(max_keepalive_connections=0),  # pinned to an address: no shared sessions
        )
        self._threads = [
            threading.Thread(target=self._run, name=f"{name}-{i}", daemon=True) for i in range(workers)
        ]
        self.delivered = 0
        self.failed = 0
        self.dropped = 0
        self.refused = 0

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
                try:
                    result = self._deliver(item)
                except Exception as exc:  # a bug must not kill the sender thread
                    log.exception("webhook %s: delivery to %s failed", self.name, item.url)
                    result = DeliveryResult(False, 0, None, f"internal error: {type(exc).__name__}")
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

    def _refuse(self, delivery: Delivery, posts: int, reason: str, error: str) -> DeliveryResult:
        self.refused += 1
        REFUSED.labels(self.name, reason).inc()
        log.warning("webhook %s: not delivering to %s: %s", self.name, delivery.url, error)
        return DeliveryResult(False, posts, None, error, refused=True)

    def _deliver(self, delivery: Delivery) -> DeliveryResult:
        delivery_id = f"{_ID_PREFIX}{next(_ID_SEQ):010x}"
        try:
            url = delivery.url if isinstance(delivery.url, str) else delivery.url.resolve()
        except UnresolvedUrl as exc:
            return self._refuse(delivery, 0, "secret", str(exc))
        status: int | None = None
        error: str | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                # Resolved and checked before every attempt, and the POST goes to the checked address.
                target = pin_target(url, self.addresses, self._resolver)
                response = self._client.post(
                    target.url,
                    json=dict(delivery.payload),
                    headers={
                        "host": target.host,
                        "x-otelguard-delivery": delivery_id,
                        "x-otelguard-attempt": str(attempt),
                    },
                    extensions={"sni_hostname": target.sni} if target.sni else None,
                )
                status, error = response.status_code, None
                if 200 <= status < 300:
                    return DeliveryResult(True, attempt, status, None)
                error = f"HTTP {status}"
                if status != 429 and status < 500:
                    return DeliveryResult(False, attempt, status, error)  # the receiver said no: final
            except WebhookRefused as exc:
                return self._refuse(delivery, attempt - 1, "address", f"refused: {exc}")
            except httpx.InvalidURL as exc:  # passed check_webhook_url, yet httpx cannot use it: final
                return DeliveryResult(False, attempt - 1, None, f"invalid URL: {exc}")
            except httpx.HTTPError as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"
            except (OSError, UnicodeError) as exc:  # the name does not resolve (now): retried
                status, error = None, f"cannot resolve the host: {type(exc).__name__}: {exc}"
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
    deduplicated by the engine) to the action's ``url`` or the URL in its ``urlSecretRef`` (a Secret in
    the policy's namespace, read through ``secrets`` at send time), else to ``default_url``; none → not sent.

    The payload names the policy, rule, validator and the entity types found — never the checked text."""

    def __init__(
        self, sender: WebhookSender, default_url: str | None = None, secrets: SecretStore | None = None
    ) -> None:
        self.sender = sender
        self.default_url = check_webhook_url(default_url) if default_url else None
        self.secrets = secrets
        self.unrouted = 0

    def send(self, alert: Alert) -> None:
        url: str | SecretUrl | None
        ref = alert.url_secret_ref
        if ref is not None:
            namespace = alert.policy.rpartition("/")[0] or "default"
            url = SecretUrl(namespace, ref.name, ref.key, self.secrets)
        else:
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
