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
                       rows: int = ROWS) -> dict:
    """Run ``rows`` rows at ``limit`` with ``execution``; the API's stats, once every row is sent."""
    doc = base_doc(api.url, str(tmp_path), metrics={"enabled": False},
                   execution={"batch_size": rows // 3, "max_requests_per_second": limit, **execution})
    doc["auth"] = {"type": "none"}
    api.update_config({"auth": {"mode": "none"}})
    spark.createDataFrame(source_rows(rows), SOURCE_COLUMNS).write.parquet(doc["source"]["path"])

    summary = run_pipeline(spark, load(doc), run_id=run_id)

    stats = api.stats()
    assert summary.rows_succeeded == rows and stats["api_requests"] == rows
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
    assert any("Spark parallelism 2, concurrent_tasks 1" in r.getMessage()
               and f"shared by 2 task(s) at once: {share}" in r.getMessage() for r in caplog.records), caplog.text
    assert any(r.levelno == logging.WARNING and "Spark's parallelism is 2 but execution.concurrent_tasks is 1"
               in r.getMessage() for r in caplog.records), caplog.text


def test_making_up_for_stalls_never_takes_a_window_over_the_limit(spark, tmp_path, api, caplog):
    # At 1000/s on two tasks (500/s each) a task that falls behind (a batch boundary, a
    # stall) makes up for it at 499/s instead of its 495/s pace: the job's windows must
    # still stay within the limit as the API sees them.
    limit = 1000
    with caplog.at_level(logging.INFO, logger="api_etl.pipeline.runner"):
        stats = _send_at_the_limit(spark, tmp_path, api, {"partitions": 2}, "catch-up", limit=limit, rows=6000)
    assert any("495/s each, up to 499/s while making up for stalls" in r.getMessage()
               for r in caplog.records), caplog.text
    assert stats["max_1s_window"] <= limit * 1.02, stats["max_1s_window"]
    assert stats["max_1s_window"] >= limit * 0.9
