"""The partition engine: one record per row, streamed, bounded, errors as records, picklable."""

import asyncio
import pickle

import pytest

from api_etl.engine.errors import MiddlewareConfigError
from api_etl.engine.exchange import HttpResponse
from api_etl.engine.identity import WorkerIdentity
from api_etl.engine.partition import PartitionEngine, make_partition_function
from api_etl.engine.plan import WorkerPlan
from api_etl.engine.record import FIELD_INDEX, RECORD_FIELD_NAMES
from api_etl.engine.request_builder import RequestTemplate
from api_etl.middleware.auth import AuthFactory
from api_etl.middleware.retry import RetryFactory
from api_etl.middleware.timing import TimingFactory
from api_etl.transport.base import TransportConnectionError
from api_etl.transport.process_scope import ProcessScope
from tests.unit.engine.fakes import BUILDS, EchoTransportFactory, FakeAuth

TEMPLATE = RequestTemplate("GET", "https://api.example.com", "/items/{id}",
                           query={"status": "{status}"}, id_column="id")
IDENT = WorkerIdentity("test-host", 1, partition_id=3)


@pytest.fixture
def scope():
    s = ProcessScope()
    yield s
    s.close()


def rows(n, status=200):
    return ({"id": i, "status": status} for i in range(n))


def as_dicts(records):
    n = len(RECORD_FIELD_NAMES)
    return [dict(zip(RECORD_FIELD_NAMES, r[:n], strict=True)) for r in records]


def plan(**kw):
    kw.setdefault("template", TEMPLATE)
    kw.setdefault("transport_factory", EchoTransportFactory())
    kw.setdefault("run_id", "run-9")
    kw.setdefault("batch_id", 4)
    return WorkerPlan(**kw)


def test_one_record_per_row_with_ids_and_identity(scope):
    engine = PartitionEngine(plan(concurrency=4), scope=scope, identity=IDENT)
    out = as_dicts(engine.run(rows(50)))
    assert sorted(int(r["row_id"]) for r in out) == list(range(50))
    assert all(r["ok"] and r["status"] == 200 and r["attempts"] == 1 for r in out)
    assert {r["run_id"] for r in out} == {"run-9"} and {r["batch_id"] for r in out} == {"4"}
    assert {r["partition_id"] for r in out} == {3}
    assert {r["worker_host"] for r in out} == {"test-host"}
    assert len({r["request_id"] for r in out}) == 50
    assert engine.stats.records_emitted == engine.stats.rows_read == 50
    assert 1 <= engine.stats.max_in_flight <= 4


def test_spark_rows_are_accepted(scope):
    from pyspark.sql import Row

    engine = PartitionEngine(plan(), scope=scope, identity=IDENT)
    out = as_dicts(engine.run([Row(id=1, status=200), Row(id=2, status=200)]))
    assert sorted(r["url"] for r in out) == [
        "https://api.example.com/items/1?status=200", "https://api.example.com/items/2?status=200"]


class FailingTransport:
    """Raises for id 3, 500 for id 4, else 200."""

    async def send(self, request):
        if request.url.endswith("/3"):
            raise TransportConnectionError("connection reset by peer")
        status = 500 if request.url.endswith("/4") else 200
        return HttpResponse(status, {}, b"{}")

    async def close(self):
        pass


async def failing_transport_factory():
    return FailingTransport()


def test_failing_rows_become_records_and_never_fail_the_partition(scope):
    async def bad_middleware(exchange, next_call):
        if exchange.row_id == "5":
            raise ValueError("custom middleware bug")
        return await next_call(exchange)

    class BadFactory:
        def __call__(self, context):
            return bad_middleware

    template = RequestTemplate("GET", "https://h", "/x/{id}", query={"v": "{v}"}, id_column="id")
    p = plan(template=template, transport_factory=failing_transport_factory,
             middleware=(BadFactory(),))
    data = [{"id": i, "v": "a"} for i in range(8)]
    data[2] = {"id": 2}  # missing column v
    data[6] = {"id": None, "v": "a"}  # null id
    out = {r["row_id"]: r for r in as_dicts(PartitionEngine(p, scope=scope).run(data))}
    assert len(out) == 8
    assert out["2"]["error_type"] == "RequestBuildError" and "'v'" in out["2"]["error_message"]
    assert out["2"]["attempts"] == 0 and out["2"]["url"] == "https://h/x/{id}"
    assert out["2"]["request_id"] is not None
    assert out["3"]["error_type"] == "TransportConnectionError" and out["3"]["attempts"] == 1
    assert out["3"]["status"] is None and "connection reset" in out["3"]["error_message"]
    assert out["4"]["error_type"] == "HttpStatusError" and out["4"]["status"] == 500
    assert out["5"]["error_type"] == "ValueError" and out["5"]["attempts"] == 0
    assert out[None]["error_type"] == "RequestBuildError" and "null" in out[None]["error_message"]
    assert [k for k, r in out.items() if r["ok"]] == ["0", "1", "7"]


@pytest.mark.parametrize("build_ahead", [1, 3, 16, 64])
def test_rows_built_ahead_are_each_sent_once_in_order_with_build_errors_as_records(scope, build_ahead):
    """Requests are built several rows at a time; that changes neither what is sent, in
    which order, nor how a row that cannot be built is reported."""
    sent = []

    class Recording:
        async def send(self, request):
            sent.append(request.url)
            await asyncio.sleep(0)
            return HttpResponse(200, {}, b"{}")

    template = RequestTemplate("GET", "https://h", "/x/{id}", query={"v": "{v}"}, id_column="id")
    data = [{"id": i, "v": "a"} if i % 7 else {"id": i} for i in range(100)]  # every 7th lacks v
    engine = PartitionEngine(plan(template=template, transport_factory=lambda: Recording(), concurrency=5),
                             scope=scope, build_ahead=build_ahead)
    out = {r["row_id"]: r for r in as_dicts(engine.run(data))}
    assert len(out) == 100 and engine.stats.rows_read == 100
    bad = {str(i) for i in range(0, 100, 7)}
    assert {k for k, r in out.items() if not r["ok"]} == bad
    assert all(out[k]["error_type"] == "RequestBuildError" and out[k]["attempts"] == 0 for k in bad)
    assert sent == [f"https://h/x/{i}" for i in range(100) if i % 7]  # once each, in input order
    assert engine.stats.failed_rows == len(bad)
    assert engine.stats.max_outstanding_rows <= engine.outstanding_bound


def test_build_ahead_reads_rows_in_groups_and_stays_bounded(scope):
    """A consumer with no built row left reads ``build_ahead`` rows at once: the first request
    goes out after a group was read, and an early close has read at most the bound."""
    read = []
    first_send_after = []

    class Noting:
        async def send(self, request):
            if not first_send_after:
                first_send_after.append(len(read))
            await asyncio.sleep(0)
            return HttpResponse(200, {}, b"{}")

    def source():
        for i in range(10_000):
            read.append(i)
            yield {"id": i, "status": 200}

    engine = PartitionEngine(plan(transport_factory=lambda: Noting(), concurrency=2, queue_size=4),
                             scope=scope, chunk_size=2, build_ahead=8)
    gen = engine.run(source())
    first = [next(gen) for _ in range(3)]
    gen.close()
    assert len(first) == 3 and first_send_after == [8]
    assert engine.outstanding_bound == 2 * 4 + 2 * 2 + 2 + 8
    assert len(read) <= engine.outstanding_bound + 3
    with pytest.raises(ValueError, match="build_ahead"):
        PartitionEngine(plan(), scope=scope, build_ahead=0)


def test_retries_take_a_rate_limit_token_per_attempt(scope):
    template = RequestTemplate("GET", "https://h", "/x/{id}", query={"status": "{s}"},
                               id_column="id")
    p = plan(template=template, rate_per_task=1e9,
             middleware=(RetryFactory(max_attempts=3, base_delay=0.0, max_delay=0.0),))
    engine = PartitionEngine(p, scope=scope)
    data = [{"id": i, "s": 503 if i % 2 else 200} for i in range(10)]
    out = as_dicts(engine.run(data))
    attempts = sum(r["attempts"] for r in out)
    assert attempts == 5 * 1 + 5 * 3
    assert engine.limiter is not None and engine.limiter.acquired == attempts


def test_each_partition_reports_its_own_share_of_the_process_wide_limiter(scope):
    # 200/s with 20 rows: the limit binds, so the requests wait for their slots.
    p = plan(rate_per_task=200.0, concurrency=5)
    first = PartitionEngine(p, scope=scope)
    assert len(list(first.run(rows(20)))) == 20
    second = PartitionEngine(p, scope=scope)  # the next task in the same worker process
    assert len(list(second.run(rows(10)))) == 10
    assert second.limiter is first.limiter and first.limiter.acquired == 30
    assert (first.stats.rate_limit.acquired, second.stats.rate_limit.acquired) == (20, 10)
    # Slots 5 ms apart, five callers at a time: after the first five each request waits
    # behind four others, ~20 ms, so ~0.35 s in all; unlimited it would be nothing.
    assert 0.2 < first.stats.rate_limit.waited < 1.0
    assert 0 < second.stats.rate_limit.waited < first.stats.rate_limit.waited
    unlimited = PartitionEngine(plan(), scope=scope)
    list(unlimited.run(rows(3)))
    assert unlimited.stats.rate_limit is None


def test_transport_and_auth_are_built_once_per_process_scope(scope):
    BUILDS.clear()
    p = plan(transport_factory=EchoTransportFactory(tag="once"))
    for _ in range(3):  # three partitions in the same worker process
        assert len(list(PartitionEngine(p, scope=scope).run(rows(5)))) == 5
    # an equal factory from an unpickled copy of the plan hits the same cache entry
    copy = pickle.loads(pickle.dumps(p))
    list(PartitionEngine(copy, scope=scope).run(rows(5)))
    assert BUILDS == ["once"]


_AUTH = FakeAuth(tokens=("tok-abcdef-1",))


def shared_auth():
    return _AUTH


def test_auth_is_added_innermost_when_not_listed_and_redacted(scope):
    before = _AUTH.authorized
    p = plan(auth_factory=shared_auth, middleware=(TimingFactory(),))
    out = as_dicts(PartitionEngine(p, scope=scope).run(rows(4)))
    assert _AUTH.authorized - before == 4
    assert all(r["request_headers"]["Authorization"] == "***" for r in out)


def test_auth_middleware_without_provider_fails_the_partition(scope):
    with pytest.raises(MiddlewareConfigError):
        list(PartitionEngine(plan(middleware=(AuthFactory(),)), scope=scope).run(rows(2)))


def test_input_errors_fail_the_partition(scope):
    def broken():
        yield {"id": 1, "status": 200}
        raise OSError("lost the input stream")

    with pytest.raises(OSError, match="lost the input"):
        list(PartitionEngine(plan(), scope=scope).run(broken()))
    assert not [t for t in asyncio.all_tasks(scope.loop) if not t.done()]


def test_closing_early_cancels_cleanly(scope):
    engine = PartitionEngine(plan(concurrency=4, queue_size=4), scope=scope, chunk_size=2)
    read = []

    def source():
        for i in range(10_000):
            read.append(i)
            yield {"id": i, "status": 200}

    gen = engine.run(source())
    first = [next(gen) for _ in range(5)]
    gen.close()
    assert len(first) == 5
    assert len(read) <= engine.outstanding_bound + 5
    assert not [t for t in asyncio.all_tasks(scope.loop) if not t.done()]
    # the scope (and its cached transport) stays usable for the next partition
    assert len(list(PartitionEngine(plan(), scope=scope).run(rows(3)))) == 3


def test_passthrough_columns_are_appended(scope):
    p = plan(passthrough_columns=("id", "note"))
    out = list(PartitionEngine(p, scope=scope).run([{"id": 1, "status": 200, "note": "n"}]))
    assert out[0][len(RECORD_FIELD_NAMES):] == (1, "n")


def test_plan_validation():
    with pytest.raises(ValueError):
        plan(concurrency=0)
    with pytest.raises(ValueError):
        plan(rate_per_task=0)
    with pytest.raises(ValueError, match="clash"):
        plan(passthrough_columns=("status_x", "url"))
    assert plan(concurrency=7).effective_queue_size == 14


def test_partition_function_pickles_and_runs_on_the_copy():
    p = plan(middleware=(RetryFactory(), TimingFactory()), concurrency=3, run_id="r")
    fn = make_partition_function(p)
    copy = pickle.loads(pickle.dumps(fn))
    assert copy == fn and copy is not fn
    out = as_dicts(copy(iter(rows(20))))
    assert sorted(int(r["row_id"]) for r in out) == list(range(20))
    assert all(r["ok"] and "attempt_latencies_ms" in r["metadata"] for r in out)
    # Spark ships functions with cloudpickle: same result.
    from pyspark import cloudpickle

    spark_copy = cloudpickle.loads(cloudpickle.dumps(fn))
    assert len(list(spark_copy(iter(rows(5))))) == 5
    # The generator is lazy: nothing runs until Spark iterates it.
    lazy = copy(iter(rows(1)))
    assert hasattr(lazy, "__next__")
    lazy.close()


def test_200k_rows_stream_with_bounded_pending_results(scope):
    """Flat memory: what is held at once is bounded by the queues, not by the partition."""
    n = 200_000
    template = RequestTemplate("GET", "https://api.example.com", "/items/{id}", id_column="id")
    p = plan(template=template, concurrency=20, queue_size=40,
             transport_factory=EchoTransportFactory(yield_every=1, tag="200k"))
    engine = PartitionEngine(p, scope=scope, chunk_size=64)
    assert engine.pending_bound == 40 + 20 + 64
    _assert_streams_every_row_once_within_bounds(engine, n)


def _assert_streams_every_row_once_within_bounds(engine: PartitionEngine, n: int) -> None:
    seen = bytearray(n)
    gen = engine.run(rows(n))
    first = next(gen)
    # streaming: the first record comes out after reading only a bounded number of rows
    assert engine.stats.rows_read <= engine.outstanding_bound
    seen[int(first[FIELD_INDEX["row_id"]])] += 1
    ok_index = FIELD_INDEX["ok"]
    row_index = FIELD_INDEX["row_id"]
    bad = 0
    for record in gen:
        seen[int(record[row_index])] += 1
        bad += not record[ok_index]
    stats = engine.stats
    assert bad == 0 and stats.records_emitted == stats.rows_read == n
    assert seen.count(1) == n  # every row exactly once
    assert stats.max_pending_results <= engine.pending_bound
    assert stats.max_outstanding_rows <= engine.outstanding_bound
    assert stats.max_in_flight <= engine.plan.concurrency
    assert stats.pending_results == 0 and stats.in_flight == 0


class StampingTransport:
    """200 for every request; counts sends (the loop's thread is the only writer)."""

    def __init__(self) -> None:
        self.sent = 0

    async def send(self, request):
        await asyncio.sleep(0.005)  # an API answering in 5 ms
        self.sent += 1
        return HttpResponse(200, {}, b"{}")


def test_loop_in_thread_keeps_sending_while_spark_is_busy_with_a_chunk(scope):
    """With the loop on its own thread, a slow consumer (the JVM opening its parquet writer)
    no longer stalls the requests in flight -- and the output queue still bounds what is read."""
    import time

    transport = StampingTransport()
    p = plan(transport_factory=lambda: transport, concurrency=4, queue_size=200)
    engine = PartitionEngine(p, scope=scope, chunk_size=4, loop_in_thread=True)
    gen = engine.run(rows(500))
    next(gen)
    sent_before = transport.sent
    time.sleep(0.3)  # the consumer is busy; the loop is not
    sent_during = transport.sent - sent_before
    assert sent_during > 0, "no request was sent while the consumer was busy"
    assert engine.stats.rows_read <= engine.outstanding_bound + 1
    rest = list(gen)
    assert len(rest) == 499 and engine.stats.records_emitted == 500
    assert engine.stats.max_pending_results <= engine.pending_bound


def test_loop_in_thread_without_it_the_loop_waits_for_the_consumer(scope):
    """The contrast: driven from the caller's thread, nothing is sent while it is busy."""
    import time

    transport = StampingTransport()
    p = plan(transport_factory=lambda: transport, concurrency=4, queue_size=200)
    gen = PartitionEngine(p, scope=scope, chunk_size=4).run(rows(500))
    next(gen)
    sent_before = transport.sent
    time.sleep(0.2)
    assert transport.sent == sent_before
    gen.close()


def test_loop_in_thread_streams_with_the_same_bounds_and_stops_cleanly(scope):
    n = 30_000
    template = RequestTemplate("GET", "https://api.example.com", "/items/{id}", id_column="id")
    p = plan(template=template, concurrency=20, queue_size=40,
             transport_factory=EchoTransportFactory(yield_every=1, tag="thread"))
    _assert_streams_every_row_once_within_bounds(PartitionEngine(p, scope=scope, chunk_size=64, loop_in_thread=True), n)
    # Closing early cancels the consumers on the loop's thread; the next partition reuses it.
    gen = PartitionEngine(p, scope=scope, chunk_size=2, loop_in_thread=True).run(rows(10_000))
    next(gen)
    gen.close()
    assert len(list(PartitionEngine(p, scope=scope, loop_in_thread=True).run(rows(3)))) == 3
    thread = scope._thread
    assert thread is not None and thread.is_alive()
    scope.close()
    assert not thread.is_alive()
