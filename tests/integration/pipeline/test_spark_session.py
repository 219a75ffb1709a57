"""The local session's JVM really runs with the options build_local_spark chose."""

from __future__ import annotations

import pytest

from api_etl.pipeline.spark_session import LOCAL_JVM_OPTIONS, local_jvm_options

pytestmark = pytest.mark.spark


def test_the_session_jvm_runs_with_the_local_options(spark):
    runtime = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
    arguments = [str(a) for a in runtime.getInputArguments()]
    expected = local_jvm_options()
    if expected:
        for option in expected.split():
            assert option in arguments
    else:
        assert LOCAL_JVM_OPTIONS not in arguments
