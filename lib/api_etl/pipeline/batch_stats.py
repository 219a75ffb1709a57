"""A batch's outcome counted on the workers as records stream out, no extra Spark job.

Each task counts its records into a small dict and adds it to a Spark accumulator when its
iterator is exhausted; the driver reads the merged value once the batch's write finished.
Latency percentiles come from a log-bucketed histogram (2% relative precision), the same
order of accuracy as Spark's ``percentile_approx``. Accumulator updates from a transformation
can be counted twice if Spark re-runs a task, so the driver checks the counted rows against
the staged row count and falls back to reading the slot when they differ.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from api_etl.engine.record import FIELD_INDEX

_BUCKET_BASE = math.log(1.02)
_OK, _STATUS, _ERROR, _ATTEMPTS, _LATENCY, _STARTED, _FINISHED, _META = (
    FIELD_INDEX[n]
    for n in ("ok", "status", "error_type", "attempts", "latency_ms", "started_at", "finished_at", "metadata")
)


def empty() -> dict[str, Any]:
    return {
        "rows": 0, "succeeded": 0, "requests": 0, "retries": 0, "throttled": 0,
        "statuses": {}, "errors": {}, "latency_buckets": {},
        "latency_sum": 0.0, "latency_min": None, "latency_max": None,
        "first_started": None, "last_finished": None,
        # The rate limiter's share of the batch (zero without a limit): see LimiterCounters.
        "rate_limited_requests": 0, "rate_limit_wait_seconds": 0.0, "rate_limit_late_slots": 0,
    }


_LIMITER_KEYS = ("rate_limited_requests", "rate_limit_wait_seconds", "rate_limit_late_slots")


def add_limiter(stats: dict[str, Any], counters: Any) -> None:
    """Add a partition's :class:`~api_etl.engine.rate_limiter.LimiterCounters` (or None)."""
    if counters is not None:
        stats["rate_limited_requests"] += counters.acquired
        stats["rate_limit_wait_seconds"] += counters.waited
        stats["rate_limit_late_slots"] += counters.late_slots


def _min(a, b):
    return b if a is None else a if b is None else min(a, b)


def _max(a, b):
    return b if a is None else a if b is None else max(a, b)


def merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for key in ("rows", "succeeded", "requests", "retries", "throttled", "latency_sum", *_LIMITER_KEYS):
        out[key] = a[key] + b[key]
    for key in ("statuses", "errors", "latency_buckets"):
        merged = dict(a[key])
        for k, v in b[key].items():
            merged[k] = merged.get(k, 0) + v
        out[key] = merged
    out["latency_min"] = _min(a["latency_min"], b["latency_min"])
    out["latency_max"] = _max(a["latency_max"], b["latency_max"])
    out["first_started"] = _min(a["first_started"], b["first_started"])
    out["last_finished"] = _max(a["last_finished"], b["last_finished"])
    return out


def add_record(stats: dict[str, Any], record: tuple) -> None:
    # Runs once per record on Spark's side of every task: plain comparisons, no helper calls.
    stats["rows"] += 1
    ok = bool(record[_OK])
    stats["succeeded"] += ok
    attempts = record[_ATTEMPTS] or 0
    stats["requests"] += attempts
    if attempts > 1:
        stats["retries"] += attempts - 1
    status = record[_STATUS]
    key = "none" if status is None else str(status)
    statuses = stats["statuses"]
    statuses[key] = statuses.get(key, 0) + 1
    if not ok:
        error = record[_ERROR] or "unknown"
        stats["errors"][error] = stats["errors"].get(error, 0) + 1
    meta = record[_META]
    if status == 429 or (meta and "429" in meta.get("attempt_statuses", "")):
        stats["throttled"] += 1
    latency = record[_LATENCY]
    if latency is not None:
        bucket = math.floor(math.log(max(latency, 0.001)) / _BUCKET_BASE)
        buckets = stats["latency_buckets"]
        buckets[bucket] = buckets.get(bucket, 0) + 1
        stats["latency_sum"] += latency
        low, high = stats["latency_min"], stats["latency_max"]
        if low is None or latency < low:
            stats["latency_min"] = latency
        if high is None or latency > high:
            stats["latency_max"] = latency
    started, finished = record[_STARTED], record[_FINISHED]
    if started is not None:
        first = stats["first_started"]
        if first is None or started < first:
            stats["first_started"] = started
    if finished is not None:
        last = stats["last_finished"]
        if last is None or finished > last:
            stats["last_finished"] = finished


def percentile(buckets: dict[int, int], q: float) -> float | None:
    total = sum(buckets.values())
    if total == 0:
        return None
    rank, seen = q * total, 0
    for bucket in sorted(buckets):
        seen += buckets[bucket]
        if seen >= rank:
            return math.exp((bucket + 0.5) * _BUCKET_BASE)  # the bucket's geometric middle
    return math.exp((max(buckets) + 0.5) * _BUCKET_BASE)


try:  # the accumulator param needs pyspark, which the worker and driver both have
    from pyspark.accumulators import AccumulatorParam

    class StatsParam(AccumulatorParam):
        def zero(self, value):
            return empty()

        def addInPlace(self, value1, value2):  # noqa: N802 - Spark's name
            return merge(value1, value2)
except ImportError:  # pragma: no cover
    StatsParam = None  # type: ignore[assignment,misc]


@dataclasses.dataclass(frozen=True)
class CountingPartitionFunction:
    """Wraps the engine's partition function; counts what it yields into an accumulator."""

    inner: Callable[[Iterable[Any]], Iterator[tuple]]
    accumulator: Any

    def __call__(self, rows: Iterable[Any]) -> Iterator[tuple]:
        stats = empty()
        # The engine's own partition function hands out its engine, whose stats hold what
        # the rate limiter did; any other function is counted by its records alone.
        make_engine = getattr(self.inner, "engine", None)
        engine = make_engine() if make_engine is not None else None
        for record in engine.run(rows) if engine is not None else self.inner(rows):
            add_record(stats, record)
            yield record
        if engine is not None:
            add_limiter(stats, engine.stats.rate_limit)
        self.accumulator.add(stats)


def to_batch_stats(counted: dict[str, Any]):
    """The accumulated dict as the :class:`~api_etl.pipeline.sink.BatchStats` of a batch."""
    from api_etl.pipeline.sink import BatchStats

    buckets = counted["latency_buckets"]
    first, last = counted["first_started"], counted["last_finished"]
    return BatchStats(
        rows=counted["rows"], succeeded=counted["succeeded"],
        failed=counted["rows"] - counted["succeeded"], requests=counted["requests"],
        retries=counted["retries"], throttled=counted["throttled"],
        status_histogram=dict(counted["statuses"]), error_histogram=dict(counted["errors"]),
        latency_p50=percentile(buckets, 0.50), latency_p95=percentile(buckets, 0.95),
        latency_p99=percentile(buckets, 0.99), latency_max=counted["latency_max"],
        latency_min=counted["latency_min"], latency_sum=counted["latency_sum"],
        first_started_at=first.isoformat() if first else None,
        last_finished_at=last.isoformat() if last else None,
        rate_limited_requests=counted["rate_limited_requests"],
        rate_limit_wait_seconds=round(counted["rate_limit_wait_seconds"], 3),
        rate_limit_late_slots=counted["rate_limit_late_slots"],
    )
