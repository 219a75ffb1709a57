"""Metric names and units the job publishes; the single definition Terraform tests import."""

from api_etl.metrics.names import (  # noqa: F401
    ALL_METRICS,
    DEFAULT_NAMESPACE,
    DIMENSION_JOB,
    DIMENSION_RUN,
    MetricName,
)
