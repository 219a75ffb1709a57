"""A token bucket for one Spark task's share of the job-wide request rate.

The bucket is scheduled with the GCRA ("virtual scheduling") formulation: each caller
reserves the next free slot synchronously and then sleeps until it, so concurrent callers
are served in arrival order without a lock, and with a fake clock the timing is exact.
``capacity`` is the burst size: with the default 1, no two acquisitions are ever closer
than ``1 / rate`` seconds, even after an idle period.

The engine acquires once per HTTP attempt, right before ``transport.send`` (see
:mod:`api_etl.engine.terminal`), so retries count against the API's limit.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable


def per_task_rate(job_rate: float | None, concurrent_tasks: int) -> float | None:
    """Each task's share of a job-wide rate (None = unlimited)."""
    if job_rate is None:
        return None
    if job_rate <= 0:
        raise ValueError(f"job_rate must be positive, got {job_rate!r}")
    if concurrent_tasks < 1:
        raise ValueError(f"concurrent_tasks must be >= 1, got {concurrent_tasks!r}")
    return job_rate / concurrent_tasks


class TokenBucket:
    """``await bucket.acquire()`` returns when one request may be sent."""

    def __init__(
        self,
        rate: float,
        capacity: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if not (rate > 0 and math.isfinite(rate)):
            raise ValueError(f"rate must be a positive number, got {rate!r}")
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity!r}")
        self.rate = float(rate)
        self.capacity = int(capacity)
        self._interval = 1.0 / self.rate
        self._tolerance = (self.capacity - 1) * self._interval
        self._clock = clock
        self._sleep = sleep
        self._tat: float | None = None  # theoretical arrival time of the next request
        self.acquired = 0
        self.waited = 0.0  # total seconds callers were told to sleep

    def reserve(self) -> float:
        """Take the next slot now; return how long to wait for it (0 when free)."""
        now = self._clock()
        tat = now if self._tat is None or self._tat < now else self._tat
        delay = tat - self._tolerance - now
        self._tat = tat + self._interval
        self.acquired += 1
        return delay if delay > 0 else 0.0

    async def acquire(self) -> None:
        delay = self.reserve()
        if delay > 0:
            self.waited += delay
            await self._sleep(delay)
