"""A token bucket for one Spark task's share of the job-wide request rate.

The bucket is scheduled with the GCRA ("virtual scheduling") formulation: each caller takes
the next free slot at once and sleeps until it, so callers are served in arrival order, and
with a fake clock the timing is exact. ``capacity`` is the burst size: with the default 1,
acquisitions are ``1 / rate`` seconds apart and an idle period gives no burst. Only while the
schedule catches up on wake-up lateness (at most ``late_slack``, 10 ms) can a few come
closer; no one-second window then holds more than ``rate + late_slack x rate + 1``.

Reserved slots all come due together after the event loop stalls (a GC pause, a starved
CPU), and sending on them would reach the API as a burst that breaks the limit over a
one-second window. So a caller that wakes later than its slot by more than ``late_slack``
does not send on it: it takes a fresh slot at the end of the schedule (which restarts from
now when every slot has passed). A stall costs a little throughput and never a burst;
smaller lateness (timer jitter on a busy loop) is caught up, so it does not drift the rate
below the limit. There is no lock: a lock handed from caller to caller cost a loop turn per
request, which at thousands of requests per second was a noticeable share of the CPU.

One bucket serves every task that runs in a worker process, one after another (it is
cached in the process scope by the engine): a task that starts right after another in the
same slot continues that task's schedule instead of adding a fresh token.

The engine acquires once per HTTP attempt, right before ``transport.send`` (see
:mod:`api_etl.engine.terminal`), so retries count against the API's limit.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import time
from collections.abc import Awaitable, Callable

# Consecutive late wake-ups after which a caller sends anyway (a loop starved for seconds).
MAX_LATE_WAKE_UPS = 50


def per_task_rate(job_rate: float | None, concurrent_tasks: int) -> float | None:
    """Each task's share of a job-wide rate (None = unlimited)."""
    if job_rate is None:
        return None
    if job_rate <= 0:
        raise ValueError(f"job_rate must be positive, got {job_rate!r}")
    if concurrent_tasks < 1:
        raise ValueError(f"concurrent_tasks must be >= 1, got {concurrent_tasks!r}")
    return job_rate / concurrent_tasks


def mean_wait_ms(waited: float, acquired: int) -> float | None:
    """How long a request waited for its slot on average, in ms (None: nothing acquired)."""
    return 1000.0 * waited / acquired if acquired else None


@dataclasses.dataclass(frozen=True)
class LimiterCounters:
    """What a bucket did, as totals; subtract two readings for what happened in between."""

    acquired: int = 0  # requests that went through the bucket (retries included), once each
    waited: float = 0.0  # seconds callers were told to sleep for their slots, summed
    # Callers that woke more than ``late_slack`` after their slot (the worker was busy
    # elsewhere) and took a fresh one: each is a slot the limit allowed and nobody used.
    late_slots: int = 0

    def __sub__(self, other: LimiterCounters) -> LimiterCounters:
        return LimiterCounters(self.acquired - other.acquired, self.waited - other.waited,
                               self.late_slots - other.late_slots)


class TokenBucket:
    """``await bucket.acquire()`` returns when one request may be sent."""

    def __init__(
        self,
        rate: float,
        capacity: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        late_slack: float = 0.010,
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
        # Lateness absorbed without moving the schedule (sleep() always wakes a bit late,
        # more so on a busy loop; moving the schedule for that would drift the rate below
        # the limit). It is a fixed time, not a share of
        # the interval: at most ``late_slack x rate + 1`` sends can bunch while the
        # schedule catches up, i.e. 1% of any one-second window (+1) at 10 ms.
        self._late_slack = late_slack
        self.acquired = 0
        self.rescheduled = 0  # late wake-ups that took a fresh slot instead of sending
        self.waited = 0.0  # total seconds callers were told to sleep

    def counters(self) -> LimiterCounters:
        return LimiterCounters(self.acquired, self.waited, self.rescheduled)

    def reserve(self) -> float:
        """Take the next slot now; return how long to wait for it (0 when free)."""
        now = self._clock()
        # A schedule less than ``late_slack`` behind is caught up (the slot is taken now
        # and the next one stays on the schedule); further behind, the bucket was idle or
        # stalled, and the schedule restarts from now (no burst after an idle period).
        tat = now if self._tat is None or self._tat < now - self._late_slack else self._tat
        delay = tat - self._tolerance - now
        self._tat = tat + self._interval
        return delay if delay > 0 else 0.0

    async def acquire(self) -> None:
        # Counted once per request: a late caller's fresh slot is not a second request.
        self.acquired += 1
        # No lock: each caller takes its slot at once and sleeps to it, so callers wait in
        # parallel (one timer each) instead of handing a lock on, one loop turn per request.
        for _ in range(MAX_LATE_WAKE_UPS):
            delay = self.reserve()
            if delay <= 0:
                return
            self.waited += delay
            due = self._clock() + delay
            await self._sleep(delay)
            if self._clock() - due <= self._late_slack:
                return
            # Woken too late to send on this slot (a stalled loop): sending now could join
            # the other late callers in a burst, so take a fresh slot at the schedule's end.
            self.rescheduled += 1
        # A loop starved this long sends one request late rather than never.
