"""Fixtures for the integration tier: moto's server, a local Spark with S3A, the mock API.

Everything listens on 127.0.0.1 and is stopped by the fixture that started it.
"""

from __future__ import annotations

import logging
import os

import pytest
import requests


@pytest.fixture(scope="session")
def aws_endpoint():
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per S3 call otherwise

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
    )
    try:
        yield endpoint
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture
def aws(aws_endpoint):
    """A clean emulator for one test."""
    requests.post(f"{aws_endpoint}/moto-api/reset", timeout=10)
    yield aws_endpoint


@pytest.fixture(scope="session")
def spark(aws_endpoint):
    from api_etl.pipeline.spark_session import build_local_spark

    session = build_local_spark("local[2]", "api-etl-tests", with_s3=True, s3_endpoint=aws_endpoint)
    yield session
    session.stop()
