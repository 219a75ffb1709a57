"""Record where the row ran: host, pid, Spark partition / stage / task attempt.

The record always carries host, pid and partition id; this listener adds them (and the
stage id and task attempt number, when running inside a Spark task) to ``metadata``.
pyspark is imported lazily and only if available (see :mod:`api_etl.engine.identity`).
"""

from __future__ import annotations

import dataclasses

from api_etl.engine.exchange import Exchange, NextCall
from api_etl.engine.identity import WorkerIdentity, current_identity
from api_etl.middleware.base import MiddlewareContext


def identity_metadata(identity: WorkerIdentity) -> dict[str, str]:
    out = {"worker_host": identity.host, "worker_pid": str(identity.pid)}
    if identity.partition_id is not None:
        out["spark_partition_id"] = str(identity.partition_id)
    if identity.stage_id is not None:
        out["spark_stage_id"] = str(identity.stage_id)
    if identity.attempt_number is not None:
        out["spark_task_attempt"] = str(identity.attempt_number)
    return out


class WorkerIdentityMiddleware:
    def __init__(self, identity: WorkerIdentity | None = None) -> None:
        self._identity = identity
        self._metadata: dict[str, str] | None = None

    def _fields(self) -> dict[str, str]:
        if self._metadata is None:  # first call runs in the Spark task's thread
            self._metadata = identity_metadata(self._identity or current_identity())
        return self._metadata

    async def __call__(self, exchange: Exchange, next_call: NextCall) -> Exchange:
        exchange.metadata.update(self._fields())
        return await next_call(exchange)


@dataclasses.dataclass(frozen=True)
class WorkerIdentityFactory:
    def __call__(self, context: MiddlewareContext) -> WorkerIdentityMiddleware:
        return WorkerIdentityMiddleware(context.identity)
