"""Where a row was processed: host, process and (inside Spark) the task's partition."""

from __future__ import annotations

import dataclasses
import os
import socket


@dataclasses.dataclass(frozen=True, slots=True)
class WorkerIdentity:
    host: str
    pid: int
    partition_id: int | None = None
    stage_id: int | None = None
    attempt_number: int | None = None


def current_identity() -> WorkerIdentity:
    """The identity of the calling thread's Spark task, or just host/pid outside Spark.

    pyspark is imported lazily and every failure is swallowed: the engine must run (and be
    tested) without Spark.
    """
    partition_id = stage_id = attempt = None
    try:
        from pyspark import TaskContext  # noqa: PLC0415 - optional, worker side only

        ctx = TaskContext.get()
        if ctx is not None:
            partition_id = ctx.partitionId()
            stage_id = ctx.stageId()
            attempt = ctx.attemptNumber()
    except Exception:  # noqa: BLE001 - ImportError, or a TaskContext in a strange state
        pass
    return WorkerIdentity(socket.gethostname(), os.getpid(), partition_id, stage_id, attempt)
