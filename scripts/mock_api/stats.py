"""Request statistics of the mock API: O(1) updates on the hot path.

The one-second window maximum is computed two ways on server receipt times:

* **sliding** (exact): a deque holds the receipt times of the last second; on each new
  time ``t`` the times ``<= t - 1s`` are dropped, so the deque holds exactly the requests
  in ``(t - 1s, t]``. Any interval of length 1 s that holds the most requests can be slid
  right until its right end is a receipt time, so the largest deque length ever seen is
  the maximum over *every* 1-second interval, not just aligned ones. Times are kept as
  integer nanoseconds so boundaries are exact (``t`` and ``t + 1 s`` are never in the same
  window). The deque never holds more than one second of requests.
* **aligned**: counts per wall-clock second ``[k, k+1)``, the number a per-second
  dashboard would show. It is never larger than the sliding maximum.

``max_1s_window`` in ``/_stats`` is the larger of the two (= the sliding value).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

NS = 1_000_000_000


def wall_clock() -> Callable[[], float]:
    """A monotonic clock in epoch seconds: wall time at creation + perf_counter delta."""
    wall0 = time.time()
    perf0 = time.perf_counter()
    pc = time.perf_counter

    def clock() -> float:
        return wall0 + (pc() - perf0)

    return clock


def to_ns(t: float) -> int:
    return round(t * NS)


class WindowCounter:
    """Streaming maximum of requests in any window of ``window_ns`` (sliding and aligned).

    ``add`` expects non-decreasing times (a time earlier than the last one is treated as
    the last one). Memory is bounded by the number of requests inside one window.
    """

    __slots__ = (
        "window_ns",
        "_dq",
        "max_sliding",
        "max_sliding_end_ns",
        "_bucket",
        "_bucket_count",
        "max_aligned",
        "max_aligned_bucket",
        "timeline",
        "_last",
        "count",
    )

    def __init__(self, window_seconds: float = 1.0, timeline_len: int = 3600) -> None:
        self.window_ns = to_ns(window_seconds)
        self._dq: deque[int] = deque()
        self.max_sliding = 0
        self.max_sliding_end_ns: int | None = None
        self._bucket: int | None = None
        self._bucket_count = 0
        self.max_aligned = 0
        self.max_aligned_bucket: int | None = None
        # (bucket index, count) of completed aligned buckets, most recent last.
        self.timeline: deque[tuple[int, int]] = deque(maxlen=timeline_len)
        self._last = -(1 << 62)
        self.count = 0

    def add(self, t: float) -> None:
        self.add_ns(round(t * NS))

    def add_ns(self, tn: int) -> None:
        if tn < self._last:
            tn = self._last
        self._last = tn
        self.count += 1
        dq = self._dq
        lo = tn - self.window_ns
        while dq and dq[0] <= lo:
            dq.popleft()
        dq.append(tn)
        n = len(dq)
        if n > self.max_sliding:
            self.max_sliding = n
            self.max_sliding_end_ns = tn
        b = tn // self.window_ns
        if b != self._bucket:
            if self._bucket is not None:
                self.timeline.append((self._bucket, self._bucket_count))
            self._bucket = b
            self._bucket_count = 1
        else:
            self._bucket_count += 1
        if self._bucket_count > self.max_aligned:
            self.max_aligned = self._bucket_count
            self.max_aligned_bucket = b

    def current(self, now: float | None = None) -> int:
        """Requests in the window ending at ``now`` (default: the last receipt time)."""
        if now is None:
            return len(self._dq)
        lo = round(now * NS) - self.window_ns
        return sum(1 for x in self._dq if x > lo)

    @property
    def max(self) -> int:
        return max(self.max_sliding, self.max_aligned)

    def per_window(self) -> list[tuple[int, int]]:
        out = list(self.timeline)
        if self._bucket is not None:
            out.append((self._bucket, self._bucket_count))
        return out


def max_in_window(times: Iterable[float], window_seconds: float = 1.0) -> int:
    """Reference (batch) computation: most times inside any half-open window of the length.

    Two pointers over sorted integer-nanosecond times; used by tests and benchmarks.
    """
    ts = sorted(round(t * NS) for t in times)
    w = round(window_seconds * NS)
    best = 0
    j = 0
    for i, t in enumerate(ts):
        while ts[j] <= t - w:
            j += 1
        best = max(best, i - j + 1)
    return best


# Key state bits (one int per request key, to keep 1e6 keys cheap).
_COMPLETED = 1  # a normal 2xx response was sent for this key
_DUPLICATED = 2  # the key has been counted as a duplicate at least once
_ATTEMPT = 4  # attempts are stored in the bits above


class Stats:
    """All counters of one server; mutated only on the server's event loop thread."""

    def __init__(self, clock: Callable[[], float], max_listed_duplicates: int = 1000) -> None:
        self.clock = clock
        self.max_listed_duplicates = max_listed_duplicates
        self.reset()

    def reset(self) -> None:
        self.started_at = self.clock()
        self.requests_total = 0
        self.by_path: dict[str, int] = {}
        self.status_counts: dict[int, int] = {}
        self.api_requests = 0
        self.api_status_counts: dict[int, int] = {}
        self.window = WindowCounter()
        self.in_flight = 0
        self.max_in_flight = 0
        self.first_api_at: float | None = None
        self.last_api_at: float | None = None
        self.token_requests = 0
        self.tokens_issued = 0
        self.token_errors = 0
        self.token_grants: dict[str, int] = {}
        self.token_client_auth: dict[str, int] = {}
        self.rate_limited = 0
        self.auth_failures = 0
        self.faults: dict[str, int] = {
            "error": 0,
            "timeout": 0,
            "drop": 0,
            "malformed": 0,
            "fail_first": 0,
            "latency": 0,
        }
        self.latency_injected_ms_total = 0.0
        # Idempotency / request keys.
        self.keys: dict[str, int] = {}
        self.requests_with_key = 0
        self.requests_without_key = 0
        self.key_retries = 0
        self.duplicates = 0
        self.duplicate_keys: dict[str, int] = {}
        self.duplicate_keys_distinct = 0
        self.row_ids: set[str] = set()

    # ----- hot path -----
    def api_received(self, t: float) -> None:
        self.api_requests += 1
        self.window.add_ns(round(t * NS))
        if self.first_api_at is None:
            self.first_api_at = t
        self.last_api_at = t
        self.in_flight += 1
        if self.in_flight > self.max_in_flight:
            self.max_in_flight = self.in_flight

    def key_attempt(self, key: str, is_idempotency_key: bool) -> int:
        """Record one request for ``key``; returns its 0-based attempt number.

        Duplicate rule: a request whose idempotency key already got a normal 2xx response
        (``key_completed``) is a duplicate. Otherwise (first request, or a retry after a
        429/4xx/5xx, an injected fault, or while an earlier copy is still in flight) it is
        not; retries are counted in ``key_retries``.
        """
        st = self.keys.get(key, 0)
        attempt = st >> 2
        self.keys[key] = st + _ATTEMPT
        if is_idempotency_key:
            self.requests_with_key += 1
            if st & _COMPLETED:
                self.duplicates += 1
                if not st & _DUPLICATED:
                    self.keys[key] |= _DUPLICATED
                    self.duplicate_keys_distinct += 1
                if key in self.duplicate_keys:
                    self.duplicate_keys[key] += 1
                elif len(self.duplicate_keys) < self.max_listed_duplicates:
                    self.duplicate_keys[key] = 1
            elif attempt:
                self.key_retries += 1
        return attempt

    def key_completed(self, key: str) -> None:
        st = self.keys.get(key)
        if st is not None:
            self.keys[key] = st | _COMPLETED

    def api_done(self, status: int) -> None:
        self.in_flight -= 1
        c = self.api_status_counts
        c[status] = c.get(status, 0) + 1

    def record(self, route: str, status: int) -> None:
        self.requests_total += 1
        p = self.by_path
        p[route] = p.get(route, 0) + 1
        c = self.status_counts
        c[status] = c.get(status, 0) + 1

    # ----- reporting -----
    def snapshot(
        self,
        *,
        include_ids: bool = False,
        include_timeline: bool = False,
        rate_limit: float | None = None,
        now: float | None = None,
    ) -> dict[str, Any]:
        now = self.clock() if now is None else now
        w = self.window
        span = (
            (self.last_api_at - self.first_api_at)
            if self.first_api_at is not None and self.last_api_at is not None
            else 0.0
        )
        out: dict[str, Any] = {
            "requests_total": self.requests_total,
            "requests_by_path": dict(sorted(self.by_path.items())),
            "status_counts": _status_keys(self.status_counts),
            "api_requests": self.api_requests,
            "api_status_counts": _status_keys(self.api_status_counts),
            "max_1s_window": w.max,
            "max_1s_window_sliding": w.max_sliding,
            "max_1s_window_aligned": w.max_aligned,
            "max_1s_window_sliding_end": (
                w.max_sliding_end_ns / NS if w.max_sliding_end_ns is not None else None
            ),
            "max_1s_window_aligned_second": w.max_aligned_bucket,
            "current_1s_window": w.current(now),
            "rate_limit_rps": rate_limit,
            "rate_limited": self.rate_limited,
            "auth_failures": self.auth_failures,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "first_api_request_at": self.first_api_at,
            "last_api_request_at": self.last_api_at,
            "api_span_seconds": span,
            "api_mean_rps": (self.api_requests - 1) / span if span > 0 else None,
            "token_requests": self.token_requests,
            "tokens_issued": self.tokens_issued,
            "token_errors": self.token_errors,
            "token_grants": dict(self.token_grants),
            "token_client_auth": dict(self.token_client_auth),
            "faults": dict(self.faults),
            "latency_injected_ms_total": round(self.latency_injected_ms_total, 3),
            "idempotency": {
                "requests_with_key": self.requests_with_key,
                "requests_without_key": self.requests_without_key,
                "keys_seen": len(self.keys),
                "retries": self.key_retries,
                "duplicates": self.duplicates,
                "duplicate_keys_distinct": self.duplicate_keys_distinct,
                "duplicate_keys": dict(self.duplicate_keys),
                "duplicate_keys_truncated": self.duplicate_keys_distinct > len(self.duplicate_keys),
            },
            "started_at": self.started_at,
            "now": now,
        }
        if include_timeline:
            out["per_second"] = [[b, n] for b, n in w.per_window()]
        if include_ids:
            out["ids"] = {
                "request_keys": sorted(self.keys),
                "row_ids": sorted(self.row_ids),
            }
        return out


DROPPED = 0  # pseudo status of a request whose connection the mock closed without answering


def _status_keys(counts: dict[int, int]) -> dict[str, int]:
    return {("dropped" if k == DROPPED else str(k)): v for k, v in sorted(counts.items())}
