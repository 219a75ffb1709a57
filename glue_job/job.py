"""AWS Glue entry point: parse job arguments, get a Spark session, run the pipeline.

On Glue:  --JOB_NAME (set by Glue) --config_uri s3://.../pipeline.yaml [--run_id ID]
          [--cluster_slots N] (set by the Terraform module: (workers - 1) x vCPUs per worker)
Locally:  API_ETL_LOCAL=1 python glue_job/job.py --JOB_NAME local --config_uri ...
          (or pass --local): a local SparkSession with S3A pointed at AWS_ENDPOINT_URL
          replaces GlueContext, so the same script runs against the emulator.

The run id defaults to the Glue job run id without its ``_attempt_N`` suffix, so Glue's own
retry of a failed run resumes that run's checkpoints instead of starting over.
Nothing else belongs here: the library does the work and never imports awsglue.
"""

from __future__ import annotations

import logging
import os
import re
import sys

log = logging.getLogger("api_etl.glue_job")


def _optional(argv: list[str], name: str) -> str | None:
    flag = f"--{name}"
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return None


def resolve_run_id(argv: list[str]) -> str | None:
    explicit = _optional(argv, "run_id")
    if explicit:
        return explicit
    job_run_id = _optional(argv, "JOB_RUN_ID")
    return re.sub(r"_attempt_\d+$", "", job_run_id) if job_run_id else None


def resolve_cluster_slots(argv: list[str]) -> int | None:
    """``--cluster_slots N`` (set by the Terraform module): the cluster's task slots."""
    raw = _optional(argv, "cluster_slots")
    if raw is None or raw == "":
        return None
    try:
        slots = int(raw)
    except ValueError:
        slots = 0
    if slots < 1:
        raise ValueError(f"--cluster_slots must be a whole number >= 1, got {raw!r}")
    return slots


def _bad_input(exc: Exception, local: bool) -> int:
    """A bad argument, config or input: exit 2 locally; on Glue, fail the run with its message."""
    log.error("%s", exc)
    if local:
        return 2
    raise SystemExit(f"api-etl: {exc}") from None


def main(argv: list[str]) -> int:
    from awsglue.utils import getResolvedOptions

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    local = os.environ.get("API_ETL_LOCAL") == "1" or "--local" in argv
    argv = [a for a in argv if a != "--local"]
    args = getResolvedOptions(argv, ["JOB_NAME", "config_uri"])
    run_id = resolve_run_id(argv)
    try:
        cluster_slots = resolve_cluster_slots(argv)
    except ValueError as exc:
        return _bad_input(exc, local)

    from api_etl.config import ConfigError, load_config
    from api_etl.pipeline.errors import InputError
    from api_etl.pipeline.runner import run_pipeline

    # The config is loaded before Spark starts: a config error fails in a second, not after
    # a cluster start-up.
    try:
        loaded = load_config(args["config_uri"])
    except ConfigError as exc:
        return _bad_input(exc, local)

    job = None
    if local:
        from api_etl.pipeline.spark_session import build_local_spark

        spark = build_local_spark(os.environ.get("API_ETL_SPARK_MASTER"), args["JOB_NAME"], with_s3=True)
    else:  # pragma: no cover - needs Glue's JVM classes
        from awsglue.context import GlueContext
        from awsglue.job import Job
        from pyspark.context import SparkContext

        glue_context = GlueContext(SparkContext.getOrCreate())
        spark = glue_context.spark_session
        job = Job(glue_context)
        job.init(args["JOB_NAME"], args)
    try:
        summary = run_pipeline(spark, loaded, run_id=run_id, job_name=args["JOB_NAME"],
                               cluster_slots=cluster_slots)
    except InputError as exc:
        if local:
            spark.stop()
        return _bad_input(exc, local)
    log.info("run summary\n%s", summary.render())
    print(summary.to_json())
    if job is not None:  # pragma: no cover
        job.commit()
    if local:
        spark.stop()
    if not summary.policy_met:
        message = f"api-etl run {summary.run_id} did not meet its failure policy: {summary.stop_reason}"
        if local:
            log.error(message)
            return 1
        raise RuntimeError(message)  # pragma: no cover - fails the Glue job run
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
