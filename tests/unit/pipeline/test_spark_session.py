"""The local session's JVM options (no Spark started: the builder is inspected)."""

from __future__ import annotations

import pytest

from api_etl.pipeline import spark_session
from api_etl.pipeline.spark_session import JVM_OPTIONS_ENV, LOCAL_JVM_OPTIONS, local_jvm_options


class _RecordingBuilder:
    """Stands in for ``SparkSession.builder``: records every config, starts nothing."""

    def __init__(self) -> None:
        self.conf: dict[str, str] = {}

    def master(self, _value):
        return self

    def appName(self, _value):  # noqa: N802 - pyspark's name
        return self

    def config(self, key, value):
        self.conf[key] = value
        return self

    def getOrCreate(self):  # noqa: N802 - pyspark's name
        return self.conf


@pytest.fixture
def builder(monkeypatch):
    from pyspark.sql import SparkSession

    recording = _RecordingBuilder()
    monkeypatch.setattr(SparkSession, "builder", recording)
    return recording


def test_default_options_run_the_jvm_with_c1_only(monkeypatch):
    monkeypatch.delenv(JVM_OPTIONS_ENV, raising=False)
    assert local_jvm_options() == LOCAL_JVM_OPTIONS == "-XX:TieredStopAtLevel=1"


def test_environment_replaces_the_options_and_empty_means_none(monkeypatch):
    monkeypatch.setenv(JVM_OPTIONS_ENV, " -XX:+UseSerialGC ")
    assert local_jvm_options() == "-XX:+UseSerialGC"
    monkeypatch.setenv(JVM_OPTIONS_ENV, "")
    assert local_jvm_options() == ""


def test_driver_and_executor_jvms_get_the_options(monkeypatch, builder):
    monkeypatch.delenv(JVM_OPTIONS_ENV, raising=False)
    conf = spark_session.build_local_spark("local[2]")
    assert conf["spark.driver.extraJavaOptions"] == LOCAL_JVM_OPTIONS
    assert conf["spark.executor.extraJavaOptions"] == LOCAL_JVM_OPTIONS


def test_no_options_when_the_environment_empties_them(monkeypatch, builder):
    monkeypatch.setenv(JVM_OPTIONS_ENV, "")
    conf = spark_session.build_local_spark("local[2]")
    assert "spark.driver.extraJavaOptions" not in conf
    assert "spark.executor.extraJavaOptions" not in conf


def test_extra_conf_wins_over_the_default_options(monkeypatch, builder):
    monkeypatch.delenv(JVM_OPTIONS_ENV, raising=False)
    conf = spark_session.build_local_spark(
        "local[2]", extra_conf={"spark.driver.extraJavaOptions": "-Xss4m"}
    )
    assert conf["spark.driver.extraJavaOptions"] == "-Xss4m"
    assert conf["spark.executor.extraJavaOptions"] == LOCAL_JVM_OPTIONS
