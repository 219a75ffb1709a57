"""`api-etl run`: load the config, build a local Spark session, run, report, exit."""

from __future__ import annotations

import logging
import pathlib
import sys

from api_etl.config import ConfigError, load_config
from api_etl.pipeline.errors import InputError



def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("py4j", "botocore", "urllib3", "api_etl.requests"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run_from_cli(args) -> int:
    from api_etl.cli import EXIT_CONFIG, EXIT_OK, EXIT_POLICY_FAILED
    from api_etl.pipeline.runner import run_pipeline
    from api_etl.pipeline.spark_session import build_local_spark, config_uses_s3

    configure_logging()
    try:
        loaded = load_config(args.config, overrides=args.set)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    cfg = loaded.config
    with_s3 = config_uses_s3(args.config, cfg.source.path, cfg.sink.path, cfg.checkpoint.path, cfg.sink.dead_letter_path)
    try:
        spark = build_local_spark(args.master, with_s3=with_s3)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        summary = run_pipeline(
            spark, loaded, run_id=args.run_id, retry_failed=args.retry_failed,
            force_config_change=args.force_config_change,
        )
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    finally:
        spark.stop()
    print(summary.render())
    if args.summary_json:
        pathlib.Path(args.summary_json).write_text(summary.to_json(), encoding="utf-8")
    return EXIT_OK if summary.policy_met else EXIT_POLICY_FAILED
