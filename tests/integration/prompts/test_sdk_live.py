"""The SDK against a real API server on loopback: fetch, ETag revalidation, then the server is stopped
and the last known good copy keeps being served; a restarted server is picked up again."""

from __future__ import annotations

import time

from prompt_support import KEY, Server, store

from otelguard.sdk import OTelGuardClient, PromptUnavailable
from otelguard.storage.postgres import Database

SPEC = {"template": "Hello {{ name }}", "variables": [{"name": "name"}], "labels": {"production": "latest"}}


def test_sdk_cache_with_the_server_stopped(db: Database) -> None:
    store(db, "greet", SPEC)
    server = Server(db).start()
    client = OTelGuardClient(server.url, KEY, ttl_s=0.2, retry_s=0.1, timeout_s=2)
    try:
        prompt = client.get_prompt("greet")
        assert (prompt.version, prompt.compile(name="Ada")) == (1, "Hello Ada")
        time.sleep(0.25)
        assert client.get_prompt("greet") is prompt  # stale, revalidating: If-None-Match → 304
        deadline = time.monotonic() + 5
        while client.stats["not_modified"] < 1:
            assert time.monotonic() < deadline
            time.sleep(0.02)

        server.stop()
        for _ in range(10):
            time.sleep(0.05)
            assert client.get_prompt("greet").compile(name="Bo") == "Hello Bo"  # last known good
        assert client.stats["errors"] >= 1
        try:
            client.get_prompt("greet", version=2)
            raise AssertionError("a never-fetched version cannot be served")
        except PromptUnavailable:
            pass

        store(db, "greet", {**SPEC, "template": "Hi {{ name }}"}, generation=2)
        server = Server(db, port=server.port).start()
        deadline = time.monotonic() + 10
        while client.get_prompt("greet").version != 2:
            assert time.monotonic() < deadline, client.stats
            time.sleep(0.05)
        assert client.get_prompt("greet").compile(name="Cy") == "Hi Cy"
    finally:
        client.close()
        server.stop()
