"""The api-etl validate command: exit codes and what it prints."""

import json

import boto3
from moto import mock_aws

from api_etl.cli import main

GOOD = """
source: {path: /in, id_column: id}
sink: {path: /out}
endpoint:
  base_url: "https://api.example.com"
  path: /items
auth: {type: bearer, token: "{{secret.cli/creds:token}}"}
"""


def test_validate_ok(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(GOOD)
    assert main(["validate", str(cfg), "--no-secrets"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK ") and out.count("\n") == 1
    # No rate limit: the size grows with the cluster, which only the run knows.
    assert "batch_size=auto (10000 rows per Spark slot)" in out


def test_validate_prints_the_batch_size_a_rate_limit_gives(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(GOOD)
    assert main(["validate", str(cfg), "--no-secrets", "--set", "execution.max_requests_per_second=250"]) == 0
    assert "batch_size=auto (15000 rows)" in capsys.readouterr().out  # 60 s at the limit


def test_validate_lists_every_error_and_exits_2(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(GOOD.replace("path: /items", "path: /items\n  verb: GET").replace("id_column: id", "id_column: 3"))
    assert main(["validate", str(cfg), "--no-secrets"]) == 2
    err = capsys.readouterr().err
    assert "endpoint.verb (line" in err and "source.id_column (line" in err


def test_validate_from_s3_resolves_secrets(monkeypatch, capsys):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="cfg")
        boto3.client("s3").put_object(Bucket="cfg", Key="p.yaml", Body=GOOD.encode())
        sm = boto3.client("secretsmanager")
        sm.create_secret(Name="cli/creds", SecretString=json.dumps({"token": "t0ken-abcdef"}))
        assert main(["validate", "s3://cfg/p.yaml"]) == 0
        sm.delete_secret(SecretId="cli/creds", ForceDeleteWithoutRecovery=True)
        assert main(["validate", "s3://cfg/p.yaml"]) == 2
    captured = capsys.readouterr()
    assert "secret 'cli/creds' was not found" in captured.err
    assert "t0ken-abcdef" not in captured.out + captured.err


def test_missing_file_is_a_config_error(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "file not found" in capsys.readouterr().err
