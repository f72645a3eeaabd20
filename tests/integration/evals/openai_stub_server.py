"""A real HTTP server on loopback speaking the OpenAI chat completions protocol, with scripted replies.

This is the allowed stand-in for an LLM provider: the provider itself is not reachable from the test
environment. It is a real ``http.server.ThreadingHTTPServer`` (real sockets, real HTTP/1.1, one thread
per connection), so the judge's httpx client, timeouts, headers and concurrency are exercised for real.

``POST /v1/chat/completions`` answers the next queued ``Reply`` (else ``default``). It records every
request (JSON body and headers), counts requests in flight (``max_in_flight``), refuses a wrong or missing
``Authorization`` with 401 when ``api_key`` is set, and with ``reject_response_format`` answers 400 (the
wording vLLM/Ollama-style servers use) to any request that carries ``response_format``.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["OpenAIStub", "Recorded", "Reply"]


@dataclass
class Reply:
    content: str | None = '{"score": 1, "reasoning": "ok"}'
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    usage: dict[str, Any] | None = field(
        default_factory=lambda: {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120}
    )
    body: Any = None  # a raw JSON body instead of a chat completion (errors)
    text: str | None = None  # a raw non-JSON body


@dataclass(frozen=True)
class Recorded:
    body: dict[str, Any]
    headers: dict[str, str]


class OpenAIStub:
    def __init__(self, *, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.default: Reply | Callable[[dict[str, Any]], Reply] = Reply()
        self.reject_response_format = False
        self.requests: list[Recorded] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> OpenAIStub:
        self._thread.start()
        return self

    def close(self) -> None:
        if self._closing.is_set():
            return
        self._closing.set()  # wakes handlers sleeping in a delay
        self._server.shutdown()
        self._server.server_close()

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def _next(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return self.default(body) if callable(self.default) else self.default

    def _answer(
        self, body: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes, float]:
        with self._lock:
            self.requests.append(Recorded(body, headers))
        if self.api_key is not None and headers.get("authorization") != f"Bearer {self.api_key}":
            denied = {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}
            return 401, {}, json.dumps(denied).encode(), 0.0
        if self.reject_response_format and "response_format" in body:
            refused: dict[str, Any] = {
                "error": {"message": "'response_format' is not supported", "code": 400}
            }
            return 400, {}, json.dumps(refused).encode(), 0.0
        reply = self._next(body)
        if reply.text is not None:
            payload = reply.text.encode()
        elif reply.body is not None:
            payload = json.dumps(reply.body).encode()
        else:
            completion: dict[str, Any] = {
                "id": f"chatcmpl-{len(self.requests)}",
                "object": "chat.completion",
                "created": 1_700_000_000,
                "model": body.get("model", "unknown"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": reply.content},
                        "finish_reason": "stop",
                    }
                ],
            }
            if reply.usage is not None:
                completion["usage"] = reply.usage
            payload = json.dumps(completion).encode()
        return reply.status, reply.headers, payload, reply.delay

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path != "/v1/chat/completions":
                    self._send(404, {}, b'{"error": {"message": "not found"}}')
                    return
                try:
                    body = json.loads(raw)
                except ValueError:
                    self._send(400, {}, b'{"error": {"message": "invalid JSON body"}}')
                    return
                headers = {k.lower(): v for k, v in self.headers.items()}
                with stub._lock:
                    stub.in_flight += 1
                    stub.max_in_flight = max(stub.max_in_flight, stub.in_flight)
                try:
                    status, extra, payload, delay = stub._answer(body, headers)
                    if delay and stub._closing.wait(delay):
                        return
                    self._send(status, extra, payload)
                finally:
                    with stub._lock:
                        stub.in_flight -= 1

            def _send(self, status: int, extra: dict[str, str], payload: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for key, value in extra.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    pass

        return Handler
