"""Small pieces of localstack.job_runner and localstack.emulator that need no server."""

from __future__ import annotations

import json
import shlex

from localstack.emulator import spark_submit_args
from localstack.job_runner import parse_summary


def test_parse_summary_finds_the_indented_json_after_other_output():
    summary = {"run_id": "r1", "rows_total": 3, "status_histogram": {"201": 3}}
    stdout = "some line a library printed\n{not json\n" + json.dumps(summary, indent=2) + "\n"
    assert parse_summary(stdout) == summary
    assert parse_summary("") is None and parse_summary("no json here\n") is None


def test_spark_submit_args_trust_the_truststore_on_driver_and_executors(tmp_path):
    store = tmp_path / "moto-truststore.p12"
    args = shlex.split(spark_submit_args(store))
    assert args[-1] == "pyspark-shell"
    confs = dict(a.split("=", 1) for a in args[1:-1:2])
    assert set(confs) == {"spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions"}
    for value in confs.values():
        assert f"-Djavax.net.ssl.trustStore={store}" in value and "-Djavax.net.ssl.trustStoreType=PKCS12" in value
