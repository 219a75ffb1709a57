"""Create, idempotently, what the Glue job reads, with the Terraform root's names and settings.

    python -m localstack.provision [--endpoint URL] [--name api-etl-demo]
        [--config localstack/configs/demo.yaml.tmpl] [--rows 20000] [--seed 0]

Against the emulator only: the endpoint (``--endpoint`` or ``AWS_ENDPOINT_URL``) must be a
loopback address (or LocalStack's ``*.localhost.localstack.cloud``); anything else is refused,
so this never touches a real account. The account id comes from STS, as in Terraform.

What it creates (names from :mod:`localstack.naming`, settings from ``terraform/modules``):

- KMS: a symmetric key with rotation (365 days) and ``alias/<name>``.
- S3: ``<name>-{data,artifacts,access-logs}-<account>``: SSE-KMS default encryption with that
  key and bucket keys, versioning, public-access block, BucketOwnerEnforced, the lifecycle
  rules, server access logging of data + artifacts into access-logs (whose policy allows the
  logging service). NOT the TLS-only Deny policy: moto enforces Deny statements but ignores
  their conditions, so it would deny every request.
- Secrets Manager: ``<name>/api-credentials`` encrypted with the key; its value is a JSON object
  (``client_id``, ``client_secret``, ``username``, ``password``; the mock API's by default).
- Glue: the ``<name with _>_db`` database. Logs: ``/aws-glue/jobs/<name>`` (+ ``/output``,
  ``/error``), KMS-encrypted, 365-day retention.
- The pipeline config at ``s3://<artifacts>/configs/pipeline.yaml`` (a ``${var}`` template
  rendered with the stack's names, as Terraform renders ``pipeline.yaml.tftpl``), and, with
  ``--rows N``, N deterministic input rows (datagen) under ``s3://<data>/source/``.

Running it again changes nothing that is already right: existing resources are reused,
settings are re-applied to the same values, the secret and the config are written only when
their content differs, and the input rows are regenerated identically (datagen is deterministic).
Not mirrored (not read by the job, or not emulated): the key policy, IAM role, Glue job and
triggers, security configuration, SNS topic, alarms and dashboard.
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import json
import os
import string
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlparse

from localstack.naming import DATA_PREFIXES, DEFAULT_NAME, StackNames

REPO_ROOT = Path(__file__).resolve().parent.parent
DEMO_CONFIG_TEMPLATE = Path(__file__).resolve().parent / "configs" / "demo.yaml.tmpl"

# The mock API's default OAuth2 client and password-grant user (scripts/mock_api/README.md).
DEMO_CREDENTIALS = {
    "client_id": "etl-client",
    "client_secret": "etl-secret",
    "username": "etl-user",
    "password": "etl-password",
}

# Settings of terraform/modules (defaults of the root example).
KMS_DESCRIPTION = "Encrypts the api-etl buckets, secret, logs, job bookmarks and alert topic."
KMS_ROTATION_DAYS = 365
SECRET_DESCRIPTION = (
    "Credentials of the external API called by the api-etl Glue job. The value is set out of band, never by Terraform."
)
LOG_RETENTION_DAYS = 365
LIFECYCLE = {  # bucket key -> (noncurrent_version_expiration_days, expiration_days)
    "data": (30, None),
    "artifacts": (90, None),
    "access_logs": (30, 365),
}
ABORT_MULTIPART_DAYS = 7


class ProvisionError(RuntimeError):
    pass


@dataclasses.dataclass
class ProvisionResult:
    names: StackNames
    endpoint: str
    key_arn: str = ""
    secret_arn: str = ""
    config_uri: str | None = None
    source: dict | None = None
    created: list[str] = dataclasses.field(default_factory=list)
    updated: list[str] = dataclasses.field(default_factory=list)
    unchanged: list[str] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["names"] = self.names.as_outputs()
        return out


# -- guard --------------------------------------------------------------------------------------

def check_emulator_endpoint(endpoint: str | None) -> str:
    """The endpoint, if it is an emulator on this machine; raise otherwise."""
    if not endpoint:
        raise ProvisionError(
            "no emulator endpoint: pass --endpoint http://127.0.0.1:PORT or set AWS_ENDPOINT_URL"
            " (start one with `python -m localstack.emulator start`); provisioning never targets real AWS"
        )
    host = urlparse(endpoint).hostname or ""
    local = host in ("localhost", "localhost.localstack.cloud") or host.endswith(".localhost.localstack.cloud")
    if not local:
        try:
            local = ipaddress.ip_address(host).is_loopback
        except ValueError:
            local = False
    if not local:
        raise ProvisionError(
            f"endpoint {endpoint!r} is not on this machine (loopback or *.localhost.localstack.cloud);"
            " provisioning only targets a local emulator"
        )
    return endpoint


# -- config template ------------------------------------------------------------------------------

def render_config(template: Path | str, names: StackNames, extra: Mapping[str, str] | None = None) -> str:
    """``${var}`` substitution with the stack's names (the variables pipeline.yaml.tftpl takes)."""
    path = Path(template)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProvisionError(f"cannot read the config template {path}: {exc.strerror}") from None
    values = {**names.template_values(), "glue_database": names.glue_database, **(extra or {})}
    try:
        return string.Template(text).substitute(values)
    except KeyError as exc:
        raise ProvisionError(
            f"config template {path} uses ${{{exc.args[0]}}}, which is not one of {sorted(values)}"
        ) from None
    except ValueError as exc:
        raise ProvisionError(f"config template {path}: {exc} (write a literal $ as $$)") from None


# -- provisioning ----------------------------------------------------------------------------------

class _Provisioner:
    def __init__(self, session, endpoint: str, names: StackNames, result: ProvisionResult):
        self.names = names
        self.result = result
        kw = {"endpoint_url": endpoint, "region_name": names.region}
        self.kms = session.client("kms", **kw)
        self.s3 = session.client("s3", **kw)
        self.sm = session.client("secretsmanager", **kw)
        self.glue = session.client("glue", **kw)
        self.logs = session.client("logs", **kw)

    def _note(self, kind: str, what: str) -> None:
        getattr(self.result, kind).append(what)

    # KMS ---------------------------------------------------------------------------------------
    def kms_key(self) -> str:
        alias = self.names.kms_alias
        created = False
        try:
            meta = self.kms.describe_key(KeyId=alias)["KeyMetadata"]
        except self.kms.exceptions.NotFoundException:
            meta = self.kms.create_key(
                Description=KMS_DESCRIPTION, KeyUsage="ENCRYPT_DECRYPT", KeySpec="SYMMETRIC_DEFAULT",
                Tags=[{"TagKey": "Project", "TagValue": "api-etl"}, {"TagKey": "ManagedBy", "TagValue": "localstack/provision"}],
            )["KeyMetadata"]
            self.kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
            created = True
        rotating = self.kms.get_key_rotation_status(KeyId=meta["KeyId"])["KeyRotationEnabled"]
        if not rotating:
            self.kms.enable_key_rotation(KeyId=meta["KeyId"], RotationPeriodInDays=KMS_ROTATION_DAYS)
        if created:
            self._note("created", f"kms key {alias} (rotation on)")
        else:
            self._note("unchanged" if rotating else "updated", f"kms key {alias}" + ("" if rotating else ": rotation enabled"))
        self.result.key_arn = meta["Arn"]
        return meta["Arn"]

    # S3 ----------------------------------------------------------------------------------------
    def bucket(self, key: str, name: str, key_arn: str) -> None:
        try:
            self.s3.head_bucket(Bucket=name)
            self._note("unchanged", f"bucket {name}")
        except self.s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
                raise
            args = {"Bucket": name}
            if self.names.region != "us-east-1":
                args["CreateBucketConfiguration"] = {"LocationConstraint": self.names.region}
            self.s3.create_bucket(**args)
            self._note("created", f"bucket {name}")
        # Settings are PUTs of the same values: re-applying them is a no-op when they are right.
        self.s3.put_bucket_ownership_controls(
            Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
        self.s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
        self.s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
            "BucketKeyEnabled": True,
        }]})
        self.s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        noncurrent, expiration = LIFECYCLE[key]
        versions_rule = {"ID": "versions-and-transitions", "Status": "Enabled", "Filter": {},
                         "NoncurrentVersionExpiration": {"NoncurrentDays": noncurrent}}
        if expiration is not None:
            versions_rule["Expiration"] = {"Days": expiration}
        self.s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration={"Rules": [
            {"ID": "abort-incomplete-multipart-uploads", "Status": "Enabled", "Filter": {},
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": ABORT_MULTIPART_DAYS}},
            versions_rule,
        ]})

    def access_logging(self) -> None:
        logs_bucket = self.names.access_logs_bucket
        sources = [self.names.data_bucket, self.names.artifacts_bucket]
        # The Allow half of the Terraform access-logs bucket policy (the TLS-only Deny is left out).
        policy = {"Version": "2012-10-17", "Statement": [{
            "Sid": "AllowS3ServerAccessLogDelivery", "Effect": "Allow",
            "Principal": {"Service": "logging.s3.amazonaws.com"},
            "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{logs_bucket}/*",
            "Condition": {"ArnLike": {"aws:SourceArn": [f"arn:aws:s3:::{b}" for b in sources]},
                          "StringEquals": {"aws:SourceAccount": self.names.account_id}},
        }]}
        self.s3.put_bucket_policy(Bucket=logs_bucket, Policy=json.dumps(policy))
        for bucket in sources:
            self.s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={
                "LoggingEnabled": {"TargetBucket": logs_bucket, "TargetPrefix": f"{bucket}/"}})

    # Secrets Manager -----------------------------------------------------------------------------
    def secret(self, key_arn: str, credentials: Mapping[str, str]) -> None:
        name, value = self.names.secret, json.dumps(dict(credentials), sort_keys=True)
        try:
            desc = self.sm.describe_secret(SecretId=name)
        except self.sm.exceptions.ResourceNotFoundException:
            arn = self.sm.create_secret(Name=name, Description=SECRET_DESCRIPTION, KmsKeyId=key_arn, SecretString=value)["ARN"]
            self._note("created", f"secret {name}")
            self.result.secret_arn = arn
            return
        self.result.secret_arn = desc["ARN"]
        changes = []
        if desc.get("KmsKeyId") != key_arn:
            self.sm.update_secret(SecretId=name, KmsKeyId=key_arn)
            changes.append("kms key")
        try:
            current = self.sm.get_secret_value(SecretId=name).get("SecretString")
        except self.sm.exceptions.ResourceNotFoundException:  # a secret without a value yet
            current = None
        if current is None or json.loads(current) != dict(credentials):
            self.sm.put_secret_value(SecretId=name, SecretString=value)
            changes.append("value")
        self._note("updated" if changes else "unchanged", f"secret {name}" + (f" ({', '.join(changes)})" if changes else ""))

    # Glue + Logs -------------------------------------------------------------------------------
    def glue_database(self) -> None:
        name = self.names.glue_database
        try:
            try:
                self.glue.get_database(Name=name)
                self._note("unchanged", f"glue database {name}")
            except self.glue.exceptions.EntityNotFoundException:
                self.glue.create_database(DatabaseInput={
                    "Name": name, "Description": f"Tables written by the {self.names.job} Glue job (bronze sink)."})
                self._note("created", f"glue database {name}")
        except self.glue.exceptions.ClientError as exc:
            # LocalStack's free edition has no Glue API; the job needs the database only for sink.table.
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("EntityNotFoundException", "AlreadyExistsException"):
                raise
            self._note("skipped", f"glue database {name} (the emulator has no Glue API: {code or exc})")

    def log_groups(self, key_arn: str) -> None:
        for name in self.names.log_groups:
            found = [g for g in self.logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] if g["logGroupName"] == name]
            if not found:
                self.logs.create_log_group(logGroupName=name, kmsKeyId=key_arn)
                self._note("created", f"log group {name}")
            elif found[0].get("kmsKeyId") != key_arn:
                # moto has no AssociateKmsKey: recreate the (empty, local) group with the key.
                self.logs.delete_log_group(logGroupName=name)
                self.logs.create_log_group(logGroupName=name, kmsKeyId=key_arn)
                self._note("updated", f"log group {name} (kms key)")
            else:
                self._note("unchanged", f"log group {name}")
            self.logs.put_retention_policy(logGroupName=name, retentionInDays=LOG_RETENTION_DAYS)

    # Objects -------------------------------------------------------------------------------------
    def put_if_changed(self, bucket: str, key: str, body: bytes, content_type: str, key_arn: str) -> bool:
        try:
            current = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            current = None
        if current == body:
            self._note("unchanged", f"s3://{bucket}/{key}")
            return False
        self.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type,
                           ServerSideEncryption="aws:kms", SSEKMSKeyId=key_arn, BucketKeyEnabled=True)
        self._note("created" if current is None else "updated", f"s3://{bucket}/{key}")
        return True


def provision(
    name: str = DEFAULT_NAME,
    *,
    endpoint: str | None = None,
    credentials: Mapping[str, str] | None = None,
    config_text: str | None = None,
    config_template: Path | str | None = None,
    rows: int = 0,
    seed: int = 0,
    files: int = 1,
    session=None,
) -> ProvisionResult:
    """Provision the stack called ``name`` on the emulator at ``endpoint`` (default: AWS_ENDPOINT_URL).

    ``config_text`` (or ``config_template``, rendered with the stack's names) is uploaded to
    the config key; ``rows`` > 0 writes that many datagen rows under ``source/``.
    """
    import boto3

    started = time.monotonic()
    endpoint = check_emulator_endpoint(endpoint or os.environ.get("AWS_ENDPOINT_URL"))
    session = session or boto3.session.Session()
    region = session.region_name or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    if config_text is not None and config_template is not None:
        raise ProvisionError("give config_text or config_template, not both")
    try:
        account = session.client("sts", endpoint_url=endpoint, region_name=region).get_caller_identity()["Account"]
    except Exception as exc:  # noqa: BLE001 - a clear message beats a botocore traceback
        raise ProvisionError(f"cannot reach the emulator at {endpoint} (STS GetCallerIdentity: {type(exc).__name__}: {exc})") from None
    names = StackNames(name=name, account_id=account, region=region)
    result = ProvisionResult(names=names, endpoint=endpoint)
    p = _Provisioner(session, endpoint, names, result)

    key_arn = p.kms_key()
    for key, bucket in names.buckets.items():
        p.bucket(key, bucket, key_arn)
    p.access_logging()
    p.secret(key_arn, credentials or DEMO_CREDENTIALS)
    p.glue_database()
    p.log_groups(key_arn)
    if config_template is not None:
        config_text = render_config(config_template, names)
    if config_text is not None:
        p.put_if_changed(names.artifacts_bucket, names.config_key, config_text.encode("utf-8"), "application/yaml", key_arn)
        result.config_uri = names.config_uri
    if rows > 0:
        result.source = write_source_rows(names, rows, seed=seed, files=files, endpoint=endpoint)
    result.seconds = round(time.monotonic() - started, 3)
    return result


def write_source_rows(names: StackNames, rows: int, *, seed: int = 0, files: int = 1, endpoint: str | None = None) -> dict:
    """``rows`` deterministic rows (scripts/datagen) as parquet under ``s3://<data>/source/``."""
    scripts = str(REPO_ROOT / "scripts")
    if scripts not in sys.path:
        sys.path.insert(0, scripts)
    from datagen import write_dataset

    saved = os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        os.environ["AWS_ENDPOINT_URL"] = endpoint  # datagen's boto3 client reads it
    try:
        return write_dataset(names.data_uri("source"), rows, "parquet", seed=seed, files=files).to_dict()
    finally:
        if endpoint:
            if saved is None:
                os.environ.pop("AWS_ENDPOINT_URL", None)
            else:
                os.environ["AWS_ENDPOINT_URL"] = saved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localstack.provision", description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", help="emulator URL (default: $AWS_ENDPOINT_URL)")
    parser.add_argument("--name", default=DEFAULT_NAME, help=f"stack name, as the Terraform root's `name` (default {DEFAULT_NAME})")
    parser.add_argument("--config", type=Path, default=DEMO_CONFIG_TEMPLATE,
                        help="pipeline config template (${var} names are filled in); default: the demo config")
    parser.add_argument("--no-config", action="store_true", help="do not upload a config")
    parser.add_argument("--rows", type=int, default=0, help=f"input rows to generate under {DATA_PREFIXES['source']} (0 = none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--credentials-file", type=Path,
                        help="JSON object for the secret's value (default: the mock API's demo client and user)")
    ns = parser.parse_args(argv)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    try:
        credentials = None
        if ns.credentials_file:
            credentials = json.loads(ns.credentials_file.read_text(encoding="utf-8"))
            if not isinstance(credentials, dict):
                raise ProvisionError(f"{ns.credentials_file}: the secret value must be a JSON object")
        result = provision(
            ns.name, endpoint=ns.endpoint, credentials=credentials,
            config_template=None if ns.no_config else ns.config, rows=ns.rows, seed=ns.seed,
        )
    except (ProvisionError, ValueError, OSError) as exc:
        print(f"localstack.provision: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result.as_dict(), indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
