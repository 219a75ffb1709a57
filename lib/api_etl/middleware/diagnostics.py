"""Record transport-level facts about the response into metadata.

``http_version`` (when the transport reports it), ``content_length`` (the header, else the
body size), ``response_bytes``, ``attempts``, ``attempt_outcomes`` (each attempt's status
or exception type, e.g. ``"503,TransportTimeout,200"``) and ``reason`` (the HTTP reason).
Retry reasons are recorded by the retry middleware itself (``retry_reasons``).
"""

from __future__ import annotations

import dataclasses

from api_etl.engine.exchange import Exchange, NextCall
from api_etl.middleware.base import MiddlewareContext


class TransportDiagnosticsMiddleware:
    async def __call__(self, exchange: Exchange, next_call: NextCall) -> Exchange:
        try:
            exchange = await next_call(exchange)
        finally:
            self.annotate(exchange)
        return exchange

    @staticmethod
    def annotate(exchange: Exchange) -> None:
        meta = exchange.metadata
        meta["attempts"] = str(exchange.attempts)
        if exchange.attempt_log:
            meta["attempt_outcomes"] = ",".join(
                str(a.status) if a.status is not None else (a.error_type or "none")
                for a in exchange.attempt_log
            )
        response = exchange.response
        if response is None:
            if exchange.error is not None:
                meta["transport_error"] = type(exchange.error).__name__
            return
        version = getattr(response, "http_version", None)
        if version:
            meta["http_version"] = str(version)
        length = None
        for key, value in response.headers.items():
            if key.lower() == "content-length":
                length = value
                break
        body_size = len(response.body or b"")
        meta["content_length"] = str(length) if length is not None else str(body_size)
        meta["response_bytes"] = str(body_size)
        if response.reason:
            meta["reason"] = response.reason


@dataclasses.dataclass(frozen=True)
class TransportDiagnosticsFactory:
    def __call__(self, context: MiddlewareContext) -> TransportDiagnosticsMiddleware:
        return TransportDiagnosticsMiddleware()
