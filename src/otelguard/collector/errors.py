"""Errors a receiver turns into an OTLP error response."""

from __future__ import annotations


class RequestError(Exception):
    """A request OTelGuard refuses as a whole; nothing of it is stored.

    ``http_status`` is the OTLP/HTTP status; receivers map it to the matching gRPC code.
    """

    def __init__(self, http_status: int, message: str, *, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.message = message
        self.retry_after_s = retry_after_s


class QueueFull(RequestError):
    """The collector holds as many unwritten spans as it may; the client should retry later."""

    def __init__(self, retry_after_s: int = 1) -> None:
        super().__init__(
            429,
            "collector queue is full (the store is slow or unavailable); retry later",
            retry_after_s=retry_after_s,
        )


class ShuttingDown(RequestError):
    def __init__(self) -> None:
        super().__init__(503, "collector is shutting down; retry later", retry_after_s=1)
