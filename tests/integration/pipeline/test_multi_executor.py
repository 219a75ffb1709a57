"""The end-to-end run on a real multi-executor Spark (two executor JVMs), as on Glue.

Proves what local[N] cannot: the plan pickles to other JVMs' Python workers, each worker
process builds its own session and token once, and the rate split holds across executors.
"""

from __future__ import annotations

import json
import subprocess
import sys

import boto3
import pytest
from pyspark.sql import functions as F

from .conftest import SOURCE_COLUMNS, base_doc, create_secret, source_rows, write_yaml

pytestmark = [pytest.mark.spark, pytest.mark.cluster]

ROWS, LIMIT = 1500, 200


def test_end_to_end_on_local_cluster(spark, aws, api, tmp_path):
    boto3.client("s3").create_bucket(Bucket="cluster")
    create_secret()
    spark.createDataFrame(source_rows(ROWS), SOURCE_COLUMNS).write.parquet("s3://cluster/source")
    doc = base_doc(api.url, "s3://cluster", execution={"batch_size": 500, "partitions": 2,
                                                       "max_requests_per_second": LIMIT})
    config = write_yaml(tmp_path / "pipeline.yaml", doc)

    proc = subprocess.run(
        [sys.executable, "-m", "api_etl.cli", "run", "--config", config, "--run-id", "cluster",
         "--master", "local-cluster[2,1,1024]", "--summary-json", str(tmp_path / "s.json")],
        capture_output=True, text=True, timeout=420,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["rows_succeeded"] == ROWS and summary["policy_met"]

    sink = spark.read.parquet("s3://cluster/sink")
    assert sink.count() == ROWS and sink.select("row_id").distinct().count() == ROWS
    workers = sink.select(F.col("metadata")["worker_pid"].alias("pid"), "worker_host").distinct().collect()
    assert len(workers) >= 2, "rows must come from Python workers of both executors"

    stats = api.stats()
    # One OAuth2 token per worker process, reused across its partitions and batches.
    assert 1 <= stats["token_requests"] <= len(workers)
    assert stats["max_1s_window"] <= LIMIT * 1.02
    assert stats["idempotency"]["duplicates"] == 0
