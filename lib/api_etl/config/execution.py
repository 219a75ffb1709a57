"""How the work is cut and how fast it may go; failure policy; metrics."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, NonNegativeInt, PositiveFloat, PositiveInt, model_validator

from api_etl.config.base import StrictModel
from api_etl.metrics.names import DEFAULT_NAMESPACE

# batch_size "auto": a batch takes about this long at the job's rate limit. Each batch costs
# each slot a fixed 0.1-1 s (task launch, the parquet file's commit), so a batch sized in
# seconds keeps that under ~2% at any rate, while a crash re-sends at most a minute or two.
AUTO_BATCH_SECONDS = 60
AUTO_BATCH_MIN_ROWS = 1_000
AUTO_BATCH_MAX_ROWS = 200_000
# Without a rate limit the speed is unknown before the run, so a batch is sized in round
# trips instead: each of its tasks gets this many per request slot (concurrency x this
# rows), 25 s at 50 ms a request. A fixed row count would give each task of a big
# cluster a handful of requests per batch and the per-batch overhead would dominate.
AUTO_BATCH_ROUND_TRIPS = 500


def _check_batch_size(value: Any) -> Any:
    if value == "auto" or (type(value) is int and value > 0):
        return value
    raise ValueError(f"must be a positive integer (rows per batch) or 'auto', got {value!r}")


class ExecutionConfig(StrictModel):
    batch_size: Annotated[int | Literal["auto"], BeforeValidator(_check_batch_size)] = Field(
        "auto",
        description=f"Rows per checkpointed batch, or auto: {AUTO_BATCH_SECONDS} s of sending at"
        f" max_requests_per_second (between {AUTO_BATCH_MIN_ROWS:,} and {AUTO_BATCH_MAX_ROWS:,}"
        f" rows); without a rate limit, {AUTO_BATCH_ROUND_TRIPS} round trips per request in"
        f" flight: tasks per batch x concurrency x {AUTO_BATCH_ROUND_TRIPS} rows (same bounds).",
    )
    partitions: PositiveInt | None = Field(
        None, description="Spark partitions per batch; default: the tasks that run at once."
    )
    concurrent_tasks: PositiveInt | None = Field(
        None,
        description="Tasks that run at once (workers x cores); default: Spark's parallelism, or"
        " the Glue job's --cluster_slots (set by the Terraform module) when larger. The rate limit"
        " is shared by the largest of these, so a low value cannot raise it.",
    )
    concurrency: PositiveInt = Field(20, description="Requests in flight per task.")
    max_requests_per_second: PositiveFloat | None = Field(
        None, description="Job-wide limit, split evenly across the tasks that run at once."
    )
    queue_size: PositiveInt | None = Field(None, description="Default: 2 x concurrency.")
    batches_in_flight: int = Field(
        2, ge=1, le=4,
        description="Batches submitted at once: the next batch's tasks start as the last one's"
        " finish, so no slot idles at batch boundaries. A crash re-sends at most these batches.",
    )

    def tasks_per_batch(self, parallelism: int | None = None) -> int:
        """Spark tasks a batch is split into: ``partitions``, else one per slot of the cluster
        (Spark's ``parallelism``; ``concurrent_tasks`` or 1 where that is unknown, as in
        ``api-etl validate``)."""
        return self.partitions or parallelism or self.concurrent_tasks or 1

    def rows_per_batch(self, parallelism: int | None = None) -> int:
        """``batch_size`` as a number of rows (``auto`` resolved; see the field).

        ``parallelism`` is Spark's (the slots of the cluster); it matters only for ``auto``
        without a rate limit and without ``partitions`` (see :meth:`tasks_per_batch`).
        """
        if self.batch_size != "auto":
            return self.batch_size
        rate = self.max_requests_per_second
        if rate is None:
            rows = self.tasks_per_batch(parallelism) * self.concurrency * AUTO_BATCH_ROUND_TRIPS
        else:
            rows = math.ceil(rate * AUTO_BATCH_SECONDS)
        return min(max(rows, AUTO_BATCH_MIN_ROWS), AUTO_BATCH_MAX_ROWS)

    def describe_batch_size(self) -> str:
        """``batch_size`` as ``api-etl validate`` prints it, before any cluster is known."""
        if self.batch_size != "auto":
            return str(self.batch_size)
        if self.max_requests_per_second is None and not (self.partitions or self.concurrent_tasks):
            # Sized by the cluster's slots, which only the run knows.
            return f"auto ({self.rows_per_batch(1)} rows per Spark slot)"
        return f"auto ({self.rows_per_batch()} rows)"

    def tasks_at_once(self, parallelism: int | None = None) -> int | None:
        """The most tasks that can send at the same moment (each gets this share of the rate).

        That is the batches in flight's tasks, but no more than the cluster's slots. The slots
        are the larger of Spark's ``parallelism`` and ``concurrent_tasks``: a share computed
        from fewer tasks than really run would multiply the job-wide rate, so where the two
        disagree the count that keeps the limit wins. None when nothing is known (validate
        without ``partitions`` or ``concurrent_tasks``).
        """
        slots = max((n for n in (parallelism, self.concurrent_tasks) if n), default=None)
        if slots is None and self.partitions is None:
            return None
        in_flight = self.tasks_per_batch(parallelism) * self.batches_in_flight
        return min(slots, in_flight) if slots is not None else in_flight

    def describe_sizing(
        self,
        parallelism: int | None,
        rate_per_task: float | None = None,
        *,
        staged: tuple[int, int] | None = None,
    ) -> str:
        """How a run splits its work and its rate limit, as one line for the job's log.

        The numbers an operator needs to see that a job uses its cluster and its limit:
        ``parallelism`` is the task slots the run plans with (Spark's at the start of the run,
        or the deployment's ``--cluster_slots`` when larger); ``rate_per_task`` is what each
        task paces at (the pipeline runner's share, headroom included). ``staged`` is (rows
        per batch, tasks per batch) as the run was staged, which a resumed run keeps whatever
        the cluster is now.
        """
        rows, tasks = staged or (self.rows_per_batch(parallelism), self.tasks_per_batch(parallelism))
        text = (f"batches of {rows} rows, {tasks} task(s) each,"
                f" {self.batches_in_flight} batch(es) in flight, {self.concurrency} request(s) in flight per task;"
                f" task slots {parallelism if parallelism else 'unknown'},"
                f" concurrent_tasks {self.concurrent_tasks if self.concurrent_tasks else 'not set'}")
        rate = self.max_requests_per_second
        if rate is None or rate_per_task is None:
            return text + "; no rate limit"
        return (text + f"; rate limit {rate:g}/s shared by {self.tasks_at_once(parallelism)} task(s) at once:"
                f" {rate_per_task:.4g}/s each")

    def slots_mismatch(self, parallelism: int | None) -> str | None:
        """A warning when the run's task slots and ``concurrent_tasks`` disagree, else None.

        ``parallelism`` is the slots the run plans with (see :meth:`describe_sizing`). Either
        way the job holds its limit, but it may not use all of it (or all of the cluster):
        the slots decide how each batch is split, the larger of the two how the limit is shared.
        """
        stated = self.concurrent_tasks
        if not stated or not parallelism or stated == parallelism:
            return None
        head = (f"the run plans with {parallelism} task slots (Spark's parallelism, or --cluster_slots"
                f" when larger) but execution.concurrent_tasks is {stated}; ")
        if parallelism > stated:
            return head + (
                f"the limit is shared by {self.tasks_at_once(parallelism)} tasks, so if only {stated} run at once"
                " the job sends less than the limit. If spark.default.parallelism or --cluster_slots"
                " is set above the executors' cores, lower it"
            )
        if self.partitions:
            return None  # batches are split by partitions, not by Spark's count
        return head + (
            f"each batch is split into {parallelism} tasks, so no more run at once and the other slots idle"
            " (executors that registered after the job started?). Set execution.partitions to the"
            " cluster's executors x cores"
        )

    def check_rate(self, parallelism: int | None = None) -> None:
        tasks = self.tasks_at_once(parallelism)
        rate = self.max_requests_per_second
        if rate is not None and tasks is not None and rate < tasks:
            raise ValueError(
                f"max_requests_per_second={rate:g} is lower than 1 request per second for each"
                f" of the {tasks} tasks that run at once; raise the limit or lower"
                " execution.partitions / execution.concurrent_tasks"
            )

    @model_validator(mode="after")
    def _rate_per_task(self) -> ExecutionConfig:
        if self.concurrent_tasks is not None:
            self.check_rate()
        return self


class CircuitBreakerConfig(StrictModel):
    enabled: bool = True
    failure_ratio: float = Field(0.9, gt=0.0, le=1.0)
    min_rows: PositiveInt = Field(50, description="Judge a batch only after this many rows.")


class FailurePolicyConfig(StrictModel):
    max_failed_rows: NonNegativeInt | None = None
    max_failure_ratio: float | None = Field(0.01, ge=0.0, le=1.0)
    circuit_breaker: CircuitBreakerConfig = Field(default_factory=CircuitBreakerConfig)


class MetricsConfig(StrictModel):
    enabled: bool = True
    namespace: str = Field(DEFAULT_NAMESPACE, min_length=1, max_length=255)
    job_name: str | None = Field(None, description="JobName dimension; default: the Glue job name.")
    dimensions: dict[str, str] = Field(default_factory=dict)
    per_run: bool = Field(
        False,
        description="Also publish each metric with a RunId dimension (each run then creates"
        " new custom metrics, billed monthly: keep off for frequent schedules).",
    )
    region: str | None = None
