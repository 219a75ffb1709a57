"""Every CloudWatch metric the job publishes, defined once.

The driver publishes these after each batch; the Terraform alarms and dashboard name the
same metrics, and a test parses the Terraform and checks every name against this module.
Dimensions: ``JobName`` always; ``RunId`` is added only on the per-run copy of a metric
(alarms use the job-level series so they survive across runs).
"""

from __future__ import annotations

import enum

DEFAULT_NAMESPACE = "ApiEtl"
DIMENSION_JOB = "JobName"
DIMENSION_RUN = "RunId"


class MetricName(str, enum.Enum):
    ROWS_PROCESSED = "RowsProcessed"
    ROWS_SUCCEEDED = "RowsSucceeded"
    ROWS_FAILED = "RowsFailed"
    RETRIES = "Retries"
    THROTTLED = "Throttled"  # responses with status 429, retries included
    STATUS_2XX = "Status2xx"
    STATUS_4XX = "Status4xx"
    STATUS_5XX = "Status5xx"
    LATENCY = "RequestLatency"  # a statistic set per batch, milliseconds
    LATENCY_P50 = "RequestLatencyP50"
    LATENCY_P95 = "RequestLatencyP95"
    LATENCY_P99 = "RequestLatencyP99"
    LATENCY_MAX = "RequestLatencyMax"
    BATCH_DURATION = "BatchDuration"  # seconds
    ROWS_PER_SECOND = "RowsPerSecond"
    BATCHES_COMPLETED = "BatchesCompleted"
    # Only with a rate limit: how long a request waited for its slot (mean over the batch),
    # and slots given up because a worker was too busy to send on time (short of CPU).
    RATE_LIMIT_WAIT = "RateLimitWait"
    RATE_LIMIT_LATE_SLOTS = "RateLimitLateSlots"


UNITS: dict[MetricName, str] = {
    MetricName.ROWS_PROCESSED: "Count",
    MetricName.ROWS_SUCCEEDED: "Count",
    MetricName.ROWS_FAILED: "Count",
    MetricName.RETRIES: "Count",
    MetricName.THROTTLED: "Count",
    MetricName.STATUS_2XX: "Count",
    MetricName.STATUS_4XX: "Count",
    MetricName.STATUS_5XX: "Count",
    MetricName.LATENCY: "Milliseconds",
    MetricName.LATENCY_P50: "Milliseconds",
    MetricName.LATENCY_P95: "Milliseconds",
    MetricName.LATENCY_P99: "Milliseconds",
    MetricName.LATENCY_MAX: "Milliseconds",
    MetricName.BATCH_DURATION: "Seconds",
    MetricName.ROWS_PER_SECOND: "Count/Second",
    MetricName.BATCHES_COMPLETED: "Count",
    MetricName.RATE_LIMIT_WAIT: "Milliseconds",
    MetricName.RATE_LIMIT_LATE_SLOTS: "Count",
}

ALL_METRICS: frozenset[str] = frozenset(m.value for m in MetricName)
