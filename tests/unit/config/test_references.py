"""Secret and environment references, against moto's Secrets Manager."""

import json

import boto3
import pytest
from moto import mock_aws

from api_etl.config import ConfigError, validate_document
from api_etl.config.references import secrets_manager_fetcher

SECRET_VALUES = {"client_id": "cid-7f3a", "client_secret": "s3cr3t-VALUE-91", "token": "tok-XYZ-123"}


def _doc(**auth):
    return {
        "source": {"path": "/data/in", "id_column": "id"},
        "sink": {"path": "/data/out"},
        "endpoint": {"base_url": "https://api.example.com"},
        "auth": auth,
    }


@pytest.fixture
def secrets():
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        client.create_secret(Name="etl/creds", SecretString=json.dumps(SECRET_VALUES))
        client.create_secret(Name="etl/plain", SecretString="plain-token-value")
        calls = []
        fetch = secrets_manager_fetcher("us-east-1")

        def counting(secret_id):
            calls.append(secret_id)
            return fetch(secret_id)

        yield counting, calls


def test_json_keys_resolve_with_one_call_per_secret(secrets):
    fetch, calls = secrets
    doc = _doc(
        type="oauth2_client_credentials",
        token_url="https://auth.example.com/token",
        client_id="{{secret.etl/creds:client_id}}",
        client_secret="{{secret.etl/creds:client_secret}}",
    )
    loaded = validate_document(doc, "test", fetch_secret=fetch)
    assert loaded.config.auth.client_id.get_secret_value() == "cid-7f3a"
    assert loaded.config.auth.client_secret.get_secret_value() == "s3cr3t-VALUE-91"
    assert calls == ["etl/creds"]
    assert "s3cr3t" not in repr(loaded.config) and "s3cr3t" not in repr(loaded)


def test_whole_secret_string_without_key(secrets):
    fetch, _ = secrets
    loaded = validate_document(_doc(type="bearer", token="{{secret.etl/plain}}"), "t", fetch_secret=fetch)
    assert loaded.config.auth.token.get_secret_value() == "plain-token-value"


def test_env_reference(secrets):
    fetch, _ = secrets
    doc = _doc(type="none")
    doc["endpoint"]["base_url"] = "{{env.API_BASE}}"
    loaded = validate_document(doc, "t", fetch_secret=fetch, environ={"API_BASE": "https://env.example.com"})
    assert loaded.config.endpoint.base_url == "https://env.example.com"


@pytest.mark.parametrize(
    "value, expected",
    [
        ("{{secret.etl/missing:client_id}}", "secret 'etl/missing' was not found"),
        ("{{secret.etl/creds:nope}}", "has no key 'nope'"),
        ("{{secret.etl/plain:key}}", "is not a JSON object"),
    ],
)
def test_missing_secret_or_key_names_the_reference_not_the_value(secrets, value, expected):
    fetch, _ = secrets
    with pytest.raises(ConfigError) as info:
        validate_document(_doc(type="bearer", token=value), "t", fetch_secret=fetch)
    text = str(info.value)
    assert expected in text and "auth.token" in text
    for secret in [*SECRET_VALUES.values(), "plain-token-value"]:
        assert secret not in text


def test_missing_env_variable_is_named(secrets):
    fetch, _ = secrets
    doc = _doc(type="none")
    doc["endpoint"]["base_url"] = "{{env.NOT_SET_ANYWHERE}}"
    with pytest.raises(ConfigError, match="NOT_SET_ANYWHERE"):
        validate_document(doc, "t", fetch_secret=fetch, environ={})


def test_validation_errors_never_echo_a_secret(secrets):
    fetch, _ = secrets
    # A secret put where a URL is expected fails validation; the message must not carry it.
    doc = _doc(type="oauth2_client_credentials", token_url="{{secret.etl/creds:client_secret}}",
               client_id="x", client_secret="{{secret.etl/creds:client_secret}}")
    doc["endpoint"]["headers"] = {"X-Key": "{{secret.etl/creds:token}}"}
    doc["execution"] = {"concurrency": "{{secret.etl/creds:token}}"}
    with pytest.raises(ConfigError) as info:
        validate_document(doc, "t", fetch_secret=fetch)
    text = str(info.value) + repr(info.value.issues)
    assert "auth.token_url" in text and "execution.concurrency" in text
    for secret in SECRET_VALUES.values():
        assert secret not in text


def test_no_secrets_mode_validates_without_a_store():
    doc = _doc(type="bearer", token="{{secret.etl/creds:token}}")
    loaded = validate_document(doc, "t", resolve_secrets=False)
    assert loaded.config.auth.token.get_secret_value() == "{{secret.etl/creds:token}}"
