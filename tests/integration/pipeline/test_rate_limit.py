"""The job-wide rate limit holds as the API sees it, across the tasks that run at once."""

from __future__ import annotations

import logging

import pytest

from api_etl.pipeline.runner import RATE_HEADROOM, run_pipeline

from .conftest import SOURCE_COLUMNS, base_doc, load, source_rows

pytestmark = pytest.mark.spark

LIMIT = 150  # requests per second, job-wide
ROWS = 900  # ~6 s at the limit


def _send_at_the_limit(spark, tmp_path, api, execution: dict, run_id: str, *, limit: float = LIMIT,
                       rows: int = ROWS, cluster_slots: int | None = None) -> dict:
    """Run ``rows`` rows at ``limit`` with ``execution``; the API's stats, once every row is sent."""
    doc = base_doc(api.url, str(tmp_path), metrics={"enabled": False},
                   execution={"batch_size": rows // 3, "max_requests_per_second": limit, **execution})
    doc["auth"] = {"type": "none"}
    api.update_config({"auth": {"mode": "none"}})
    spark.createDataFrame(source_rows(rows), SOURCE_COLUMNS).write.parquet(doc["source"]["path"])

    summary = run_pipeline(spark, load(doc), run_id=run_id, cluster_slots=cluster_slots)

    stats = api.stats()
    assert summary.rows_succeeded == rows and stats["api_requests"] == rows
    # Every request took a slot from the limiter, and at a limit this far below what the
    # tasks could send they waited for them; the summary says how long.
    assert summary.rate_limited_requests == rows and summary.rate_limit_wait_seconds > 0
    assert "rate limit  mean wait" in summary.render()
    return stats


def test_two_tasks_never_exceed_the_job_wide_limit(spark, tmp_path, api):
    stats = _send_at_the_limit(spark, tmp_path, api, {"partitions": 2}, "rate")
    # The API's own view: the busiest one-second window (exact sliding window over receipt
    # times) stays within the limit plus 2%.
    assert stats["max_1s_window"] <= LIMIT * 1.02, stats["max_1s_window"]
    # And the limit is used, not wasted: while sending, the API sees close to the limit.
    assert stats["max_1s_window"] >= LIMIT * 0.9


def test_a_config_that_understates_the_clusters_slots_still_holds_the_limit(spark, tmp_path, api, caplog):
    # concurrent_tasks: 1 on local[2]: each batch is still split over both slots and both
    # tasks send, so each must get half of the limit, not all of it.
    with caplog.at_level(logging.INFO, logger="api_etl.pipeline.runner"):
        stats = _send_at_the_limit(spark, tmp_path, api, {"concurrent_tasks": 1}, "understated")
    assert stats["max_1s_window"] <= LIMIT * 1.02, stats["max_1s_window"]
    # The job's log says how the limit was split, so an operator can see it too.
    share = f"{LIMIT * (1 - RATE_HEADROOM) / 2:.4g}/s each"
    assert any("task slots 2, concurrent_tasks 1" in r.getMessage()
               and f"shared by 2 task(s) at once: {share}" in r.getMessage() for r in caplog.records), caplog.text
    assert any(r.levelno == logging.WARNING and "the run plans with 2 task slots (Spark's parallelism, or"
               " --cluster_slots when larger) but execution.concurrent_tasks is 1" in r.getMessage()
               for r in caplog.records), caplog.text


def test_slots_the_deployment_declares_share_the_limit_even_before_executors_register(spark, tmp_path, api, caplog):
    # Terraform declares 4 slots; Spark (local[2]) reports 2, as a Glue job does while its
    # executors are still registering. The limit must be shared by 4: once all 4 tasks could
    # run, 4 x the share is the limit. Here only 2 run at once, so the API sees about half.
    with caplog.at_level(logging.INFO, logger="api_etl.pipeline.runner"):
        stats = _send_at_the_limit(spark, tmp_path, api, {}, "declared", rows=450, cluster_slots=4)
    messages = [r.getMessage() for r in caplog.records]
    assert any("Spark reports 2 task slot(s) so far; the deployment declares 4" in m for m in messages), caplog.text
    assert any(f"shared by 4 task(s) at once: {LIMIT * (1 - RATE_HEADROOM) / 4:.4g}/s each" in m
               for m in messages), caplog.text
    assert stats["max_1s_window"] <= LIMIT / 2 * 1.02 + 1, stats["max_1s_window"]
