"""The Glue entry script, run as `make demo` runs it: a subprocess through getResolvedOptions,
against the provisioned local stack (HTTPS moto: SSE-KMS buckets, the secret, the config
object), the mock API as a process, and local Spark."""

from __future__ import annotations

import io

import boto3
import pyarrow.parquet as pq
import pytest
import yaml

from localstack.job_runner import run_glue_job
from localstack.naming import StackNames
from localstack.provision import DEMO_CONFIG_TEMPLATE, provision, render_config

pytestmark = pytest.mark.spark

ROWS = 800
BATCH = 400
API_LIMIT, JOB_LIMIT = 400, 300
# Not the mock API's defaults: the job can only authenticate with what Secrets Manager holds.
CREDENTIALS = {"client_id": "it-client", "client_secret": "it-secret-3f9c1a7e", "username": "it-user", "password": "it-pw-5d2b"}


@pytest.fixture(scope="module")
def mock_api(tmp_path_factory):
    from mock_api import start_mock_api_process

    api = start_mock_api_process(
        {
            "auth": {"mode": "oauth2", "oauth2": {
                "client_id": CREDENTIALS["client_id"], "client_secret": CREDENTIALS["client_secret"],
                "users": {CREDENTIALS["username"]: CREDENTIALS["password"]}}},
            "rate_limit": {"rps": API_LIMIT},
            "faults": {"seed": 3, "error_ratio": 0.02, "error_statuses": [502, 503]},
            "row_ids": {"enabled": False},
        },
        workdir=tmp_path_factory.mktemp("mock_api"),
    )
    try:
        yield api
    finally:
        api.stop(timeout=10)


def _config_text(names: StackNames) -> str:
    """The demo config (localstack/configs/demo.yaml.tmpl), with test-sized batches and rate."""
    doc = yaml.safe_load(render_config(DEMO_CONFIG_TEMPLATE, names))
    doc["execution"].update(batch_size=BATCH, max_requests_per_second=JOB_LIMIT)
    return yaml.safe_dump(doc, sort_keys=False)


def _sink_table(names: StackNames, run_id: str):
    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=names.data_bucket, Prefix=f"sink/run_id={run_id}/").get("Contents", [])]
    tables = [pq.read_table(io.BytesIO(s3.get_object(Bucket=names.data_bucket, Key=k)["Body"].read()))
              for k in keys if k.endswith(".parquet")]
    assert tables, f"no parquet under s3://{names.data_bucket}/sink/run_id={run_id}/"
    import pyarrow as pa

    return pa.concat_tables(tables, promote_options="default")


def test_glue_entry_runs_end_to_end_on_the_local_stack(tls_aws, mock_api, tmp_path):
    mock_api.reset(tokens=True)
    names = StackNames()
    provision(names.name, credentials=CREDENTIALS, rows=ROWS, config_text=_config_text(names))
    env = {**tls_aws.env(), "MOCK_API_URL": mock_api.url}

    # --cluster_slots as the Terraform module passes it, here above local[2]'s two slots: the
    # job must plan with it (and so stay further under the limit).
    run = run_glue_job(names.config_uri, job_name=names.job, run_id="it-1", env=env, workdir=tmp_path, timeout=180,
                       cluster_slots=3)

    assert run.returncode == 0, f"exit {run.returncode}; log {run.log_path}:\n{run.log_tail()}"
    summary = run.summary
    assert summary["run_id"] == "it-1" and summary["policy_met"]
    assert "Spark reports 2 task slot(s) so far; the deployment declares 3" in run.log_path.read_text()
    assert summary["rows_total"] == summary["rows_succeeded"] == ROWS
    assert summary["batches_done"] == summary["batches_total"] >= 2
    assert summary["metrics_published"] > 0 and summary["metrics_failures"] == 0
    assert summary["sink_path"].startswith(f"s3://{names.data_bucket}/sink")

    # Every source row is in the sink once; no credential is.
    sink = _sink_table(names, "it-1")
    assert sink.num_rows == ROWS
    assert len(set(sink.column("row_id").to_pylist())) == ROWS
    text = " ".join(str(v) for col in sink.columns for v in col.to_pylist())
    assert CREDENTIALS["client_secret"] not in text and CREDENTIALS["client_id"] not in text

    # The API's own view: OAuth2 tokens (client credentials from Secrets Manager), retries of
    # the injected 5xx, no duplicate idempotency key, the job-wide limit under the API's.
    stats = mock_api.stats()
    assert stats["tokens_issued"] >= 1 and stats["token_grants"].get("client_credentials", 0) >= 1
    assert stats["token_errors"] == 0 and stats["auth_failures"] == 0
    assert stats["api_requests"] == summary["requests_sent"] == ROWS + summary["retries"]
    assert summary["retries"] > 0
    assert stats["idempotency"]["duplicates"] == 0
    assert stats["rate_limited"] == 0 and stats["max_1s_window"] <= API_LIMIT

    # What the sink objects are encrypted with: the stack's KMS key (bucket default SSE-KMS).
    s3 = boto3.client("s3")
    key_arn = boto3.client("kms").describe_key(KeyId=names.kms_alias)["KeyMetadata"]["Arn"]
    first = s3.list_objects_v2(Bucket=names.data_bucket, Prefix="sink/run_id=it-1/")["Contents"][0]["Key"]
    head = s3.head_object(Bucket=names.data_bucket, Key=first)
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", key_arn)

    # (Rerunning a run id through the entry script is shown by `make demo`; the resume logic
    # itself is covered in tests/integration/pipeline.)


def test_glue_entry_exits_2_naming_a_missing_secret(tls_aws, mock_api, tmp_path):
    names = StackNames()
    doc = yaml.safe_load(_config_text(names))
    doc["auth"]["client_secret"] = "{{secret.no-such/secret:client_secret}}"
    provision(names.name, credentials=CREDENTIALS, config_text=yaml.safe_dump(doc))
    env = {**tls_aws.env(), "MOCK_API_URL": mock_api.url}

    run = run_glue_job(names.config_uri, job_name=names.job, run_id="it-2", env=env, workdir=tmp_path, timeout=120)

    assert run.returncode == 2, run.log_tail()
    log = run.log_path.read_text()
    assert "{{secret.no-such/secret:client_secret}}: secret 'no-such/secret' was not found" in log
    assert "auth.client_secret" in log
    assert CREDENTIALS["client_secret"] not in log
    assert run.summary is None
