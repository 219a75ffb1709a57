"""Everything a Spark task needs to process its partition, as one picklable value.

The driver (the compile step) builds a :class:`WorkerPlan` from the validated config and
ships it inside the partition function (see
:func:`api_etl.engine.partition.make_partition_function`; the pipeline hands it to
``DataFrame.mapInArrow`` through :class:`api_etl.engine.arrow_io.ArrowPartitionFunction`). Every field is plain data or a
picklable factory; nothing here holds a connection, a loop or a SparkContext.

Factories:

- ``transport_factory``: zero-argument callable returning a Transport, or an awaitable of
  one (an ``async def`` factory works). Called at most once per worker *process* and
  cached in :data:`api_etl.transport.process_scope.process_scope`, so the session is
  reused across partitions and batches.
- ``auth_factory``: the same for the :class:`~api_etl.auth.base.AuthProvider` (optional).
  If set and no ``auth`` middleware is listed, the auth middleware is added innermost.
- ``middleware``: factories ``factory(MiddlewareContext) -> middleware``, first = outermost,
  built once per partition.

The process-scope cache key of a factory is ``scope_key`` when given, else the factory
itself (frozen dataclasses compare by value, module-level functions by identity; an
unhashable factory is keyed by its pickle digest). A closure shipped by cloudpickle is a
new object in every task and would get a new transport each time: use a frozen dataclass
or a module-level function, or set ``scope_key``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from api_etl.engine.record import FIELD_INDEX
from api_etl.engine.request_builder import RequestTemplate

if TYPE_CHECKING:
    from api_etl.auth.base import AuthProvider
    from api_etl.middleware.base import MiddlewareFactory
    from api_etl.transport.base import Transport

TransportFactory = Callable[[], "Transport | Awaitable[Transport]"]
AuthFactory = Callable[[], "AuthProvider | Awaitable[AuthProvider]"]

DEFAULT_CONCURRENCY = 20


@dataclasses.dataclass(frozen=True)
class WorkerPlan:
    template: RequestTemplate
    transport_factory: TransportFactory
    auth_factory: AuthFactory | None = None
    middleware: tuple[MiddlewareFactory, ...] = ()
    # Requests in flight per task (= consumer coroutines).
    concurrency: int = DEFAULT_CONCURRENCY
    # This task's share of the job-wide rate (see rate_limiter.per_task_rate); None = no limit.
    rate_per_task: float | None = None
    # Token-bucket burst size; 1 = never two requests closer than 1/rate.
    rate_capacity: int = 1
    # Bound of the input queue and of the output queue; None = 2 x concurrency.
    queue_size: int | None = None
    run_id: str | None = None
    batch_id: str | None = None
    # Source columns copied to the end of each record, in this order.
    passthrough_columns: tuple[str, ...] = ()
    # Added to the built-in sensitive names (Authorization, Cookie, X-Api-Key, ...).
    sensitive_headers: tuple[str, ...] = ()
    sensitive_params: tuple[str, ...] = ()
    # Cut response bodies stored in the record to this many bytes; None = keep whole.
    max_response_body_bytes: int | None = None
    # Process-scope cache key for the transport / auth built by the factories (optional).
    scope_key: str | None = None

    def __post_init__(self) -> None:
        for name in ("middleware", "passthrough_columns", "sensitive_headers", "sensitive_params"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.run_id is not None:
            object.__setattr__(self, "run_id", str(self.run_id))
        if self.batch_id is not None:
            object.__setattr__(self, "batch_id", str(self.batch_id))
        if not isinstance(self.template, RequestTemplate):
            raise TypeError("template must be a RequestTemplate")
        if not callable(self.transport_factory):
            raise TypeError("transport_factory must be callable")
        if self.auth_factory is not None and not callable(self.auth_factory):
            raise TypeError("auth_factory must be callable")
        if self.concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {self.concurrency}")
        if self.queue_size is not None and self.queue_size < 1:
            raise ValueError(f"queue_size must be >= 1, got {self.queue_size}")
        if self.rate_per_task is not None and not self.rate_per_task > 0:
            raise ValueError(f"rate_per_task must be > 0, got {self.rate_per_task}")
        if self.rate_capacity < 1:
            raise ValueError(f"rate_capacity must be >= 1, got {self.rate_capacity}")
        if self.max_response_body_bytes is not None and self.max_response_body_bytes < 0:
            raise ValueError("max_response_body_bytes must be >= 0")
        clash = [c for c in self.passthrough_columns if c in FIELD_INDEX]
        if clash:
            raise ValueError(f"pass-through columns clash with record fields: {clash}")
        if len(set(self.passthrough_columns)) != len(self.passthrough_columns):
            raise ValueError("pass-through columns must be unique")

    @property
    def effective_queue_size(self) -> int:
        return self.queue_size if self.queue_size is not None else 2 * self.concurrency

    def replace(self, **changes: Any) -> WorkerPlan:
        """A copy with some fields changed (e.g. ``batch_id`` per batch)."""
        return dataclasses.replace(self, **changes)
