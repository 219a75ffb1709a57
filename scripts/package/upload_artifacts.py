"""Upload the Glue entry script, the library wheel and (optionally) a pipeline config.

    make package                                   # builds dist/glue_api_etl-<version>-py3-none-any.whl
    terraform -chdir=terraform/examples/complete output -json > tf-outputs.json
    python scripts/package/upload_artifacts.py --tf-outputs tf-outputs.json [--config my-pipeline.yaml]

or, without Terraform outputs, by flags:

    python scripts/package/upload_artifacts.py --bucket <name>-artifacts-<account> [--kms-key-arn ARN]

Where things go (the Terraform root's keys): ``glue/job.py``, ``wheels/<wheel file>``,
``configs/pipeline.yaml``. With ``--tf-outputs`` the bucket, the KMS key and the keys come from
the outputs (``artifacts_bucket_name``, ``kms_key_arn``, ``names``, ``wheel_uri``); flags given
as well override them. Objects are written with SSE-KMS under that key (bucket keys on) when a
key is known, else under the bucket's default encryption. Prints one S3 URI per artifact (or
JSON with ``--json``). boto3 decides the account and endpoint as usual (``AWS_PROFILE``,
``AWS_ENDPOINT_URL`` for an emulator, or ``--endpoint``).

A config is validated with the library before upload (secrets are not resolved) unless
``--no-validate``; a wheel whose file name differs from the one the Glue job installs
(``wheel_uri`` in the outputs) is refused, because the job would keep installing the old one.
Exit codes: 0 uploaded, 2 bad input (named in the message), 1 an AWS call failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SCRIPT = REPO_ROOT / "glue_job" / "job.py"
DEFAULT_DIST = REPO_ROOT / "dist"
SCRIPT_KEY, WHEEL_PREFIX, CONFIG_KEY = "glue/job.py", "wheels/", "configs/pipeline.yaml"


class UploadError(Exception):
    """Bad input: the message names the file, flag or output that is wrong."""


@dataclass
class Target:
    bucket: str
    kms_key_arn: str | None = None
    script_key: str = SCRIPT_KEY
    wheel_prefix: str = WHEEL_PREFIX
    config_key: str = CONFIG_KEY
    expected_wheel_key: str | None = None  # what the Glue job installs, from the outputs


@dataclass
class Upload:
    kind: str
    path: Path
    key: str
    content_type: str


@dataclass
class Result:
    bucket: str
    uris: dict[str, str] = field(default_factory=dict)
    version_ids: dict[str, str | None] = field(default_factory=dict)


def _output_value(outputs: dict, name: str, path: Path):
    entry = outputs.get(name)
    if entry is None:
        return None
    if isinstance(entry, dict) and "value" in entry:  # `terraform output -json` shape
        return entry["value"]
    return entry  # a plain {"name": value} file is accepted too


def target_from_outputs(path: Path) -> Target:
    try:
        outputs = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UploadError(f"--tf-outputs {path}: file not found (write it with `terraform output -json > {path}`)") from None
    except ValueError as exc:
        raise UploadError(f"--tf-outputs {path}: not JSON ({exc})") from None
    if not isinstance(outputs, dict):
        raise UploadError(f"--tf-outputs {path}: expected the JSON object `terraform output -json` prints")
    bucket = _output_value(outputs, "artifacts_bucket_name", path)
    if not bucket:
        raise UploadError(
            f"--tf-outputs {path}: no `artifacts_bucket_name` output (is it the output of terraform/examples/complete,"
            " after `terraform apply`?)"
        )
    names = _output_value(outputs, "names", path) or {}
    target = Target(bucket=bucket, kms_key_arn=_output_value(outputs, "kms_key_arn", path))
    target.script_key = names.get("script_key", SCRIPT_KEY)
    target.config_key = names.get("config_key", CONFIG_KEY)
    wheel_key = names.get("wheel_key")
    wheel_uri = _output_value(outputs, "wheel_uri", path)
    if wheel_uri and wheel_uri.startswith(f"s3://{bucket}/"):
        wheel_key = wheel_uri[len(f"s3://{bucket}/"):]
    if wheel_key:
        target.expected_wheel_key = wheel_key
        target.wheel_prefix = wheel_key.rsplit("/", 1)[0] + "/" if "/" in wheel_key else ""
    return target


def find_wheel(dist: Path) -> Path:
    wheels = sorted(dist.glob("*.whl"))
    if not wheels:
        raise UploadError(f"no wheel in {dist}: run `make package` first (or pass --wheel)")
    if len(wheels) > 1:
        raise UploadError(f"several wheels in {dist} ({', '.join(w.name for w in wheels)}): pass --wheel")
    return wheels[0]


def validate_config(path: Path) -> None:
    try:
        from api_etl.config import ConfigError, load_config
    except ImportError:
        raise UploadError("cannot validate --config: the api_etl package is not importable (use the project venv, or --no-validate)") from None
    try:
        load_config(str(path), resolve_secrets=False)
    except ConfigError as exc:
        raise UploadError(f"--config {path} is not a valid pipeline config (or pass --no-validate):\n{exc}") from None


def plan_uploads(target: Target, script: Path, wheel: Path, config: Path | None) -> list[Upload]:
    for flag, path in (("--script", script), ("--wheel", wheel), ("--config", config)):
        if path is not None and not path.is_file():
            raise UploadError(f"{flag} {path}: file not found")
    if not wheel.name.endswith(".whl"):
        raise UploadError(f"--wheel {wheel}: not a .whl file")
    wheel_key = target.wheel_prefix + wheel.name
    if target.expected_wheel_key and wheel_key != target.expected_wheel_key:
        raise UploadError(
            f"the wheel {wheel.name} would go to {wheel_key}, but the Glue job installs {target.expected_wheel_key}"
            f" (Terraform's wheel_file_name); run `terraform apply -var wheel_file_name={wheel.name}` or upload"
            " the wheel with that name"
        )
    uploads = [
        Upload("script", script, target.script_key, "text/x-python"),
        Upload("wheel", wheel, wheel_key, "application/zip"),
    ]
    if config is not None:
        ctype = "application/json" if target.config_key.endswith(".json") else "application/yaml"
        uploads.append(Upload("config", config, target.config_key, ctype))
    return uploads


def upload(target: Target, uploads: list[Upload], s3=None) -> Result:
    if s3 is None:
        import boto3

        s3 = boto3.client("s3")
    result = Result(bucket=target.bucket)
    for item in uploads:
        extra = {"ContentType": item.content_type}
        if target.kms_key_arn:
            extra.update(ServerSideEncryption="aws:kms", SSEKMSKeyId=target.kms_key_arn, BucketKeyEnabled=True)
        with item.path.open("rb") as body:
            response = s3.put_object(Bucket=target.bucket, Key=item.key, Body=body, **extra)
        result.uris[item.kind] = f"s3://{target.bucket}/{item.key}"
        result.version_ids[item.kind] = response.get("VersionId")
    return result


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="upload_artifacts.py",
        description="Upload glue_job/job.py, the wheel and a config to the artifacts bucket.",
    )
    p.add_argument("--tf-outputs", type=Path, help="`terraform output -json` of terraform/examples/complete, saved to a file")
    p.add_argument("--bucket", help="artifacts bucket (overrides the outputs)")
    p.add_argument("--kms-key-arn", help="KMS key for SSE-KMS (overrides the outputs; default: the bucket's default encryption)")
    p.add_argument("--script", type=Path, default=DEFAULT_SCRIPT, help="Glue entry script (default glue_job/job.py)")
    p.add_argument("--wheel", type=Path, help="library wheel (default: the one wheel in dist/)")
    p.add_argument("--dist", type=Path, default=DEFAULT_DIST, help="where `make package` puts the wheel")
    p.add_argument("--config", type=Path, help=f"pipeline config to upload to {CONFIG_KEY} (default: none)")
    p.add_argument("--no-validate", action="store_true", help="upload --config without validating it")
    p.add_argument("--script-key", help=f"default {SCRIPT_KEY}")
    p.add_argument("--wheel-prefix", help=f"default {WHEEL_PREFIX}")
    p.add_argument("--config-key", help=f"default {CONFIG_KEY}")
    p.add_argument("--endpoint", help="S3 endpoint URL (an emulator); default: boto3's (AWS_ENDPOINT_URL)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    ns = build_parser().parse_args(argv)
    try:
        if ns.tf_outputs is not None:
            target = target_from_outputs(ns.tf_outputs)
        elif ns.bucket:
            target = Target(bucket=ns.bucket)
        else:
            raise UploadError("name the artifacts bucket: --tf-outputs FILE (terraform output -json) or --bucket NAME")
        if ns.bucket:
            target.bucket = ns.bucket
        if ns.kms_key_arn:
            target.kms_key_arn = ns.kms_key_arn
        if ns.script_key:
            target.script_key = ns.script_key
        if ns.wheel_prefix is not None:
            prefix = ns.wheel_prefix
            target.wheel_prefix = prefix + "/" if prefix and not prefix.endswith("/") else prefix
            target.expected_wheel_key = None  # an explicit prefix is the caller's decision
        if ns.config_key:
            target.config_key = ns.config_key
        wheel = ns.wheel or find_wheel(ns.dist)
        uploads = plan_uploads(target, ns.script, wheel, ns.config)
        if ns.config is not None and not ns.no_validate:
            validate_config(ns.config)
    except UploadError as exc:
        print(f"upload_artifacts: {exc}", file=sys.stderr)
        return 2
    try:
        import boto3

        s3 = boto3.client("s3", endpoint_url=ns.endpoint) if ns.endpoint else boto3.client("s3")
        result = upload(target, uploads, s3)
    except Exception as exc:  # noqa: BLE001 - botocore errors: say which call and bucket
        print(f"upload_artifacts: uploading to s3://{target.bucket} failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    if ns.json:
        print(json.dumps({"bucket": result.bucket, "uris": result.uris, "version_ids": result.version_ids}, indent=2))
    else:
        for kind, uri in result.uris.items():
            print(f"{kind:7} {uri}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
