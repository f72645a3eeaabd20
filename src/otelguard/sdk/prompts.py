"""``OTelGuardClient.get_prompt``: prompts by label or version with an in-process cache.

Cache per (name, label, version, namespace):

- fresh for ``ttl_s`` (default 60 s): served from memory, no I/O (a dict lookup and a clock read);
- stale: served from memory at once, and one background thread revalidates it (``If-None-Match`` with
  the ETag; a 304 only renews the entry) — stale-while-revalidate;
- unreachable server, 5xx, or a label that disappeared: the last known good copy keeps being served and
  revalidation is retried every ``retry_s``; only a first fetch with nothing cached raises;
- by version: versions are immutable, so a fetched version never expires.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from otelguard.prompts import Included, IncludeRef, PromptSource, TemplateEngine

__all__ = ["OTelGuardClient", "Prompt", "PromptNotFound", "PromptUnavailable"]

log = logging.getLogger("otelguard.sdk")
_ENGINE = TemplateEngine()


class PromptNotFound(LookupError):
    """The server answered 404: no such prompt, label or version."""


class PromptUnavailable(RuntimeError):
    """The server could not be reached (or failed) and nothing is cached."""


@dataclass(frozen=True, slots=True)
class Prompt:
    name: str
    version: int
    hash: str
    type: str  # text | chat
    template: str | None
    messages: list[dict[str, str]] | None
    variables: list[dict[str, Any]]
    model_config: dict[str, Any] | None
    labels: list[str]
    namespace: str
    raw: Mapping[str, Any] = field(repr=False)
    _client: OTelGuardClient | None = field(default=None, repr=False, compare=False)
    _source: PromptSource | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_json(cls, body: Mapping[str, Any], client: OTelGuardClient | None = None) -> Prompt:
        content = {k: body.get(k) for k in ("template", "messages", "variables", "modelConfig") if k in body}
        return cls(
            name=str(body["name"]),
            version=int(body["version"]),
            hash=str(body["hash"]),
            type=str(body["type"]),
            template=body.get("template"),
            messages=body.get("messages"),
            variables=list(body.get("variables") or []),
            model_config=body.get("modelConfig"),
            labels=list(body.get("labels") or []),
            namespace=str(body.get("namespace", "")),
            raw=body,
            _client=client,
            _source=PromptSource.from_content(content),
        )

    def compile(self, **variables: Any) -> str | list[dict[str, str]]:
        """Render with the same sandboxed engine as the server: text, or a list of {role, content}.
        Includes (``prompt:NAME@LABEL``) are fetched through the client's cache."""
        assert self._source is not None
        loader = self._client._include_loader(self.namespace) if self._client is not None else None
        rendered = _ENGINE.render(self._source, variables, loader=loader, root=(self.name, self.version))
        if rendered.text is not None:
            return rendered.text
        return rendered.messages or []

    @contextmanager
    def trace(self) -> Iterator[Prompt]:
        """Spans started inside carry ``otelguard.prompt.name``/``.version`` (``sdk.tracing``)."""
        from otelguard.sdk.tracing import install_prompt_processor, prompt_scope

        install_prompt_processor()
        with prompt_scope(self.name, self.version):
            yield self


@dataclass(slots=True)
class _Entry:
    prompt: Prompt
    etag: str | None
    expires: float  # monotonic; inf for versions
    fetched: float
    refreshing: bool = False


class OTelGuardClient:
    """A client for the OTelGuard API (``base_url`` like ``http://127.0.0.1:8080``)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        ttl_s: float = 60.0,
        retry_s: float = 5.0,
        timeout_s: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.ttl_s = ttl_s
        self.retry_s = retry_s
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"authorization": f"Bearer {api_key}", "user-agent": "otelguard-sdk"},
            timeout=timeout_s,
            transport=transport,
        )
        self._cache: dict[tuple[str, str | None, int | None, str | None], _Entry] = {}
        self._lock = threading.Lock()
        self.stats = {"fetches": 0, "not_modified": 0, "errors": 0}

    def post(self, path: str, body: object) -> httpx.Response:
        """POST JSON to the API with this client's key (used by ``otelguard.sdk.guard``)."""
        return self._http.post(path, json=body)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OTelGuardClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def get_prompt(
        self, name: str, *, label: str | None = None, version: int | None = None, namespace: str | None = None
    ) -> Prompt:
        """The prompt by label (default: the server's, ``production``) or version, cached."""
        entry = self._cache.get((name, label, version, namespace))
        if entry is not None:
            if entry.expires > time.monotonic():
                return entry.prompt
            self._revalidate_in_background((name, label, version, namespace), entry)
            return entry.prompt
        return self._fetch((name, label, version, namespace), None)

    def invalidate(self) -> None:
        with self._lock:
            self._cache.clear()

    # -- internals ---------------------------------------------------------------------------------------

    def _request(
        self, key: tuple[str, str | None, int | None, str | None], etag: str | None
    ) -> httpx.Response:
        name, label, version, namespace = key
        params: dict[str, str | int] = {}
        if label is not None:
            params["label"] = label
        if version is not None:
            params["version"] = version
        if namespace is not None:
            params["namespace"] = namespace
        headers = {"if-none-match": etag} if etag else {}
        self.stats["fetches"] += 1
        return self._http.get(f"/api/v1/prompts/{name}", params=params, headers=headers)

    def _store(self, key: tuple[str, str | None, int | None, str | None], response: httpx.Response) -> Prompt:
        prompt = Prompt.from_json(response.json(), self)
        now = time.monotonic()
        expires = float("inf") if key[2] is not None else now + self.ttl_s
        with self._lock:
            self._cache[key] = _Entry(prompt, response.headers.get("etag"), expires, now)
        return prompt

    def _fetch(self, key: tuple[str, str | None, int | None, str | None], etag: str | None) -> Prompt:
        try:
            response = self._request(key, etag)
        except httpx.HTTPError as exc:
            self.stats["errors"] += 1
            raise PromptUnavailable(f"cannot fetch prompt {key[0]!r}: {exc}") from exc
        if response.status_code == 404:
            raise PromptNotFound(_detail(response))
        if response.status_code != 200:
            self.stats["errors"] += 1
            raise PromptUnavailable(
                f"fetching prompt {key[0]!r}: HTTP {response.status_code} {_detail(response)}"
            )
        return self._store(key, response)

    def _revalidate_in_background(
        self, key: tuple[str, str | None, int | None, str | None], entry: _Entry
    ) -> None:
        with self._lock:
            if entry.refreshing:
                return
            entry.refreshing = True
        threading.Thread(
            target=self._revalidate, args=(key, entry), daemon=True, name="otelguard-prompt"
        ).start()

    def _revalidate(self, key: tuple[str, str | None, int | None, str | None], entry: _Entry) -> None:
        try:
            response = self._request(key, entry.etag)
            if response.status_code == 304:
                self.stats["not_modified"] += 1
                entry.expires = time.monotonic() + self.ttl_s
                entry.fetched = time.monotonic()
            elif response.status_code == 200:
                self._store(key, response)
            else:
                raise PromptUnavailable(f"HTTP {response.status_code} {_detail(response)}")
        except Exception as exc:  # keep the last known good copy, retry later
            self.stats["errors"] += 1
            entry.expires = time.monotonic() + self.retry_s
            log.warning("otelguard: revalidating prompt %r failed, serving the cached copy: %s", key[0], exc)
        finally:
            entry.refreshing = False

    def _include_loader(self, namespace: str) -> Any:
        def load(ref: IncludeRef) -> Included | None:
            try:
                found = self.get_prompt(
                    ref.name, label=ref.label, version=ref.version, namespace=namespace or None
                )
            except PromptNotFound:
                return None
            return Included(found.name, found.version, found.template)

        return load


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return response.text[:200]
