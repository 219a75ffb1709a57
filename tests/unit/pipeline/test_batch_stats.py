"""Worker-side batch counting: what the checkpoint, metrics and summary report."""

import datetime as dt
import pickle

from api_etl.engine.record import FIELD_INDEX, RECORD_FIELD_NAMES
from api_etl.pipeline import batch_stats

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def record(ok=True, status=200, attempts=1, latency=10.0, error=None, meta=None, second=0):
    values = [None] * len(RECORD_FIELD_NAMES)
    for name, value in {
        "ok": ok, "status": status, "attempts": attempts, "latency_ms": latency, "error_type": error,
        "metadata": meta or {}, "started_at": T0 + dt.timedelta(seconds=second),
        "finished_at": T0 + dt.timedelta(seconds=second + 1),
    }.items():
        values[FIELD_INDEX[name]] = value
    return tuple(values)


def test_counts_statuses_errors_retries_and_throttling():
    stats = batch_stats.empty()
    batch_stats.add_record(stats, record())
    batch_stats.add_record(stats, record(ok=False, status=503, attempts=3, error="HttpStatusError",
                                         meta={"attempt_statuses": "429,503,503"}))
    batch_stats.add_record(stats, record(status=200, attempts=2, meta={"attempt_statuses": "429,200"}, second=5))
    result = batch_stats.to_batch_stats(stats)
    assert (result.rows, result.succeeded, result.failed) == (3, 2, 1)
    assert (result.requests, result.retries, result.throttled) == (6, 3, 2)
    assert result.status_histogram == {"200": 2, "503": 1}
    assert result.error_histogram == {"HttpStatusError": 1}
    assert result.first_started_at == T0.isoformat()
    assert result.last_finished_at == (T0 + dt.timedelta(seconds=6)).isoformat()


def test_merge_is_what_two_tasks_add_up_to():
    a, b, both = batch_stats.empty(), batch_stats.empty(), batch_stats.empty()
    for i in range(100):
        rec = record(latency=float(i + 1), status=200 if i % 10 else 500, ok=bool(i % 10))
        batch_stats.add_record(a if i % 2 else b, rec)
        batch_stats.add_record(both, rec)
    assert batch_stats.merge(a, b) == both
    assert batch_stats.merge(batch_stats.empty(), both) == both


def test_percentiles_within_two_percent():
    stats = batch_stats.empty()
    for i in range(1, 1001):
        batch_stats.add_record(stats, record(latency=float(i)))
    result = batch_stats.to_batch_stats(stats)
    for got, exact in ((result.latency_p50, 500), (result.latency_p95, 950), (result.latency_p99, 990)):
        assert abs(got - exact) / exact < 0.02
    assert (result.latency_min, result.latency_max) == (1.0, 1000.0)


def test_counting_function_pickles_and_adds_once_exhausted():
    added = []

    class FakeAccumulator:
        def add(self, value):
            added.append(value)

    fn = batch_stats.CountingPartitionFunction(lambda rows: (record() for _ in rows), FakeAccumulator())
    out = fn(range(5))
    first = next(out)
    assert first[FIELD_INDEX["status"]] == 200 and not added  # nothing added mid-stream
    assert len(list(out)) == 4 and added[0]["rows"] == 5
    pickle.dumps(batch_stats.CountingPartitionFunction(len, None))


def test_the_engines_limiter_counts_reach_the_batch_stats():
    from api_etl.engine.rate_limiter import LimiterCounters

    added = []

    class FakeAccumulator:
        def add(self, value):
            added.append(value)

    class Engine:  # what PartitionFunction.engine() hands out: run(rows), then stats
        def __init__(self):
            self.stats = type("Stats", (), {"rate_limit": None})()

        def run(self, rows):
            for _ in rows:
                yield record()
            self.stats.rate_limit = LimiterCounters(acquired=4, waited=0.2, late_slots=1)

    class EngineFunction:
        def engine(self):
            return Engine()

    fn = batch_stats.CountingPartitionFunction(EngineFunction(), FakeAccumulator())
    assert len(list(fn(range(4)))) == 4
    merged = batch_stats.merge(added[0], added[0])  # two tasks of the batch
    result = batch_stats.to_batch_stats(merged)
    assert (result.rate_limited_requests, result.rate_limit_wait_seconds, result.rate_limit_late_slots) == (8, 0.4, 2)
    assert result.rate_limit_mean_wait_ms == 50.0
    # Without a limit (or a plain function) nothing is counted, and there is no mean wait
    plain = batch_stats.to_batch_stats(batch_stats.empty())
    assert plain.rate_limited_requests == 0 and plain.rate_limit_mean_wait_ms is None
