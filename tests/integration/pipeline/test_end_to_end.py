"""End to end on local Spark against moto (S3, Secrets Manager, CloudWatch) and the mock API."""

from __future__ import annotations

import boto3
import pytest
from pyspark.sql import functions as F

from api_etl.compile import build_template
from api_etl.pipeline.runner import run_pipeline

from .conftest import CLIENT_SECRET, SOURCE_COLUMNS, base_doc, create_secret, load, source_rows

pytestmark = pytest.mark.spark

ROWS = 1200
PERMANENT_FAILURES = ["trk-000007", "trk-000500", "trk-001111"]


@pytest.fixture
def s3_stack(aws, spark):
    boto3.client("s3").create_bucket(Bucket="data")
    create_secret()
    spark.createDataFrame(source_rows(ROWS), SOURCE_COLUMNS).write.mode("overwrite").parquet("s3://data/source")
    return "s3://data"


def _request_ids(loaded, ids):
    template = build_template(loaded.config)
    return {
        template.build({"tracking_id": i, "patient_id": f"pat-{int(i[4:])}", "amount": int(i[4:]) / 4}).request_id: i
        for i in ids
    }


def test_run_lands_every_row_once_with_dead_letters_checkpoints_and_metrics(spark, s3_stack, api):
    loaded = load(base_doc(api.url, s3_stack))
    failing = _request_ids(loaded, PERMANENT_FAILURES)
    api.update_config({"faults": {"fail_first_ids": {rid: 10 for rid in failing}, "fail_first_status": 503}})

    summary = run_pipeline(spark, loaded, run_id="e2e-1")

    # The run: every row once, failures within the policy.
    assert summary.rows_total == ROWS and summary.rows_failed == len(PERMANENT_FAILURES)
    assert summary.policy_met and summary.batches_done == summary.batches_total >= 3
    assert summary.requests_sent == ROWS + 2 * len(PERMANENT_FAILURES)  # 3 attempts each
    sink = spark.read.parquet("s3://data/sink")
    assert sink.count() == ROWS
    assert sink.select("row_id").distinct().count() == ROWS
    assert {r.row_id for r in sink.where(~F.col("ok")).collect()} == set(PERMANENT_FAILURES)
    failed = sink.where(~F.col("ok")).first()
    assert (failed.status, failed.attempts, failed.error_type) == (503, 3, "HttpStatusError")
    ok_row = sink.where(F.col("row_id") == "trk-000042").first()
    assert ok_row.amount == 42 / 4 and ok_row.status == 201 and '"patient"' in ok_row.request_body
    assert ok_row.request_headers["Authorization"] == "***"
    assert ok_row.metadata["worker_pid"]

    # No secret anywhere in the bronze table.
    text = " ".join(str(r) for r in sink.collect())
    assert CLIENT_SECRET not in text

    # Dead letters carry the original source row.
    dead = spark.read.parquet("s3://data/sink_dead_letter")
    assert {r.row_id for r in dead.collect()} == set(PERMANENT_FAILURES)
    assert dead.where(F.col("row_id") == "trk-000500").first().source_row.patient_id == "pat-500"

    # A checkpoint per batch, written after the data.
    keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="data", Prefix="checkpoints/run_id=e2e-1/")["Contents"]]
    checkpoints = [k for k in keys if "/batches/" in k]
    assert len(checkpoints) == summary.batches_total

    # The API saw each row once plus retries of the failing ones, and no duplicate key.
    stats = api.stats()
    assert stats["idempotency"]["duplicates"] == 0
    assert stats["api_requests"] == summary.requests_sent
    assert stats["token_requests"] >= 1

    # Metrics read back from the emulated CloudWatch: a job-level series (what the alarms
    # use) and a per-run copy. moto matches dimensions as a subset, so sum the run's series.
    cw = boto3.client("cloudwatch")
    series = {
        tuple(sorted(d["Name"] for d in m["Dimensions"]))
        for m in cw.list_metrics(Namespace="ApiEtl", MetricName="RowsProcessed")["Metrics"]
    }
    assert series == {("JobName",), ("JobName", "RunId")}

    def run_sum(name):
        got = cw.get_metric_statistics(
            Namespace="ApiEtl", MetricName=name,
            Dimensions=[{"Name": "JobName", "Value": "tests-job"}, {"Name": "RunId", "Value": "e2e-1"}],
            StartTime="2000-01-01T00:00:00Z", EndTime="2100-01-01T00:00:00Z", Period=86400, Statistics=["Sum"],
        )
        return sum(p["Sum"] for p in got["Datapoints"])

    assert run_sum("RowsProcessed") == ROWS
    assert run_sum("RowsFailed") == len(PERMANENT_FAILURES)
    assert run_sum("Retries") == 2 * len(PERMANENT_FAILURES)
    assert run_sum("Status5xx") == len(PERMANENT_FAILURES)
    assert run_sum("BatchesCompleted") == summary.batches_total

    # Rerunning the run id sends nothing and changes nothing.
    before = api.stats()["api_requests"]
    again = run_pipeline(spark, loaded, run_id="e2e-1")
    assert again.batches_done == 0 and again.batches_skipped == summary.batches_total
    assert api.stats()["api_requests"] == before
    assert spark.read.parquet("s3://data/sink").count() == ROWS

    # --retry-failed re-sends only the failed rows, in a new round; the latest outcome is ok.
    api.update_config({"faults": {"fail_first_ids": {rid: 0 for rid in failing}}})  # the API recovered
    retried = run_pipeline(spark, loaded, run_id="e2e-1", retry_failed=True)
    assert retried.attempt == 1 and retried.rows_total == len(PERMANENT_FAILURES)
    assert retried.rows_succeeded == len(PERMANENT_FAILURES) and retried.run_failed_rows == 0
    assert api.stats()["api_requests"] == before + len(PERMANENT_FAILURES)
    from api_etl.pipeline.outcomes import latest_outcomes

    records = spark.read.parquet("s3://data/sink").where("run_id = 'e2e-1'")
    assert records.count() == ROWS + len(PERMANENT_FAILURES)
    latest = latest_outcomes(records)
    assert latest.count() == ROWS and latest.where(~F.col("ok")).count() == 0


def test_circuit_breaker_stops_a_run_into_a_wall(spark, s3_stack, api):
    doc = base_doc(api.url, s3_stack, execution={"batch_size": 300})
    doc["auth"] = {"type": "bearer", "token": "wrong-token"}
    summary = run_pipeline(spark, load(doc), run_id="wall-1")
    assert not summary.policy_met
    assert "circuit breaker" in summary.stop_reason and "HttpStatusError" in summary.stop_reason
    # The batch that tripped the breaker, and the other one in flight if it finished (and
    # so was checkpointed) before its cancellation reached it; never the batches after them.
    assert 1 <= summary.batches_done <= 2 and summary.batches_total == 4
    # Only the batches in flight when the first one tripped the breaker (2 by default, ~300
    # rows each; hashing makes sizes vary a little) reached the API, not the whole source.
    assert summary.rows_failed <= api.stats()["api_requests"] <= 2 * 340 < ROWS
