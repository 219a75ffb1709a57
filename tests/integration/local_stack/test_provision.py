"""localstack.provision against moto: what it creates, how, and that running it twice is a no-op."""

from __future__ import annotations

import json

import boto3
import pytest
import requests
import yaml

from api_etl.config import validate_document
from localstack.naming import StackNames
from localstack.provision import (
    DEMO_CONFIG_TEMPLATE,
    DEMO_CREDENTIALS,
    ProvisionError,
    check_emulator_endpoint,
    provision,
    render_config,
)

NAMES = StackNames()


@pytest.fixture(scope="module")
def stack(aws_endpoint):
    """One provisioned demo stack shared by the read-only tests; tests that change things use
    their own stack names, so nothing here needs a reset between tests."""
    requests.post(f"{aws_endpoint}/moto-api/reset", timeout=10)
    return provision(NAMES.name, config_template=DEMO_CONFIG_TEMPLATE, rows=50)


def _key_arn() -> str:
    return boto3.client("kms").describe_key(KeyId=NAMES.kms_alias)["KeyMetadata"]["Arn"]


def test_kms_key_has_the_alias_and_rotation(stack):
    kms = boto3.client("kms")
    meta = kms.describe_key(KeyId=NAMES.kms_alias)["KeyMetadata"]
    assert stack.key_arn == meta["Arn"]
    assert (meta["KeyUsage"], meta["KeySpec"], meta["KeyState"]) == ("ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT", "Enabled")
    assert kms.get_key_rotation_status(KeyId=meta["KeyId"])["KeyRotationEnabled"] is True


@pytest.mark.parametrize("bucket", sorted(NAMES.buckets.values()))
def test_every_bucket_is_encrypted_versioned_and_private(stack, bucket):
    s3 = boto3.client("s3")
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": _key_arn()}
    assert rule["BucketKeyEnabled"] is True
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == dict.fromkeys(["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"], True)
    (owner,) = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert owner["ObjectOwnership"] == "BucketOwnerEnforced"
    rules = {r["ID"] for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert rules == {"abort-incomplete-multipart-uploads", "versions-and-transitions"}
    # No Deny statement anywhere: moto would enforce it without its conditions.
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    except s3.exceptions.ClientError:
        policy = {"Statement": []}
    assert all(st["Effect"] == "Allow" for st in policy["Statement"])


def test_an_object_written_without_encryption_headers_gets_the_stack_key(stack):
    s3 = boto3.client("s3")
    s3.put_object(Bucket=NAMES.data_bucket, Key="sink/probe.txt", Body=b"x")
    head = s3.head_object(Bucket=NAMES.data_bucket, Key="sink/probe.txt")
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"], head["BucketKeyEnabled"]) == ("aws:kms", _key_arn(), True)


def test_data_and_artifacts_log_to_the_access_logs_bucket(stack):
    s3 = boto3.client("s3")
    for bucket in (NAMES.data_bucket, NAMES.artifacts_bucket):
        logging = s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]
        assert logging == {"TargetBucket": NAMES.access_logs_bucket, "TargetPrefix": f"{bucket}/"}


def test_secret_is_encrypted_with_the_key_and_holds_the_api_credentials(stack):
    sm = boto3.client("secretsmanager")
    desc = sm.describe_secret(SecretId=NAMES.secret)
    assert desc["KmsKeyId"] == _key_arn() and stack.secret_arn == desc["ARN"]
    assert json.loads(sm.get_secret_value(SecretId=NAMES.secret)["SecretString"]) == DEMO_CREDENTIALS


def test_glue_database_and_encrypted_log_groups(stack):
    assert boto3.client("glue").get_database(Name=NAMES.glue_database)["Database"]["Name"] == "api_etl_demo_db"
    groups = {g["logGroupName"]: g for g in boto3.client("logs").describe_log_groups(logGroupNamePrefix=NAMES.log_group)["logGroups"]}
    assert set(groups) == {"/aws-glue/jobs/api-etl-demo", "/aws-glue/jobs/api-etl-demo/output", "/aws-glue/jobs/api-etl-demo/error"}
    for group in groups.values():
        assert group["kmsKeyId"] == _key_arn() and group["retentionInDays"] == 365


def test_config_object_and_input_rows(stack):
    s3 = boto3.client("s3")
    obj = s3.get_object(Bucket=NAMES.artifacts_bucket, Key="configs/pipeline.yaml")
    assert (obj["ServerSideEncryption"], obj["SSEKMSKeyId"], obj["ContentType"]) == ("aws:kms", _key_arn(), "application/yaml")
    text = obj["Body"].read().decode()
    assert "${" not in text and "{{secret.api-etl-demo/api-credentials:client_secret}}" in text
    assert stack.config_uri == NAMES.config_uri
    assert stack.source["rows"] == 50
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=NAMES.data_bucket, Prefix="source/")["Contents"]] == ["source/part-00000.parquet"]


def test_provisioning_twice_changes_nothing(aws_endpoint):
    names = StackNames("idem-stack")
    first = provision(names.name, config_template=DEMO_CONFIG_TEMPLATE)
    s3, sm, kms = boto3.client("s3"), boto3.client("secretsmanager"), boto3.client("kms")

    def state():
        return (
            len(sm.list_secret_version_ids(SecretId=names.secret)["Versions"]),
            len(s3.list_object_versions(Bucket=names.artifacts_bucket, Prefix="configs/")["Versions"]),
            kms.describe_key(KeyId=names.kms_alias)["KeyMetadata"]["Arn"],
            len(kms.list_keys()["Keys"]),
        )

    before = state()
    again = provision(names.name, config_template=DEMO_CONFIG_TEMPLATE)

    assert again.created == [] and again.updated == []
    assert len(again.unchanged) == len(first.created)
    assert state() == before  # no second key, no new secret or config version
    assert again.key_arn == first.key_arn and again.secret_arn == first.secret_arn


def test_changed_credentials_update_the_secret_once(aws_endpoint):
    names = StackNames("rotate-stack")
    provision(names.name)
    sm = boto3.client("secretsmanager")
    new = {**DEMO_CREDENTIALS, "client_secret": "rotated"}
    result = provision(names.name, credentials=new)
    assert result.updated == [f"secret {names.secret} (value)"]
    assert json.loads(sm.get_secret_value(SecretId=names.secret)["SecretString"])["client_secret"] == "rotated"
    assert provision(names.name, credentials=new).updated == []


def test_another_stack_name_gets_its_own_resources(aws_endpoint):
    result = provision("other-stack")
    assert result.names.data_bucket == "other-stack-data-123456789012"
    assert boto3.client("glue").get_database(Name="other_stack_db")
    assert boto3.client("secretsmanager").describe_secret(SecretId="other-stack/api-credentials")


@pytest.mark.parametrize("endpoint", [None, "", "https://s3.amazonaws.com", "http://10.0.0.5:4566", "https://example.com"])
def test_refuses_anything_but_a_local_emulator(endpoint):
    with pytest.raises(ProvisionError, match="emulator|not on this machine"):
        check_emulator_endpoint(endpoint)


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:5000", "https://localhost:4566", "http://[::1]:4566",
                                      "https://localhost.localstack.cloud:4566", "http://s3.localhost.localstack.cloud:4566"])
def test_accepts_local_endpoints(endpoint):
    assert check_emulator_endpoint(endpoint) == endpoint


def test_unreachable_emulator_is_named(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(ProvisionError, match=r"cannot reach the emulator at http://127.0.0.1:9"):
        provision(endpoint="http://127.0.0.1:9")


def test_demo_config_template_renders_to_a_valid_config():
    text = render_config(DEMO_CONFIG_TEMPLATE, NAMES)
    loaded = validate_document(yaml.safe_load(text), "demo", resolve_secrets=False,
                               environ={"MOCK_API_URL": "http://127.0.0.1:8080"})
    cfg = loaded.config
    assert cfg.source.path == "s3://api-etl-demo-data-123456789012/source/"
    assert cfg.sink.path == "s3://api-etl-demo-data-123456789012/sink/"
    assert cfg.sink.dead_letter_path == "s3://api-etl-demo-data-123456789012/dead-letter/"
    assert cfg.checkpoint.path == "s3://api-etl-demo-data-123456789012/checkpoints/"
    assert cfg.sink.table.database == NAMES.glue_database
    assert (cfg.metrics.namespace, cfg.metrics.job_name, cfg.metrics.enabled) == ("ApiEtl", "api-etl-demo-job", True)
    assert cfg.endpoint.base_url == "http://127.0.0.1:8080" and cfg.auth.token_url == "http://127.0.0.1:8080/oauth/token"
    assert cfg.endpoint.idempotency_header == "Idempotency-Key"
    for field in ("client_id", "client_secret"):
        assert f"{{{{secret.{NAMES.secret}:{field}}}}}" in text


def test_render_config_names_an_unknown_variable(tmp_path):
    template = tmp_path / "bad.yaml.tmpl"
    template.write_text("source:\n  path: s3://${no_such_bucket}/x\n")
    with pytest.raises(ProvisionError, match=r"uses \$\{no_such_bucket\}, which is not one of"):
        render_config(template, NAMES)
