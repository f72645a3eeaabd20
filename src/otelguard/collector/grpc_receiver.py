"""OTLP/gRPC receiver: ``opentelemetry.proto.collector.trace.v1.TraceService/Export``.

The method is registered with a raw-bytes deserializer so the request bytes go to the spool as they came,
without a parse/serialize round trip.
"""

from __future__ import annotations

import logging

import grpc
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from otelguard.auth import KeyCache, Unauthenticated, credentials_from_headers
from otelguard.collector import metrics, otlp_decode
from otelguard.collector.errors import RequestError
from otelguard.collector.pipeline import Pipeline

log = logging.getLogger(__name__)

SERVICE = "opentelemetry.proto.collector.trace.v1.TraceService"

_CODES = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,  # not retryable: no RetryInfo attached
    415: grpc.StatusCode.INVALID_ARGUMENT,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,  # retryable: RetryInfo attached (OTLP spec)
    503: grpc.StatusCode.UNAVAILABLE,
}


class TraceServiceHandler:
    def __init__(self, pipeline: Pipeline, keys: KeyCache) -> None:
        self.pipeline = pipeline
        self.keys = keys

    async def export(self, body: bytes, context: grpc.aio.ServicerContext) -> bytes:
        metadata = {k.lower(): v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
        try:
            try:
                principal = await self.keys.authenticate_async(credentials_from_headers(metadata))
            except Unauthenticated as exc:
                raise RequestError(401, exc.message) from None
            request = otlp_decode.parse_protobuf(body)
            result = await self.pipeline.export(principal.project_id, request, body, transport="grpc")
        except RequestError as exc:
            metrics.REQUESTS.labels("grpc", str(exc.http_status)).inc()
            await _abort(context, exc)
            raise AssertionError("unreachable") from None
        except Exception:
            log.exception("unexpected error handling an OTLP/gRPC export")
            metrics.REQUESTS.labels("grpc", "500").inc()
            await context.abort(grpc.StatusCode.INTERNAL, "internal error; the request was not accepted")
            raise AssertionError("unreachable") from None
        metrics.REQUESTS.labels("grpc", "200").inc()
        response = ExportTraceServiceResponse()
        if result.rejected:
            response.partial_success.rejected_spans = result.rejected
            response.partial_success.error_message = result.message
        return bytes(response.SerializeToString())

    def generic_handler(self) -> grpc.GenericRpcHandler:
        method = grpc.unary_unary_rpc_method_handler(
            self.export,
            request_deserializer=None,  # raw bytes
            response_serializer=None,
        )
        return grpc.method_handlers_generic_handler(SERVICE, {"Export": method})


async def _abort(context: grpc.aio.ServicerContext, exc: RequestError) -> None:
    code = _CODES.get(exc.http_status, grpc.StatusCode.UNKNOWN)
    trailing: tuple[tuple[str, bytes], ...] = ()
    if exc.retry_after_s is not None:
        detail = error_details_pb2.RetryInfo(retry_delay=duration_pb2.Duration(seconds=exc.retry_after_s))
        status = status_pb2.Status(code=code.value[0], message=exc.message)
        status.details.add().Pack(detail)
        trailing = (("grpc-status-details-bin", status.SerializeToString()),)
    await context.abort(code, exc.message, trailing_metadata=trailing)


def make_server(
    handler: TraceServiceHandler, address: str, *, max_message_bytes: int
) -> tuple[grpc.aio.Server, int]:
    """A server bound to ``address`` (port 0 picks one); returns it with the bound port."""
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", 4 * 1024 * 1024),
            ("grpc.so_reuseport", 0),  # a taken port must fail, not be silently shared
        ]
    )
    server.add_generic_rpc_handlers((handler.generic_handler(),))
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"cannot listen for OTLP/gRPC on {address} (is the port in use?)")
    return server, port
