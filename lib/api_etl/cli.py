"""The ``api-etl`` command: ``validate`` a config, ``run`` a pipeline on local Spark.

Exit codes: 0 success, 1 the run did not meet its failure policy, 2 config or input error.
"""

from __future__ import annotations

import argparse
import sys

from api_etl.config import ConfigError, load_config

EXIT_OK, EXIT_POLICY_FAILED, EXIT_CONFIG = 0, 1, 2


def _validate(args: argparse.Namespace) -> int:
    try:
        loaded = load_config(args.config, overrides=args.set, resolve_secrets=not args.no_secrets)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_CONFIG
    cfg = loaded.config
    middleware = ",".join(m.type for m in cfg.middleware) or "none"
    print(
        f"OK {args.config}: {cfg.endpoint.method} {cfg.endpoint.base_url} auth={cfg.auth.type}"
        f" middleware={middleware} batch_size={cfg.execution.describe_batch_size()}"
        + (" (secrets not resolved)" if args.no_secrets else "")
    )
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from api_etl.pipeline.cli_run import run_from_cli

    return run_from_cli(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="api-etl", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    validate = sub.add_parser("validate", help="validate a config (local path or s3:// URI)")
    validate.add_argument("config")
    validate.add_argument("--no-secrets", action="store_true", help="do not resolve {{secret.*}}")
    validate.add_argument("--set", action="append", default=[], metavar="dotted.path=value")
    validate.set_defaults(func=_validate)

    run = sub.add_parser("run", help="run the pipeline on a local Spark session")
    run.add_argument("--config", required=True, help="local path or s3:// URI")
    run.add_argument("--run-id", help="resume this run id (default: a new id)")
    run.add_argument("--retry-failed", action="store_true", help="re-send rows whose latest outcome failed")
    run.add_argument("--set", action="append", default=[], metavar="dotted.path=value")
    run.add_argument("--summary-json", metavar="PATH", help="write the run summary as JSON")
    run.add_argument("--master", default=None, help="Spark master (default local[*])")
    run.add_argument("--force-config-change", action="store_true", help="resume although the config changed")
    run.set_defaults(func=_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
