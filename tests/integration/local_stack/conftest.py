"""Fixtures of the local-stack tests: the emulator as ``make demo`` runs it, the mock API.

``aws`` / ``aws_endpoint`` (tests/integration/conftest.py) are an in-process moto server over
plain HTTP: enough for boto3-only tests (provisioning, upload). Tests that run Spark against the
provisioned stack use ``tls_emulator`` instead: ``localstack.emulator`` started as a process,
over HTTPS, because S3A cannot copy SSE-KMS objects over HTTP (see localstack/emulator.py).
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tls_emulator(tmp_path_factory):
    from localstack import emulator

    moto = emulator.start(tmp_path_factory.mktemp("emulator"), tls=True)
    try:
        yield moto
    finally:
        moto.stop(timeout=10)


@pytest.fixture
def tls_aws(tls_emulator, monkeypatch):
    """This test's boto3 clients (and the job subprocess) talk to the HTTPS emulator, reset first."""
    import requests

    for key, value in tls_emulator.env().items():
        monkeypatch.setenv(key, value)
    requests.post(f"{tls_emulator.url}/moto-api/reset", timeout=10, verify=str(tls_emulator.ca_file))
    return tls_emulator
