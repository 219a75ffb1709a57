"""Publish a batch's metrics to CloudWatch in one call; failures are logged, never fatal."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping

from api_etl.metrics.names import DIMENSION_JOB, DIMENSION_RUN, UNITS, MetricName

log = logging.getLogger(__name__)


def batch_metric_data(stats, duration_s: float, job_name: str, run_id: str, extra: Mapping[str, str], per_run: bool) -> list[dict]:
    """The MetricData list for one batch: counts, a latency statistic set, percentiles."""
    values: dict[MetricName, float | None] = {
        MetricName.ROWS_PROCESSED: stats.rows,
        MetricName.ROWS_SUCCEEDED: stats.succeeded,
        MetricName.ROWS_FAILED: stats.failed,
        MetricName.RETRIES: stats.retries,
        MetricName.THROTTLED: stats.throttled,
        MetricName.STATUS_2XX: stats.status_class("2"),
        MetricName.STATUS_4XX: stats.status_class("4"),
        MetricName.STATUS_5XX: stats.status_class("5"),
        MetricName.LATENCY_P50: stats.latency_p50,
        MetricName.LATENCY_P95: stats.latency_p95,
        MetricName.LATENCY_P99: stats.latency_p99,
        MetricName.LATENCY_MAX: stats.latency_max,
        MetricName.BATCH_DURATION: duration_s,
        MetricName.ROWS_PER_SECOND: stats.rows / duration_s if duration_s > 0 else None,
        MetricName.BATCHES_COMPLETED: 1,
        MetricName.RATE_LIMIT_WAIT: stats.rate_limit_mean_wait_ms,
        MetricName.RATE_LIMIT_LATE_SLOTS: stats.rate_limit_late_slots if stats.rate_limited_requests else None,
    }
    now = dt.datetime.now(dt.timezone.utc)
    base_dims = [{"Name": DIMENSION_JOB, "Value": job_name}] + [
        {"Name": k, "Value": v} for k, v in sorted(extra.items())
    ]
    dimension_sets = [base_dims]
    if per_run:
        dimension_sets.append(base_dims + [{"Name": DIMENSION_RUN, "Value": run_id}])
    data = []
    for dims in dimension_sets:
        for name, value in values.items():
            if value is None:
                continue
            data.append({"MetricName": name.value, "Dimensions": dims, "Timestamp": now,
                         "Value": float(value), "Unit": UNITS[name]})
        if stats.rows and stats.latency_max is not None:
            data.append({
                "MetricName": MetricName.LATENCY.value, "Dimensions": dims, "Timestamp": now,
                "StatisticValues": {"SampleCount": float(stats.rows), "Sum": float(stats.latency_sum),
                                    "Minimum": float(stats.latency_min), "Maximum": float(stats.latency_max)},
                "Unit": UNITS[MetricName.LATENCY],
            })
    return data


class CloudWatchPublisher:
    def __init__(self, namespace: str, region: str | None = None, client=None):
        self.namespace = namespace
        self._region = region
        self._client = client
        self.failures = 0

    def publish(self, metric_data: list[dict]) -> bool:
        try:
            if self._client is None:
                import boto3

                self._client = boto3.client("cloudwatch", region_name=self._region)
            # PutMetricData takes up to 1000 items per call; a batch sends ~34.
            for start in range(0, len(metric_data), 1000):
                self._client.put_metric_data(Namespace=self.namespace, MetricData=metric_data[start:start + 1000])
            return True
        except Exception as exc:  # noqa: BLE001 - metrics must never fail the job
            self.failures += 1
            log.warning("publishing metrics to CloudWatch failed: %s: %s", type(exc).__name__, exc)
            return False
