"""Token bucket: exact virtual-time behaviour with a fake clock; no real sleeping."""

import asyncio

import pytest

from api_etl.engine.rate_limiter import LimiterCounters, TokenBucket, per_task_rate
from tests.unit.engine.fakes import EventClock, VirtualClock


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


def _concurrent_send_times(bucket, clock, callers):
    times = []

    async def one():
        await bucket.acquire()
        times.append(clock())

    asyncio.run(clock.run(*(one() for _ in range(callers))))
    return sorted(times)


def _assert_no_burst(times, rate):
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= 1 / rate - 1e-9, f"two sends {min(gaps):.4f} s apart at {rate}/s"
    for t in times:  # and no one-second window holds more than the rate (1e-9: float sums)
        assert sum(1 for u in times if t <= u < t + 1.0 - 1e-9) <= rate


def test_a_caller_that_wakes_late_takes_a_fresh_slot_instead_of_sending():
    """One caller's wake-up comes 1 s late (its slot long gone): it must not send on it;
    the others, asleep on their own slots, are not held up by it."""
    clock = EventClock()
    bucket = TokenBucket(rate=10, clock=clock, sleep=clock.sleep)
    stalled = []

    async def stalling_sleep(delay):
        if not stalled:
            stalled.append(delay)
            delay += 1.0
        await clock.sleep(delay)

    bucket._sleep = stalling_sleep
    times = _concurrent_send_times(bucket, clock, 12)
    assert bucket.rescheduled == 1
    assert times == pytest.approx([0.0, *(i / 10 for i in range(2, 13))])  # slot 0.1 moved to 1.2
    _assert_no_burst(times, 10)
    # What the batch stats read: 12 requests (the late caller counted once, though it took
    # two slots), one slot given up
    counters = bucket.counters()
    assert (counters.acquired, counters.late_slots) == (12, 1)
    assert counters.waited == pytest.approx(bucket.waited) and counters.waited > 0
    assert counters - LimiterCounters(3, 0.5, 1) == LimiterCounters(9, counters.waited - 0.5, 0)


def test_a_stalled_loop_never_turns_into_a_burst():
    """The whole loop freezes from 0.25 s to 1.25 s (a GC pause, a starved CPU): every caller
    whose slot fell in the freeze wakes late at the same moment; they must go out spaced."""
    clock = EventClock()
    bucket = TokenBucket(rate=20, clock=clock, sleep=clock.sleep)

    async def frozen_sleep(delay):
        due = clock() + delay
        if 0.25 < due < 1.25:
            delay = 1.25 - clock()
        await clock.sleep(delay)

    bucket._sleep = frozen_sleep
    times = _concurrent_send_times(bucket, clock, 40)
    assert len(times) == 40
    assert bucket.rescheduled == 19  # the slots 0.3 .. 1.2
    _assert_no_burst(times, 20)
    # The 19 late callers go out one interval apart from the freeze's end: a stall costs
    # the frozen second, then the rate resumes exactly.
    assert times[6:] == pytest.approx([1.25 + i * 0.05 for i in range(34)])


def test_many_callers_keep_the_exact_spacing_without_a_lock():
    clock = EventClock(start=7.0)
    bucket = TokenBucket(rate=500, clock=clock, sleep=clock.sleep)
    times = _concurrent_send_times(bucket, clock, 1000)
    assert times == pytest.approx([7.0 + i / 500 for i in range(1000)])
    assert bucket.rescheduled == 0


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
