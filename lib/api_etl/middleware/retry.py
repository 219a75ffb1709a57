"""Retry an exchange on chosen statuses, connection errors and timeouts.

Each retry calls ``next_call`` again, so it re-runs every middleware inside this one and
takes a new rate-limit token; the attempt itself is counted by the terminal send, not here.
Between attempts it sleeps for:

- the response's ``Retry-After`` (seconds or HTTP-date), capped at ``max_retry_after``,
  when ``respect_retry_after`` and the header is present on a retryable status; else
- full-jitter exponential backoff (:class:`~api_etl.middleware.backoff.FullJitterBackoff`).

``max_attempts`` counts the calls this middleware makes (1 = no retry). It records
``retry_reasons`` (e.g. ``"status:503,timeout"``) and ``retry_delays_s`` in metadata.
``sleep``, ``random`` and ``now`` (epoch seconds, for HTTP-dates) are injectable.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random as _random
import time
from collections.abc import Awaitable, Callable, Iterable

from api_etl.engine.exchange import Exchange, NextCall
from api_etl.middleware.backoff import FullJitterBackoff, parse_retry_after
from api_etl.middleware.base import MiddlewareContext
from api_etl.middleware.errors import CONNECTION, TIMEOUT, classify

DEFAULT_RETRY_STATUSES: tuple[int, ...] = (429, 500, 502, 503, 504)


class RetryMiddleware:
    def __init__(
        self,
        max_attempts: int = 3,
        retry_status_codes: Iterable[int] = DEFAULT_RETRY_STATUSES,
        retry_on_connection_errors: bool = True,
        retry_on_timeouts: bool = True,
        base_delay: float = 0.2,
        max_delay: float = 10.0,
        respect_retry_after: bool = True,
        max_retry_after: float = 60.0,
        *,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        random: Callable[[], float] = _random.random,
        now: Callable[[], float] = time.time,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self.max_attempts = max_attempts
        self.retry_status_codes = frozenset(retry_status_codes)
        self.retry_on_connection_errors = retry_on_connection_errors
        self.retry_on_timeouts = retry_on_timeouts
        self.backoff = FullJitterBackoff(base_delay, max_delay)
        self.respect_retry_after = respect_retry_after
        self.max_retry_after = max_retry_after
        self._sleep = sleep
        self._random = random
        self._now = now

    def retry_reason(self, exchange: Exchange) -> str | None:
        """Why this outcome should be retried, or None."""
        kind = classify(exchange.error)
        if kind == TIMEOUT:
            return TIMEOUT if self.retry_on_timeouts else None
        if kind == CONNECTION:
            return CONNECTION if self.retry_on_connection_errors else None
        if exchange.error is None and exchange.response is not None:
            status = exchange.response.status
            if status in self.retry_status_codes:
                return f"status:{status}"
        return None

    def delay(self, exchange: Exchange, retry_number: int) -> float:
        """Seconds to wait before the ``retry_number``-th retry (1-based)."""
        if self.respect_retry_after and exchange.response is not None:
            retry_after = _header(exchange.response.headers, "retry-after")
            seconds = parse_retry_after(retry_after, self._now())
            if seconds is not None:
                return min(seconds, self.max_retry_after)
        return self.backoff(retry_number, self._random)

    async def __call__(self, exchange: Exchange, next_call: NextCall) -> Exchange:
        reasons: list[str] = []
        delays: list[str] = []
        calls = 0
        while True:
            calls += 1
            exchange = await next_call(exchange)
            reason = self.retry_reason(exchange)
            if reason is None or calls >= self.max_attempts:
                break
            reasons.append(reason)
            wait = self.delay(exchange, calls)
            delays.append(f"{wait:.3f}")
            # Inner middleware decide afresh on the next attempt.
            exchange.error_type = None
            exchange.error_message = None
            exchange.parsed_body = None
            if wait > 0:
                await self._sleep(wait)
        if reasons:
            exchange.metadata["retry_reasons"] = ",".join(reasons)
            exchange.metadata["retry_delays_s"] = ",".join(delays)
        if reason is not None and self.max_attempts > 1:  # failing after the last attempt
            exchange.metadata["retries_exhausted"] = "true"
        return exchange


def _header(headers: dict[str, str], lower_name: str) -> str | None:
    value = headers.get(lower_name)
    if value is not None:
        return value
    for key, value in headers.items():
        if key.lower() == lower_name:
            return value
    return None


@dataclasses.dataclass(frozen=True)
class RetryFactory:
    max_attempts: int = 3
    retry_status_codes: tuple[int, ...] = DEFAULT_RETRY_STATUSES
    retry_on_connection_errors: bool = True
    retry_on_timeouts: bool = True
    base_delay: float = 0.2
    max_delay: float = 10.0
    respect_retry_after: bool = True
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "retry_status_codes", tuple(self.retry_status_codes))
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")

    def __call__(self, context: MiddlewareContext) -> RetryMiddleware:
        return RetryMiddleware(**dataclasses.asdict(self))
