"""One structured JSON log line per exchange on the ``api_etl.requests`` logger.

The line is the JSON document itself (the ``logging`` message), e.g.::

    {"event":"api_request","request_id":"...","method":"GET","url":"https://h/p?token=***",
     "status":200,"ok":true,"attempts":1,"latency_ms":12.3,...}

Values of Authorization, Proxy-Authorization, Cookie, X-Api-Key and of every configured
sensitive header / query name are replaced by ``***``; error messages are scrubbed of all
request header values. Options: ``level`` for successes (failures are logged at
``max(level, WARNING)``), ``only_failures``, and ``sample_rate`` (0..1) applied to
successes only -- a failure is always logged.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import random as _random
import time
from collections.abc import Callable

from api_etl.engine.exchange import Exchange, NextCall
from api_etl.engine.record import error_message_of, error_type_of
from api_etl.engine.redaction import Redactor
from api_etl.middleware.base import MiddlewareContext

LOGGER_NAME = "api_etl.requests"


def _level(level: int | str) -> int:
    if isinstance(level, int):
        return level
    value = logging.getLevelName(level.upper())
    if not isinstance(value, int):
        raise ValueError(f"unknown log level {level!r}")
    return value


class LoggingMiddleware:
    def __init__(
        self,
        level: int | str = "INFO",
        only_failures: bool = False,
        sample_rate: float = 1.0,
        redactor: Redactor | None = None,
        include_headers: bool = True,
        *,
        logger: logging.Logger | None = None,
        random: Callable[[], float] = _random.random,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        if not 0.0 <= sample_rate <= 1.0:
            raise ValueError("sample_rate must be between 0 and 1")
        self.level = _level(level)
        self.failure_level = max(self.level, logging.WARNING)
        self.only_failures = only_failures
        self.sample_rate = sample_rate
        self.redactor = redactor or Redactor()
        self.include_headers = include_headers
        self.logger = logger or logging.getLogger(LOGGER_NAME)
        self._random = random
        self._clock = clock

    async def __call__(self, exchange: Exchange, next_call: NextCall) -> Exchange:
        start = self._clock()
        try:
            exchange = await next_call(exchange)
        except Exception as exc:
            self._emit(exchange, (self._clock() - start) * 1000.0, raised=exc)
            raise
        self._emit(exchange, (self._clock() - start) * 1000.0)
        return exchange

    def _emit(self, exchange: Exchange, latency_ms: float, raised: Exception | None = None) -> None:
        failed = raised is not None or not exchange.ok
        if failed:
            level = self.failure_level
        else:
            if self.only_failures:
                return
            level = self.level
            if self.sample_rate < 1.0 and not self._random() < self.sample_rate:
                return
        if not self.logger.isEnabledFor(level):
            return
        self.logger.log(level, json.dumps(self.payload(exchange, latency_ms, raised), default=str))

    def payload(
        self, exchange: Exchange, latency_ms: float, raised: Exception | None = None
    ) -> dict[str, object]:
        request = exchange.request
        redactor = self.redactor
        if raised is not None:
            error_type: str | None = type(raised).__name__
            message: str | None = str(raised) or error_type
        else:
            error_type = error_type_of(exchange)
            message = error_message_of(exchange)
        doc: dict[str, object] = {
            "event": "api_request",
            "request_id": exchange.request_id,
            "row_id": exchange.row_id,
            "method": request.method,
            "url": redactor.url(request.url, request.params),
            "status": exchange.status,
            "ok": raised is None and exchange.ok,
            "attempts": exchange.attempts,
            "latency_ms": round(latency_ms, 3),
            "error_type": error_type,
            "error_message": redactor.scrub(message, request),
        }
        if self.include_headers:
            doc["request_headers"] = redactor.headers(request.headers)
        if "retry_reasons" in exchange.metadata:
            doc["retry_reasons"] = exchange.metadata["retry_reasons"]
        return doc


@dataclasses.dataclass(frozen=True)
class LoggingFactory:
    level: str = "INFO"
    only_failures: bool = False
    sample_rate: float = 1.0
    sensitive_headers: tuple[str, ...] = ()
    sensitive_params: tuple[str, ...] = ()
    include_headers: bool = True

    def __post_init__(self) -> None:
        _level(self.level)
        if not 0.0 <= self.sample_rate <= 1.0:
            raise ValueError("sample_rate must be between 0 and 1")
        object.__setattr__(self, "sensitive_headers", tuple(self.sensitive_headers))
        object.__setattr__(self, "sensitive_params", tuple(self.sensitive_params))

    def __call__(self, context: MiddlewareContext) -> LoggingMiddleware:
        redactor = context.redactor.merged(self.sensitive_headers, self.sensitive_params)
        return LoggingMiddleware(
            self.level, self.only_failures, self.sample_rate, redactor, self.include_headers
        )
