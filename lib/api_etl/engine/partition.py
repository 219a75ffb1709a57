"""Run one Spark partition: rows in, one record tuple per row out, streamed.

Inside the process-scoped event loop ``concurrency`` consumers each take the next row's
request (when none is left, the consumer reads the next ``build_ahead`` rows from the
synchronous input iterator and builds their requests in one go), run it through the
middleware chain and put the record into a bounded output queue. The *synchronous*
generator Spark iterates drives the loop with ``loop.run_until_complete`` only long enough
to fill the next chunk of records, and yields them; while Spark consumes a chunk the loop
is paused, the queue is full and nothing else is read -- so memory is bounded by the queue
size whatever the partition size.

With ``loop_in_thread`` (what the pipeline uses) the loop runs on its own thread instead
and keeps sending while Spark consumes a chunk; the bounded output queue still stops it
reading rows when Spark falls behind, so the same bounds hold. Without it, a slow write on
Spark's side (the JVM opening its parquet writer, say) stalled every request in flight
and cost the rate limiter its schedule.

Bounds (checked by tests through :class:`EngineStats`):

- in flight (rows inside the chain) <= ``concurrency``;
- pending results (records made, not yet handed to the caller) <= queue_size + concurrency + chunk_size;
- outstanding rows (read, not yet yielded) <= 2 x queue_size + 2 x concurrency + chunk
  + build_ahead (a consumer that finds no built row reads and builds up to ``build_ahead``).

A row never fails the partition: build errors, transport errors, middleware exceptions and
bad statuses all become records (error_type, error_message, attempts, last status). What
does fail it: an exception from the input iterator, a transport/auth/middleware factory
that cannot build, or a bug in the engine. Closing the generator early (Spark stopping
the task, ``take(n)``) cancels the consumers and awaits them.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime as dt
import hashlib
import inspect
import pickle
import time
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from typing import Any

from api_etl.engine.errors import RequestBuildError
from api_etl.engine.exchange import Exchange, HttpRequest, NextCall
from api_etl.engine.gc_threshold import raised_gen0_threshold
from api_etl.engine.identity import WorkerIdentity, current_identity
from api_etl.engine.plan import WorkerPlan
from api_etl.engine.rate_limiter import LimiterCounters, TokenBucket
from api_etl.engine.record import RecordBuilder
from api_etl.engine.redaction import Redactor
from api_etl.engine.request_builder import to_text
from api_etl.engine.terminal import TransportCall
from api_etl.middleware.auth import AuthMiddleware
from api_etl.middleware.base import MiddlewareContext
from api_etl.middleware.chain import compose
from api_etl.transport.process_scope import ProcessScope, process_scope

DEFAULT_CHUNK_SIZE = 256
# Rows a consumer reads and builds requests for at once (see PartitionEngine._read_ahead).
DEFAULT_BUILD_AHEAD = 16

_END = object()  # output-queue sentinel: all records produced


@dataclasses.dataclass(frozen=True)
class _Failure:
    error: BaseException


@dataclasses.dataclass
class EngineStats:
    rows_read: int = 0
    records_emitted: int = 0
    failed_rows: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    pending_results: int = 0
    max_pending_results: int = 0
    max_outstanding_rows: int = 0
    # The rate limiter's work during this partition (None when the plan has no limit).
    rate_limit: LimiterCounters | None = None


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def scope_key(kind: str, factory: Any, explicit: str | None = None) -> Hashable:
    """The process-scope cache key for a factory (see :mod:`api_etl.engine.plan`)."""
    if explicit:
        return ("api_etl", kind, explicit)
    try:
        hash(factory)
        return ("api_etl", kind, factory)
    except TypeError:
        digest = hashlib.sha256(pickle.dumps(factory)).hexdigest()
        return ("api_etl", kind, digest)


async def _build(factory: Callable[[], Any]) -> Any:
    result = factory()
    if inspect.isawaitable(result):
        result = await result
    return result


def as_mapping(row: Any) -> Mapping[str, Any]:
    """A Spark Row (or any mapping) as a mapping of column -> value."""
    if isinstance(row, Mapping):
        return row
    as_dict = getattr(row, "asDict", None)
    if callable(as_dict):
        return as_dict()
    raise TypeError(f"a partition row must be a Spark Row or a mapping, got {type(row).__name__}")


class PartitionEngine:
    """Processes one partition. Build one per partition; read :attr:`stats` afterwards."""

    def __init__(
        self,
        plan: WorkerPlan,
        *,
        scope: ProcessScope | None = None,
        identity: WorkerIdentity | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], dt.datetime] = _utcnow,
        loop_in_thread: bool = False,
        build_ahead: int = DEFAULT_BUILD_AHEAD,
    ) -> None:
        if chunk_size < 1:
            raise ValueError("chunk_size must be >= 1")
        if build_ahead < 1:
            raise ValueError("build_ahead must be >= 1")
        self.plan = plan
        self.stats = EngineStats()
        self.chunk_size = chunk_size
        self.build_ahead = build_ahead
        self._scope = scope if scope is not None else process_scope
        self._identity = identity
        self._clock = clock
        self._wall_clock = wall_clock
        self._loop_in_thread = loop_in_thread
        self._redactor = Redactor(plan.sensitive_headers, plan.sensitive_params)
        self._call: NextCall | None = None
        self.limiter: TokenBucket | None = None
        self._limiter_at_start = LimiterCounters()
        self._records: RecordBuilder | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._input_done = False
        self._out_q: asyncio.Queue[Any] | None = None
        self._done = False
        self._failure: BaseException | None = None
        # Rows read and built, not yet sent: (mapping, exchange or None, build error or None).
        self._ready: collections.deque[tuple[Mapping[str, Any], Exchange | None, Exception | None]] = (
            collections.deque()
        )

    @property
    def pending_bound(self) -> int:
        """The most records that can be held at once (see the module docstring)."""
        return self.plan.effective_queue_size + self.plan.concurrency + self.chunk_size

    @property
    def outstanding_bound(self) -> int:
        q = self.plan.effective_queue_size
        return 2 * q + 2 * self.plan.concurrency + self.chunk_size + self.build_ahead

    # -- the generator Spark iterates -----------------------------------------------------

    def run(self, rows: Iterable[Any]) -> Iterator[tuple[Any, ...]]:
        """Yield one record tuple per row, as they complete (a generator; lazy)."""
        scope = self._scope
        in_thread = self._loop_in_thread
        loop = scope.loop
        stats = self.stats
        # The collector runs less often while rows are sent (see gc_threshold).
        with raised_gen0_threshold():
            try:
                scope.run(self._start(iter(rows)), in_thread=in_thread)
                while not self._done:
                    chunk = scope.run(self._next_chunk(), in_thread=in_thread)
                    for record in chunk:
                        stats.records_emitted += 1
                        yield record
                    if self._failure is not None:
                        raise self._failure
            finally:
                if not loop.is_closed():
                    scope.run(self._stop(), in_thread=in_thread)
                if self.limiter is not None:
                    # The bucket serves this process's tasks in turn: this partition's share
                    # is the difference since it started.
                    stats.rate_limit = self.limiter.counters() - self._limiter_at_start

    # -- async machinery ------------------------------------------------------------------

    async def _start(self, rows: Iterator[Any]) -> None:
        plan = self.plan
        identity = self._identity or current_identity()
        auth = None
        if plan.auth_factory is not None:
            key = scope_key("auth", plan.auth_factory, plan.scope_key)
            auth = await self._scope.get_or_create(key, lambda: _build(plan.auth_factory))
        key = scope_key("transport", plan.transport_factory, plan.scope_key)
        transport = await self._scope.get_or_create(key, lambda: _build(plan.transport_factory))

        context = MiddlewareContext(redactor=self._redactor, auth=auth, identity=identity)
        middlewares = [factory(context) for factory in plan.middleware]
        if auth is not None and not any(isinstance(m, AuthMiddleware) for m in middlewares):
            middlewares.append(AuthMiddleware(auth))
        if plan.rate_per_task is not None:
            # One bucket per worker process and rate, shared by the tasks it runs in turn.
            limiter_key = ("api_etl", "rate_limiter", plan.rate_per_task, plan.rate_capacity)
            self.limiter = await self._scope.get_or_create(
                limiter_key, lambda: _build(lambda: TokenBucket(plan.rate_per_task, plan.rate_capacity))
            )
            self._limiter_at_start = self.limiter.counters()
        self._call = compose(middlewares, TransportCall(transport, self.limiter))
        self._records = RecordBuilder(
            run_id=plan.run_id,
            batch_id=plan.batch_id,
            identity=identity,
            redactor=self._redactor,
            max_body_bytes=plan.max_response_body_bytes,
            passthrough=plan.passthrough_columns,
        )

        size = plan.effective_queue_size
        self._out_q = asyncio.Queue(maxsize=size)
        # Consumers read the input iterator themselves (it is synchronous: a read never
        # yields to the loop), so a row costs no input-queue hop; a consumer reads more rows
        # (``build_ahead`` at most) only after its previous record is queued and when no
        # built row is left, which bounds what is read.
        consumers = [asyncio.ensure_future(self._consume(rows)) for _ in range(plan.concurrency)]
        supervisor = asyncio.ensure_future(self._supervise(consumers))
        self._tasks = [*consumers, supervisor]

    async def _consume(self, rows: Iterator[Any]) -> None:
        out_q = self._out_q
        assert out_q is not None
        stats = self.stats
        send = self._send
        put = out_q.put
        ready = self._ready
        while True:
            if not ready and not self._read_ahead(rows):
                return
            record = await send(*ready.popleft())
            stats.pending_results += 1
            if stats.pending_results > stats.max_pending_results:
                stats.max_pending_results = stats.pending_results
            await put(record)

    def _read_ahead(self, rows: Iterator[Any]) -> bool:
        """Read up to ``build_ahead`` rows and build their requests in one go; False at the end.

        Building several requests together, rather than one between two sends, keeps that
        code warm: ~3% less CPU per row in the pipeline worker (docs/performance.md). It
        never awaits, so the consumers never refill the shared list at the same time.
        """
        ready = self._ready
        stats = self.stats
        build = self._build
        for _ in range(self.build_ahead):
            if self._input_done:
                break
            try:
                row = next(rows)
            except StopIteration:
                self._input_done = True
                break
            except BaseException:
                self._input_done = True
                raise
            stats.rows_read += 1
            ready.append(build(row))
        outstanding = stats.rows_read - stats.records_emitted
        if outstanding > stats.max_outstanding_rows:
            stats.max_outstanding_rows = outstanding
        return bool(ready)

    async def _supervise(self, consumers: list[Any]) -> None:
        out_q = self._out_q
        assert out_q is not None
        # FIRST_EXCEPTION: a failed read or a bug fails the partition without waiting for the rest.
        done, _ = await asyncio.wait(consumers, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            if not task.cancelled() and task.exception() is not None:
                await out_q.put(_Failure(task.exception()))  # re-raised by the generator
                return
        await out_q.put(_END)

    async def _next_chunk(self) -> list[tuple[Any, ...]]:
        out_q = self._out_q
        assert out_q is not None
        # Fill the whole chunk before returning to Spark: every return costs a
        # ``run_until_complete`` (a task, a loop start and stop), which at one or two
        # ready records per return cost more CPU than the records' own processing.
        # Memory stays bounded: the chunk is part of ``pending_bound``.
        chunk: list[tuple[Any, ...]] = []
        append = chunk.append
        size = self.chunk_size
        get_nowait = out_q.get_nowait
        while True:
            try:
                item = get_nowait()
            except asyncio.QueueEmpty:
                item = await out_q.get()
            if item is _END:
                self._done = True
                break
            if type(item) is _Failure:
                self._failure = item.error
                self._done = True
                break
            append(item)
            if len(chunk) >= size:
                break
        # Counted here, on the loop's thread, like the increments: with the loop on its own
        # thread a decrement in the caller's thread would race them.
        self.stats.pending_results -= len(chunk)
        return chunk

    async def _stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            if not task.done():
                task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    # -- one row --------------------------------------------------------------------------

    def _build(self, row: Any) -> tuple[Mapping[str, Any], Exchange | None, Exception | None]:
        """The row as a mapping and its exchange, or the error that kept it from being built."""
        mapping: Mapping[str, Any] = {}
        try:
            mapping = as_mapping(row)
            return mapping, self.plan.template.build(mapping), None
        except Exception as exc:  # noqa: BLE001 - RequestBuildError, or a bad row
            return mapping, None, exc

    async def _send(
        self, mapping: Mapping[str, Any], exchange: Exchange | None, build_error: Exception | None
    ) -> tuple[Any, ...]:
        """The record of a built row: its exchange through the chain, or its build error.

        Never raises (except on cancellation)."""
        records = self._records
        call = self._call
        assert records is not None and call is not None
        stats = self.stats
        started_wall = self._wall_clock()
        t0 = self._clock()
        if exchange is None:
            assert build_error is not None
            stats.failed_rows += 1
            exchange = self._unbuilt_exchange(mapping, build_error)
            elapsed = self._clock() - t0
            return records.build(
                exchange,
                started_at=started_wall,
                finished_at=started_wall + dt.timedelta(seconds=elapsed),
                latency_ms=elapsed * 1000.0,
                row=mapping,
            )

        exchange.started_at = t0
        stats.in_flight += 1
        if stats.in_flight > stats.max_in_flight:
            stats.max_in_flight = stats.in_flight
        try:
            result = await call(exchange)
            if isinstance(result, Exchange):
                exchange = result
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the row fails, the partition goes on
            exchange.error = exc
            exchange.error_type = type(exc).__name__
            text = str(exc)
            exchange.error_message = f"{type(exc).__name__}: {text}" if text else None
        finally:
            stats.in_flight -= 1
        exchange.finished_at = self._clock()
        elapsed = exchange.finished_at - t0
        if not exchange.ok:
            stats.failed_rows += 1
        # latency_ms is what the API took (the last HTTP attempt), so latency alarms watch
        # the API and not our own rate-limit waits and backoff; the row's whole time in the
        # chain is kept as metadata elapsed_ms.
        log = exchange.attempt_log
        latency_ms = log[-1].latency_ms if log else elapsed * 1000.0
        exchange.metadata["elapsed_ms"] = f"{elapsed * 1000.0:.3f}"
        return records.build(
            exchange,
            started_at=started_wall,
            finished_at=started_wall + dt.timedelta(seconds=elapsed),
            latency_ms=latency_ms,
            row=mapping,
        )

    def _unbuilt_exchange(self, row: Mapping[str, Any], exc: Exception) -> Exchange:
        template = self.plan.template
        row_id = None
        if template.id_column is not None:
            value = row.get(template.id_column)
            row_id = to_text(value) if value is not None else None
        try:
            request_id = template.unbuilt_request_id(row)
        except Exception:  # noqa: BLE001 - the row itself is unusable
            request_id = None
        if isinstance(exc, RequestBuildError):
            error_type = "RequestBuildError"
        else:
            error_type = type(exc).__name__
        return Exchange(
            request=HttpRequest(template.method, template.display_url()),
            request_id=request_id,  # type: ignore[arg-type]
            row_id=row_id,  # type: ignore[arg-type]
            row=dict(row),
            error=exc,
            error_type=error_type,
            error_message=str(exc),
        )


@dataclasses.dataclass(frozen=True)
class PartitionFunction:
    """A picklable partition function: rows (Spark Rows or mappings) in, record tuples out.

    Use it with ``rdd.mapPartitions``; the pipeline wraps it in
    :class:`~api_etl.engine.arrow_io.ArrowPartitionFunction` for ``DataFrame.mapInArrow``.
    ``loop_in_thread``: see the module docstring.
    """

    plan: WorkerPlan
    loop_in_thread: bool = False

    def __call__(self, rows: Iterable[Any]) -> Iterator[tuple[Any, ...]]:
        return self.engine().run(rows)

    def engine(self) -> PartitionEngine:
        """A fresh engine for one partition; its ``stats`` are readable once ``run`` ends."""
        return PartitionEngine(self.plan, loop_in_thread=self.loop_in_thread)


def make_partition_function(plan: WorkerPlan, *, loop_in_thread: bool = False) -> PartitionFunction:
    """``rdd.mapPartitions(make_partition_function(plan))`` -> record tuples."""
    return PartitionFunction(plan, loop_in_thread)
