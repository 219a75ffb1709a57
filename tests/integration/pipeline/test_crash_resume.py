"""Kill the driver mid-run, rerun the run id: every row lands once, nothing done is resent."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from .conftest import SOURCE_COLUMNS, base_doc, source_rows, write_yaml

pytestmark = pytest.mark.spark

ROWS, BATCH = 2000, 200
API_ETL = [sys.executable, "-m", "api_etl.cli"]


def _run_cli(config: str, run_id: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*API_ETL, "run", "--config", config, "--run-id", run_id, "--master", "local[2]", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
    )


def _checkpoints(root: pathlib.Path, run_id: str) -> list[pathlib.Path]:
    folder = root / "checkpoints" / f"run_id={run_id}" / "retry_round=0" / "batches"
    return sorted(folder.glob("batch_id=*.json")) if folder.exists() else []


def test_kill_driver_then_resume(spark, tmp_path, api):
    doc = base_doc(api.url, str(tmp_path), metrics={"enabled": False},
                   execution={"batch_size": BATCH, "partitions": 2, "max_requests_per_second": 400})
    doc["auth"] = {"type": "none"}
    api.update_config({"auth": {"mode": "none"}})
    spark.createDataFrame(source_rows(ROWS), SOURCE_COLUMNS).write.parquet(doc["source"]["path"])
    config = write_yaml(tmp_path / "pipeline.yaml", doc)

    proc = _run_cli(config, "crash")
    deadline = time.monotonic() + 180
    try:
        while len(_checkpoints(tmp_path, "crash")) < 3:
            assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
            assert time.monotonic() < deadline, "no checkpoint progress within 180 s"
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver, its JVM and Python workers
        proc.wait(timeout=30)
        proc.stdout.close()
    done = [int(p.stem.split("=")[1]) for p in _checkpoints(tmp_path, "crash")]
    assert 3 <= len(done) < ROWS // BATCH, "the kill must land mid-run"

    staged = spark.read.parquet(str(tmp_path / "checkpoints" / "run_id=crash" / "retry_round=0" / "staged"))
    done_ids = {r.tracking_id for r in staged.where(staged.batch_id.isin(done)).select("tracking_id").collect()}
    assert done_ids

    api.reset()
    resumed = _run_cli(config, "crash", "--summary-json", str(tmp_path / "summary.json"))
    output = resumed.communicate(timeout=300)[0].decode()
    assert resumed.returncode == 0, output[-3000:]

    seen = set(api.stats(include_ids=True)["ids"]["row_ids"])
    assert seen and not (seen & done_ids), "rows of checkpointed batches were sent again"
    sink = spark.read.parquet(str(tmp_path / "sink")).where("run_id = 'crash'")
    assert sink.count() == ROWS
    assert sink.select("row_id").distinct().count() == ROWS
    import json

    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["batches_skipped"] == len(done)
    assert summary["rows_skipped"] == len(done_ids)
