"""``batch_size: auto`` without a rate limit: a batch grows with the cluster's slots."""

from __future__ import annotations

import pytest

from api_etl.pipeline.runner import run_pipeline

from .conftest import SOURCE_COLUMNS, base_doc, load, source_rows

pytestmark = pytest.mark.spark

ROWS = 3000


def test_auto_gives_each_slot_of_the_cluster_500_round_trips_per_batch(spark, tmp_path, api):
    execution = {"batch_size": "auto", "concurrency": 2}  # no partitions, no rate limit
    doc = base_doc(api.url, str(tmp_path), metrics={"enabled": False}, execution=execution)
    doc["execution"] = execution  # drop base_doc's fixed batch_size and partitions
    doc["auth"] = {"type": "none"}
    api.update_config({"auth": {"mode": "none"}})
    spark.createDataFrame(source_rows(ROWS), SOURCE_COLUMNS).write.parquet(doc["source"]["path"])

    summary = run_pipeline(spark, load(doc), run_id="auto")

    assert spark.sparkContext.defaultParallelism == 2
    # local[2]: 2 tasks x 2 in flight x 500 round trips = 2,000 rows a batch.
    assert summary.batches_total == 2, summary
    assert summary.rows_succeeded == ROWS and api.stats()["api_requests"] == ROWS
