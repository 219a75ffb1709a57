"""The one-second window statistics, fed known timestamps (no server)."""

from __future__ import annotations

import random

import pytest

from mock_api import Stats, WindowCounter, max_in_window


def counter(times):
    w = WindowCounter()
    for t in times:
        w.add(t)
    return w


def test_sliding_window_beats_aligned_buckets():
    # 5 requests late in second 10 and 5 early in second 11: each aligned bucket holds 5,
    # but the interval (10.5, 11.5] holds all 10.
    times = [10.6, 10.7, 10.8, 10.9, 10.95, 11.0, 11.1, 11.2, 11.3, 11.4]
    w = counter(times)
    assert w.max_aligned == 5
    assert w.max_sliding == 10
    assert w.max == 10
    assert w.max_aligned_bucket in (10, 11)
    assert w.max_sliding_end_ns == 11_400_000_000


def test_window_is_half_open_exactly_one_second():
    # t and t + 1s are never in the same window.
    w = counter([1.0, 2.0, 3.0, 4.0])
    assert w.max_sliding == 1
    w = counter([1.0, 1.999999, 2.0])
    assert w.max_sliding == 2  # {1.0, 1.999999} and {1.999999, 2.0}
    w = counter([0.1, 0.2, 0.3, 1.1, 1.2, 1.3])
    assert w.max_sliding == 3
    assert w.max_aligned == 3


def test_steady_rate_gives_exact_count():
    # 100 req/s for 5 s, evenly spaced: every 1 s window holds exactly 100.
    times = [i / 100 for i in range(500)]
    w = counter(times)
    assert w.max_sliding == 100
    assert w.max_aligned == 100


def test_matches_bruteforce_on_random_bursts():
    rng = random.Random(7)
    for _ in range(20):
        t = 1000.0
        times = []
        for _ in range(rng.randrange(50, 400)):
            t += rng.expovariate(rng.choice([5, 50, 500]))
            times.append(t)
        w = counter(times)
        assert w.max_sliding == max_in_window(times)
        brute = max(sum(1 for x in times if s - 1.0 < x <= s) for s in times)
        assert w.max_sliding == brute
        aligned = {}
        for x in times:
            aligned[int(x // 1)] = aligned.get(int(x // 1), 0) + 1
        assert w.max_aligned == max(aligned.values())
        assert w.max_aligned <= w.max_sliding


def test_out_of_order_times_are_clamped_and_memory_is_bounded():
    w = WindowCounter()
    for i in range(10_000):
        w.add(i * 0.01)  # 100/s for 100 s
    assert len(w._dq) <= 100
    w.add(5.0)  # earlier than the last: counted at the last time
    assert w.count == 10_001
    assert w.max_sliding == 101


def test_timeline_lists_per_second_counts():
    w = counter([0.5, 0.6, 1.5, 3.2, 3.3, 3.4])
    assert w.per_window() == [(0, 2), (1, 1), (3, 3)]


def test_stats_with_injected_clock(clock):
    s = Stats(clock)
    for _ in range(3):
        s.api_received(clock())
        clock.advance(0.4)
    # receipt times t, t+0.4, t+0.8 -> all within one second
    snap = s.snapshot()
    assert snap["max_1s_window_sliding"] == 3
    assert snap["in_flight"] == 3 and snap["max_in_flight"] == 3
    for _ in range(3):
        s.api_done(200)
        s.record("/v1/x", 200)
    snap = s.snapshot()
    assert snap["in_flight"] == 0
    assert snap["status_counts"] == {"200": 3}
    assert snap["api_span_seconds"] == pytest.approx(0.8)


def test_duplicate_rule_on_stats_object(clock):
    s = Stats(clock, max_listed_duplicates=1)
    assert s.key_attempt("a", True) == 0  # first request
    assert s.key_attempt("a", True) == 1  # retry before any 2xx: not a duplicate
    s.key_completed("a")
    assert s.key_attempt("a", True) == 2  # after a 2xx: duplicate
    assert s.key_attempt("a", True) == 3  # again
    s.key_attempt("b", True)
    s.key_completed("b")
    s.key_attempt("b", True)
    idem = s.snapshot()["idempotency"]
    assert idem["duplicates"] == 3
    assert idem["duplicate_keys_distinct"] == 2
    assert idem["duplicate_keys"] == {"a": 2}  # bounded list
    assert idem["duplicate_keys_truncated"] is True
    assert idem["retries"] == 1
