"""`api-etl run` exit codes and summary file, as a user or a scheduler sees them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from .conftest import SOURCE_COLUMNS, base_doc, source_rows, write_yaml

pytestmark = pytest.mark.spark


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api_etl.cli", "run", *args],
                          capture_output=True, text=True, timeout=300)


def test_policy_not_met_exits_1_with_summary(spark, tmp_path, api):
    doc = base_doc(api.url, str(tmp_path), metrics={"enabled": False},
                   failure_policy={"max_failure_ratio": 0.0, "circuit_breaker": {"enabled": False}})
    doc["auth"] = {"type": "none"}
    api.update_config({"auth": {"mode": "none"}, "faults": {"error_ratio": 0.1, "error_statuses": [400]}})
    spark.createDataFrame(source_rows(300), SOURCE_COLUMNS).write.parquet(doc["source"]["path"])
    config = write_yaml(tmp_path / "p.yaml", doc)
    summary_path = tmp_path / "summary.json"

    proc = _run("--config", config, "--run-id", "cli", "--master", "local[2]",
                "--summary-json", str(summary_path), "--set", "execution.concurrency=4")
    assert proc.returncode == 1, proc.stderr[-3000:]
    summary = json.loads(summary_path.read_text())
    assert not summary["policy_met"] and 0 < summary["rows_failed"] < 300
    assert "failure ratio" in summary["stop_reason"]
    assert f"run cli (attempt 0) - failure policy NOT MET" in proc.stdout
    assert set(summary) >= {"rows_total", "rows_succeeded", "batches_total", "requests_sent", "retries",
                            "status_histogram", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms",
                            "duration_seconds", "requests_per_second"}


def test_config_error_exits_2_before_spark(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("source: {id_column: id}\nsink: {path: /x}\nendpoint: {base_url: ftp://x}\n")
    proc = _run("--config", str(bad))
    assert proc.returncode == 2
    assert "endpoint.base_url (line 3): String should match pattern" in proc.stderr
