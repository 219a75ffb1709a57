"""scripts/package/upload_artifacts.py against moto: by Terraform outputs and by flags."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import boto3
import pytest
import requests

from localstack.naming import StackNames
from localstack.provision import provision
from package import upload_artifacts as ua

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "scripts" / "package" / "upload_artifacts.py"
NAMES = StackNames()


@pytest.fixture(scope="module")
def stack(aws_endpoint):
    requests.post(f"{aws_endpoint}/moto-api/reset", timeout=10)
    return provision(NAMES.name)


@pytest.fixture
def wheel(tmp_path) -> Path:
    """A stand-in for `make package`'s output (a real wheel build is not what is tested here)."""
    dist = tmp_path / "dist"
    dist.mkdir()
    path = dist / NAMES.wheel_file_name
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("api_etl/__init__.py", "")
    return path


def tf_outputs(tmp_path: Path, stack, **override) -> Path:
    """What `terraform output -json` prints for terraform/examples/complete (the parts used)."""
    names = stack.names
    outputs = {
        "artifacts_bucket_name": names.artifacts_bucket,
        "kms_key_arn": stack.key_arn,
        "names": names.as_outputs(),
        "wheel_uri": names.wheel_uri,
        "config_uri": names.config_uri,
        "script_location": names.script_uri,
        **override,
    }
    path = tmp_path / "tf-outputs.json"
    path.write_text(json.dumps({k: {"sensitive": False, "type": "string", "value": v} for k, v in outputs.items()}))
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ), cwd=str(REPO))


def test_uploads_script_wheel_and_config_named_by_terraform_outputs(stack, wheel, tmp_path):
    config = tmp_path / "pipeline.yaml"
    config.write_text(
        "source: {path: 's3://b/source/', id_column: id}\n"
        "sink: {path: 's3://b/sink/'}\n"
        "endpoint: {base_url: 'https://api.example.com', path: /v1/x}\n"
    )
    proc = run_cli("--tf-outputs", str(tf_outputs(tmp_path, stack)), "--wheel", str(wheel), "--config", str(config), "--json")

    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["uris"] == {"script": NAMES.script_uri, "wheel": NAMES.wheel_uri, "config": NAMES.config_uri}
    s3 = boto3.client("s3")
    for kind, path in (("script", REPO / "glue_job" / "job.py"), ("wheel", wheel), ("config", config)):
        key = result["uris"][kind].split("/", 3)[3]
        obj = s3.get_object(Bucket=NAMES.artifacts_bucket, Key=key)
        assert obj["Body"].read() == path.read_bytes(), kind
        assert (obj["ServerSideEncryption"], obj["SSEKMSKeyId"]) == ("aws:kms", stack.key_arn)
        assert result["version_ids"][kind]  # the artifacts bucket is versioned


def test_flags_alone_upload_to_the_default_keys_and_print_uris(stack, wheel):
    proc = run_cli("--bucket", NAMES.artifacts_bucket, "--dist", str(wheel.parent))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["script", NAMES.script_uri, "wheel", NAMES.wheel_uri]
    head = boto3.client("s3").head_object(Bucket=NAMES.artifacts_bucket, Key="glue/job.py")
    assert head["ServerSideEncryption"] == "aws:kms"  # the bucket's default encryption


def test_a_wheel_name_the_job_does_not_install_is_refused(stack, tmp_path):
    other = tmp_path / "glue_api_etl-0.2.0-py3-none-any.whl"
    other.write_bytes(b"PK")
    proc = run_cli("--tf-outputs", str(tf_outputs(tmp_path, stack)), "--wheel", str(other))
    assert proc.returncode == 2
    assert "the Glue job installs wheels/glue_api_etl-0.1.0-py3-none-any.whl" in proc.stderr
    assert "wheel_file_name=glue_api_etl-0.2.0-py3-none-any.whl" in proc.stderr


@pytest.mark.parametrize("case, message", [
    ("no-bucket", "name the artifacts bucket: --tf-outputs FILE"),
    ("missing-outputs", "file not found (write it with `terraform output -json >"),
    ("outputs-without-bucket", "no `artifacts_bucket_name` output"),
    ("empty-dist", "no wheel in"),
    ("invalid-config", "is not a valid pipeline config"),
])
def test_bad_input_exits_2_naming_what_is_wrong(case, message, tmp_path, wheel, capsys):
    args = {
        "no-bucket": ["--wheel", str(wheel)],
        "missing-outputs": ["--tf-outputs", str(tmp_path / "nope.json"), "--wheel", str(wheel)],
        "outputs-without-bucket": ["--tf-outputs", str(_write(tmp_path / "o.json", {"job_name": {"value": "j"}})), "--wheel", str(wheel)],
        "empty-dist": ["--bucket", "b", "--dist", str(_mkdir(tmp_path / "empty"))],
        "invalid-config": ["--bucket", "b", "--wheel", str(wheel), "--config", str(_write(tmp_path / "c.yaml", {"source": {}}))],
    }[case]
    assert ua.main(args) == 2
    assert message in capsys.readouterr().err


def test_an_aws_error_exits_1_naming_the_bucket(aws_endpoint, wheel, capsys):
    assert ua.main(["--bucket", "no-such-bucket-123", "--wheel", str(wheel)]) == 1
    assert "uploading to s3://no-such-bucket-123 failed: NoSuchBucket" in capsys.readouterr().err


def _write(path: Path, data) -> Path:
    path.write_text(json.dumps(data))
    return path


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path
