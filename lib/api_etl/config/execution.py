"""How the work is cut and how fast it may go; failure policy; metrics."""

from __future__ import annotations

from pydantic import Field, NonNegativeInt, PositiveFloat, PositiveInt, model_validator

from api_etl.config.base import StrictModel
from api_etl.metrics.names import DEFAULT_NAMESPACE


class ExecutionConfig(StrictModel):
    batch_size: PositiveInt = Field(10_000, description="Rows per checkpointed batch.")
    partitions: PositiveInt | None = Field(
        None, description="Spark partitions per batch; default: the tasks that run at once."
    )
    concurrent_tasks: PositiveInt | None = Field(
        None,
        description="Tasks that run at once (workers x cores); default: Spark's parallelism.",
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

    def tasks_at_once(self, parallelism: int | None = None) -> int | None:
        """Tasks that can send at the same moment: slots, or fewer when batches are small."""
        tasks = self.concurrent_tasks or parallelism
        if tasks is None:
            return self.partitions
        return min(tasks, self.partitions * self.batches_in_flight) if self.partitions else tasks

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
