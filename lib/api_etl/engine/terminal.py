"""The innermost call of every chain: take a rate-limit token, count the attempt, send.

This is the ONE place attempts are counted: each call adds 1 to ``exchange.attempts`` and
appends an :class:`~api_etl.engine.exchange.AttemptInfo` to ``exchange.attempt_log``.
Retry middleware (which calls ``next_call`` again) and auth's resend after a 401 therefore
count naturally, and no middleware touches ``attempts``.

A transport failure does not raise out of here: the exception is stored in
``exchange.error`` (``exchange.response`` is None), so middleware look at one place for
the outcome of an attempt. Only cancellation propagates.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from api_etl.engine.exchange import AttemptInfo, Exchange
from api_etl.engine.rate_limiter import TokenBucket
from api_etl.transport.base import Transport


class TransportCall:
    """``await TransportCall(transport, limiter)(exchange)`` sends one attempt."""

    def __init__(
        self,
        transport: Transport,
        limiter: TokenBucket | None = None,
        *,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._transport = transport
        self._limiter = limiter
        self._clock = clock

    async def __call__(self, exchange: Exchange) -> Exchange:
        if self._limiter is not None:
            await self._limiter.acquire()
        exchange.attempts += 1
        exchange.response = None
        exchange.error = None
        start = self._clock()
        try:
            exchange.response = await self._transport.send(exchange.request)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the row's outcome, not the partition's
            exchange.error = exc
        latency_ms = (self._clock() - start) * 1000.0
        response = exchange.response
        exchange.attempt_log.append(
            AttemptInfo(
                number=exchange.attempts,
                status=response.status if response is not None else None,
                error_type=type(exchange.error).__name__ if exchange.error is not None else None,
                latency_ms=latency_ms,
            )
        )
        return exchange
