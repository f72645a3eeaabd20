"""OTLP/HTTP receiver: ``POST /v1/traces`` as a plain ASGI app (no framework on the hot path)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from google.protobuf import json_format
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from otelguard.auth import KeyCache, Principal, Unauthenticated, credentials_from_headers
from otelguard.collector import metrics, otlp_decode
from otelguard.collector.errors import RequestError
from otelguard.collector.pipeline import ExportResult, Pipeline

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# gRPC codes for google.rpc.Status bodies (OTLP/HTTP error responses carry one).
_GRPC_CODE = {400: 3, 401: 16, 404: 5, 405: 12, 413: 8, 415: 3, 429: 8, 500: 13, 503: 14}


class OtlpHttpApp:
    def __init__(self, pipeline: Pipeline, keys: KeyCache, *, max_body_bytes: int) -> None:
        self.pipeline = pipeline
        self.keys = keys
        self.max_body_bytes = max_body_bytes
        self.ready = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if path == "/v1/traces":
            if method != "POST":
                await _plain(send, 405, "use POST for /v1/traces", [(b"allow", b"POST")])
                return
            await self._export(scope, receive, send)
        elif path == "/healthz":
            await _plain(send, 200, "ok")
        elif path == "/readyz":
            await _plain(send, 200 if self.ready else 503, "ready" if self.ready else "shutting down")
        elif path == "/metrics":
            await _respond(send, 200, CONTENT_TYPE_LATEST.encode(), generate_latest())
        else:
            await _plain(send, 404, f"no route {path}: OTLP traces go to POST /v1/traces")

    async def _export(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        content_type = headers.get("content-type")
        media = otlp_decode.JSON if (content_type or "").lower().startswith(otlp_decode.JSON) else None
        try:
            media = otlp_decode.media_type(content_type)
            principal = await _authenticate(self.keys, headers)
            body = await self._read_body(receive, headers)
            body = otlp_decode.decompress(body, headers.get("content-encoding"), self.max_body_bytes)
            request = otlp_decode.parse(body, media)
            payload = body if media == otlp_decode.PROTOBUF else request.SerializeToString()
            result = await self.pipeline.export(principal.project_id, request, payload, transport="http")
        except RequestError as exc:
            metrics.REQUESTS.labels("http", str(exc.http_status)).inc()
            await _error(send, exc, media)
            return
        except Exception:
            log.exception("unexpected error handling an OTLP/HTTP export")
            metrics.REQUESTS.labels("http", "500").inc()
            await _error(send, RequestError(500, "internal error; the request was not accepted"), media)
            return
        metrics.REQUESTS.labels("http", "200").inc()
        await _success(send, result, media)

    async def _read_body(self, receive: Receive, headers: dict[str, str]) -> bytes:
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise RequestError(413, f"request body is larger than the {self.max_body_bytes}-byte limit")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise RequestError(400, "client disconnected before sending the whole body")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise RequestError(413, f"request body is larger than the {self.max_body_bytes}-byte limit")
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


async def _authenticate(keys: KeyCache, headers: dict[str, str]) -> Principal:
    try:
        return await keys.authenticate_async(credentials_from_headers(headers))
    except Unauthenticated as exc:
        raise RequestError(401, exc.message) from None


async def _success(send: Send, result: ExportResult, media: str | None) -> None:
    response = ExportTraceServiceResponse()
    if result.rejected:
        response.partial_success.rejected_spans = result.rejected
        response.partial_success.error_message = result.message
    if media == otlp_decode.JSON:
        body = json.dumps(json_format.MessageToDict(response)).encode()
        await _respond(send, 200, b"application/json", body)
    else:
        await _respond(send, 200, b"application/x-protobuf", response.SerializeToString())


async def _error(send: Send, exc: RequestError, media: str | None) -> None:
    status = status_pb2.Status(code=_GRPC_CODE.get(exc.http_status, 2), message=exc.message)
    extra: list[tuple[bytes, bytes]] = []
    if exc.retry_after_s is not None:
        extra.append((b"retry-after", str(exc.retry_after_s).encode()))
    if media == otlp_decode.PROTOBUF:
        await _respond(send, exc.http_status, b"application/x-protobuf", status.SerializeToString(), extra)
    else:
        body = json.dumps(json_format.MessageToDict(status)).encode()
        await _respond(send, exc.http_status, b"application/json", body, extra)


async def _plain(send: Send, status: int, text: str, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    await _respond(send, status, b"text/plain; charset=utf-8", text.encode(), extra)


async def _respond(
    send: Send,
    status: int,
    content_type: bytes,
    body: bytes,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
