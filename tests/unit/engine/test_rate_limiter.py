"""Token bucket: exact virtual-time behaviour with a fake clock; no real sleeping."""

import asyncio

import pytest

from api_etl.engine.rate_limiter import TokenBucket, per_task_rate
from tests.unit.engine.fakes import VirtualClock


def acquire_times(bucket, clock, n):
    async def go():
        times = []
        for _ in range(n):
            await bucket.acquire()
            times.append(clock())
        return times

    return asyncio.run(go())


def test_n_acquisitions_take_exactly_n_minus_one_intervals():
    clock = VirtualClock()
    bucket = TokenBucket(rate=4, clock=clock, sleep=clock.sleep)
    times = acquire_times(bucket, clock, 9)
    assert times == [i * 0.25 for i in range(9)]
    assert clock.now == 2.0  # (9 - 1) / 4, exactly
    assert bucket.acquired == 9 and bucket.waited == 2.0


def test_concurrent_acquirers_are_spaced_exactly():
    clock = VirtualClock()
    bucket = TokenBucket(rate=8, clock=clock, sleep=clock.sleep)
    times = []

    async def one():
        await bucket.acquire()
        times.append(clock())

    async def go():
        await asyncio.gather(*(one() for _ in range(17)))

    asyncio.run(go())
    assert sorted(times) == [i * 0.125 for i in range(17)]
    assert clock.now == 2.0


def test_no_burst_after_idle_with_capacity_one():
    clock = VirtualClock()
    bucket = TokenBucket(rate=10, clock=clock, sleep=clock.sleep)
    acquire_times(bucket, clock, 3)
    clock.now += 100.0  # long idle: tokens must not pile up beyond capacity
    times = acquire_times(bucket, clock, 5)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert times[0] == pytest.approx(100.2)
    assert all(g == pytest.approx(0.1) for g in gaps)


def test_capacity_is_the_burst_size():
    clock = VirtualClock(start=50.0)
    bucket = TokenBucket(rate=2, capacity=3, clock=clock, sleep=clock.sleep)
    times = acquire_times(bucket, clock, 6)
    assert times == [50.0, 50.0, 50.0, 50.5, 51.0, 51.5]
    # any window of 1/rate seconds holds at most `capacity` acquisitions
    for t in times:
        assert sum(1 for u in times if t <= u < t + 0.5) <= 3


def test_invalid_arguments():
    for bad in (0, -1, float("inf"), float("nan")):
        with pytest.raises(ValueError):
            TokenBucket(bad)
    with pytest.raises(ValueError):
        TokenBucket(1, capacity=0)


def test_per_task_rate():
    assert per_task_rate(None, 8) is None
    assert per_task_rate(100, 8) == 12.5
    assert per_task_rate(30, 1) == 30
    with pytest.raises(ValueError):
        per_task_rate(10, 0)
    with pytest.raises(ValueError):
        per_task_rate(0, 3)


def test_a_stall_never_turns_into_a_burst():
    """The loop wakes 1 s late (GC pause, starved CPU): the waiting callers must not all
    fire at once; the next one waits a full interval from the late send."""
    clock = VirtualClock()
    bucket = TokenBucket(rate=10, clock=clock, sleep=clock.sleep)
    times = []
    stalled = []

    async def stalling_sleep(delay):
        if not stalled:
            stalled.append(delay)
            delay += 1.0  # this wake-up comes 1 s late
        await clock.sleep(delay)

    bucket._sleep = stalling_sleep

    async def one():
        await bucket.acquire()
        times.append(clock())

    async def go():
        await asyncio.gather(*(one() for _ in range(12)))

    asyncio.run(go())
    times.sort()
    assert bucket.rescheduled == 1
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) == pytest.approx(0.1)  # never closer than 1 / rate, even after the stall
    for t in times:  # and no one-second window holds more than rate + 1 sends
        assert sum(1 for u in times if t <= u < t + 1.0) <= 10


def test_small_lateness_does_not_drift_the_rate():
    clock = VirtualClock()
    bucket = TokenBucket(rate=100, clock=clock, sleep=clock.sleep)

    async def slightly_late(delay):
        await clock.sleep(delay + 0.001)  # every wake-up 1 ms late, within the slack

    bucket._sleep = slightly_late
    times = acquire_times(bucket, clock, 101)
    assert bucket.rescheduled == 0
    assert times[-1] == pytest.approx(1.001, abs=1e-9)  # 100 intervals, not 100 x 11 ms


def test_lateness_longer_than_the_interval_is_caught_up_without_a_burst():
    """500/s (2 ms apart) on a loop whose every wake-up is 3 ms late: the rate holds (the
    schedule catches up within late_slack) and no one-second window goes over the rate + 1%."""
    clock = VirtualClock()
    bucket = TokenBucket(rate=500, clock=clock, sleep=clock.sleep)

    async def late(delay):
        await clock.sleep(delay + 0.003)

    bucket._sleep = late
    times = acquire_times(bucket, clock, 1001)
    assert times[-1] == pytest.approx(2.0, abs=0.015)  # 1000 intervals, not 1000 x 5 ms
    assert bucket.rescheduled == 0
    for t in times:
        assert sum(1 for u in times if t <= u < t + 1.0) <= 500 + 5 + 1
