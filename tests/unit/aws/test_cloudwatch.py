"""Batch metrics: one call, names from the shared definition, failures never fatal."""

import boto3
from moto import mock_aws

from api_etl.aws.cloudwatch import CloudWatchPublisher, batch_metric_data
from api_etl.metrics.names import ALL_METRICS
from api_etl.pipeline.sink import BatchStats

STATS = BatchStats(rows=100, succeeded=97, failed=3, requests=110, retries=10, throttled=4,
                   status_histogram={"200": 97, "503": 2, "404": 1}, latency_p50=20.0, latency_p95=50.0,
                   latency_p99=80.0, latency_max=120.0, latency_min=2.0, latency_sum=2500.0)


def test_metric_data_uses_only_defined_names_and_a_statistic_set():
    data = batch_metric_data(STATS, 4.0, "job", "run-1", {"Env": "prod"}, per_run=False)
    assert {d["MetricName"] for d in data} <= ALL_METRICS
    values = {d["MetricName"]: d.get("Value") for d in data}
    assert values["RowsFailed"] == 3 and values["Status5xx"] == 2 and values["Status4xx"] == 1
    assert values["RowsPerSecond"] == 25.0
    latency = next(d for d in data if d["MetricName"] == "RequestLatency")
    assert latency["StatisticValues"] == {"SampleCount": 100.0, "Sum": 2500.0, "Minimum": 2.0, "Maximum": 120.0}
    assert all(d["Dimensions"] == [{"Name": "JobName", "Value": "job"}, {"Name": "Env", "Value": "prod"}] for d in data)


def test_rate_limit_metrics_only_when_the_batch_was_rate_limited():
    import dataclasses

    names = {d["MetricName"] for d in batch_metric_data(STATS, 4.0, "job", "r", {}, per_run=False)}
    assert not names & {"RateLimitWait", "RateLimitLateSlots"}
    limited = dataclasses.replace(STATS, rate_limited_requests=110, rate_limit_wait_seconds=2.2, rate_limit_late_slots=3)
    data = batch_metric_data(limited, 4.0, "job", "r", {}, per_run=False)
    values = {d["MetricName"]: (d["Value"], d["Unit"]) for d in data if "Value" in d}
    assert values["RateLimitWait"] == (20.0, "Milliseconds")  # 2.2 s over 110 requests
    assert values["RateLimitLateSlots"] == (3.0, "Count")


def test_per_run_copies_add_a_run_dimension():
    data = batch_metric_data(STATS, 4.0, "job", "run-1", {}, per_run=True)
    runs = [d for d in data if {"Name": "RunId", "Value": "run-1"} in d["Dimensions"]]
    assert len(runs) * 2 == len(data)


def test_publish_in_one_call_and_survive_failure(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        client = boto3.client("cloudwatch")
        calls = []
        original = client.put_metric_data
        client.put_metric_data = lambda **kw: calls.append(kw) or original(**kw)
        publisher = CloudWatchPublisher("ApiEtl", client=client)
        assert publisher.publish(batch_metric_data(STATS, 4.0, "job", "r", {}, per_run=True))
        assert len(calls) == 1
        names = {m["MetricName"] for m in client.list_metrics(Namespace="ApiEtl")["Metrics"]}
        assert {"RowsProcessed", "RequestLatency", "Throttled"} <= names

    class Broken:
        def put_metric_data(self, **kw):
            raise RuntimeError("endpoint down")

    broken = CloudWatchPublisher("ApiEtl", client=Broken())
    assert broken.publish([{"MetricName": "RowsProcessed", "Value": 1.0}]) is False
    assert broken.failures == 1
