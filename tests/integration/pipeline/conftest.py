"""Fixtures for the driver tests: a mock API process and config builders."""

from __future__ import annotations

import copy
import json

import boto3
import pytest
import yaml

from api_etl.config import validate_document

CLIENT_ID, CLIENT_SECRET = "etl-client", "etl-secret-0123456789"


@pytest.fixture(scope="module")
def mock_api():
    from mock_api.process import start_mock_api_process

    api = start_mock_api_process({
        "auth": {"mode": "oauth2", "oauth2": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}},
    })
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture
def api(mock_api):
    """The mock API with clean stats and no faults for one test."""
    mock_api.reset(tokens=True, config=True)
    return mock_api


def base_doc(api_url: str, root: str, **overrides) -> dict:
    """A config: OAuth2 from Secrets Manager, retries, idempotency, JSON parsing."""
    doc = {
        "source": {"path": f"{root}/source", "format": "parquet", "id_column": "tracking_id",
                   "required_columns": ["patient_id", "amount"]},
        "sink": {"path": f"{root}/sink", "passthrough_columns": ["amount"]},
        "checkpoint": {"path": f"{root}/checkpoints"},
        "endpoint": {
            "method": "POST", "base_url": api_url, "path": "/v1/patients",
            "body": {"mapping": {"patient.id": "patient_id", "amount": "amount", "tracking_id": "tracking_id"}},
            "idempotency_header": "Idempotency-Key",
        },
        "auth": {"type": "oauth2_client_credentials", "token_url": f"{api_url}/oauth/token",
                 "client_id": "{{secret.tests/api-credentials:client_id}}",
                 "client_secret": "{{secret.tests/api-credentials:client_secret}}",
                 "client_auth_method": "client_secret_post"},
        "middleware": [{"type": "retry", "max_attempts": 3, "base_delay": 0.01, "max_delay": 0.05},
                       {"type": "json_body"}, {"type": "worker_identity"}],
        "execution": {"batch_size": 500, "partitions": 2},
        "failure_policy": {"max_failure_ratio": 0.05},
        "metrics": {"enabled": True, "job_name": "tests-job", "per_run": True},
    }
    return merge(doc, overrides)


def merge(doc: dict, overrides: dict) -> dict:
    out = copy.deepcopy(doc)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def create_secret() -> None:
    boto3.client("secretsmanager").create_secret(
        Name="tests/api-credentials",
        SecretString=json.dumps({"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}),
    )


def load(doc: dict):
    return validate_document(doc, "test-config")


def write_yaml(path, doc: dict) -> str:
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return str(path)


def source_rows(n: int, start: int = 0) -> list[tuple]:
    return [(f"trk-{i:06d}", f"pat-{i}", float(i) / 4) for i in range(start, start + n)]


SOURCE_COLUMNS = ["tracking_id", "patient_id", "amount"]
