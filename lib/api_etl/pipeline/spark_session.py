"""A local SparkSession for `api-etl run`, the local Glue entry and tests.

On Glue the session comes from GlueContext; locally we build one. When the config names
``s3://`` paths, hadoop-aws and its SDK bundle are added and S3A is pointed at the endpoint
in AWS_ENDPOINT_URL (the emulator) with path-style access.
"""

from __future__ import annotations

import os
import pathlib
import sys

S3_JARS = ("hadoop-aws-3.3.1.jar", "aws-java-sdk-bundle-1.11.901.jar")

# A local run is short and shares a laptop's few cores with its Python workers: C2's
# compiler threads burned ~11 CPU s in a 50,000-row run's first 20 s, while C1 alone
# compiles in a fraction of that and its code costs Spark 5-15% more CPU per record (the
# bench's "Spark alone" job; docs/performance.md), so even a 1,000,000-row run gains.
# Glue builds its own JVMs; this is the local session only.
LOCAL_JVM_OPTIONS = "-XX:TieredStopAtLevel=1"
JVM_OPTIONS_ENV = "API_ETL_LOCAL_JVM_OPTIONS"
_JVM_OPTION_KEYS = ("spark.driver.extraJavaOptions", "spark.executor.extraJavaOptions")


def default_jars_dir() -> pathlib.Path:
    env = os.environ.get("API_ETL_JARS_DIR")
    if env:
        return pathlib.Path(env)
    cache = os.environ.get("XDG_CACHE_HOME") or str(pathlib.Path.home() / ".cache")
    return pathlib.Path(cache) / "api-etl" / "jars"


def s3_jars(jars_dir: pathlib.Path | None = None) -> list[str]:
    jars_dir = jars_dir or default_jars_dir()
    paths = [jars_dir / name for name in S3_JARS]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise RuntimeError(
            f"s3:// paths need {missing} in {jars_dir}; run `make jars`"
            " (scripts/dev/fetch_s3_jars.sh) or set API_ETL_JARS_DIR"
        )
    return [str(p) for p in paths]


def local_jvm_options() -> str:
    """The JVM options of a local session: ``API_ETL_LOCAL_JVM_OPTIONS`` when set (empty:
    none, the JVM's own tiered JIT), else :data:`LOCAL_JVM_OPTIONS`."""
    return os.environ.get(JVM_OPTIONS_ENV, LOCAL_JVM_OPTIONS).strip()


def build_local_spark(
    master: str | None = None,
    app_name: str = "api-etl",
    *,
    with_s3: bool = False,
    s3_endpoint: str | None = None,
    extra_conf: dict[str, str] | None = None,
):
    from pyspark.sql import SparkSession

    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # Executors' Python workers must run the same interpreter (and so the same packages).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.master(master or os.environ.get("API_ETL_SPARK_MASTER", "local[*]"))
        .appName(app_name)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", os.environ.get("API_ETL_SHUFFLE_PARTITIONS", "8"))
        .config("spark.python.worker.reuse", "true")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
    )
    if with_s3:
        endpoint = s3_endpoint or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        conf = {
            "spark.jars": ",".join(s3_jars()),
            "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
            "spark.hadoop.fs.s3a.path.style.access": "true",
            "spark.hadoop.fs.s3a.aws.credentials.provider": "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
            "spark.hadoop.fs.s3a.access.key": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
            "spark.hadoop.fs.s3a.secret.key": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
            "spark.hadoop.fs.s3a.change.detection.mode": "none",
            "spark.hadoop.fs.s3a.committer.magic.enabled": "false",
        }
        if endpoint:
            conf["spark.hadoop.fs.s3a.endpoint"] = endpoint
            conf["spark.hadoop.fs.s3a.connection.ssl.enabled"] = str(endpoint.startswith("https")).lower()
        for key, value in conf.items():
            builder = builder.config(key, value)
    jvm_options = local_jvm_options()
    for key in _JVM_OPTION_KEYS:
        # Executors of a local-cluster master are JVMs of their own; extra_conf wins.
        if jvm_options and key not in (extra_conf or {}):
            builder = builder.config(key, jvm_options)
    for key, value in (extra_conf or {}).items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def config_uses_s3(*uris: str | None) -> bool:
    return any(u and u.startswith(("s3://", "s3a://")) for u in uris)
