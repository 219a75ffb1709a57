"""Record latency into metadata.

- ``attempt_latencies_ms``: each HTTP attempt's send time (from the terminal's attempt
  log, so it is per attempt wherever this middleware sits in the chain), comma-separated.
- ``latency_ms``: time spent in the chain below this middleware (all attempts, backoff
  and rate-limit waits included when placed outside retry).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from api_etl.engine.exchange import Exchange, NextCall
from api_etl.middleware.base import MiddlewareContext


class TimingMiddleware:
    def __init__(self, *, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock

    async def __call__(self, exchange: Exchange, next_call: NextCall) -> Exchange:
        start = self._clock()
        try:
            exchange = await next_call(exchange)
        finally:
            elapsed_ms = (self._clock() - start) * 1000.0
            exchange.metadata["latency_ms"] = f"{elapsed_ms:.3f}"
            if exchange.attempt_log:
                exchange.metadata["attempt_latencies_ms"] = ",".join(
                    f"{a.latency_ms:.3f}" for a in exchange.attempt_log
                )
        return exchange


@dataclasses.dataclass(frozen=True)
class TimingFactory:
    def __call__(self, context: MiddlewareContext) -> TimingMiddleware:
        return TimingMiddleware()
