"""Structured JSON lines, redaction of sensitive headers/params, level, failures, sampling."""

import asyncio
import json
import logging

import pytest

from api_etl.engine.redaction import Redactor
from api_etl.middleware.base import MiddlewareContext
from api_etl.middleware.chain import compose
from api_etl.middleware.request_logging import LOGGER_NAME, LoggingFactory, LoggingMiddleware
from api_etl.transport.base import TransportConnectionError
from tests.unit.engine.fakes import ScriptedTransport, exchange, response, terminal

SECRETS = {
    "Authorization": "Bearer sekret-token-123",
    "Proxy-Authorization": "Basic cHJveHk6cHc=",
    "Cookie": "session=abcdef123456",
    "X-Api-Key": "key-0987654321",
    "X-Custom-Secret": "custom-value-555",
}


def run(mw, outcome=None, headers=None, params=None):
    transport = ScriptedTransport([outcome or response(200, b"{}")])
    ex = exchange(headers=headers, params=params)
    return asyncio.run(compose([mw], terminal(transport))(ex))


def lines(caplog):
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == LOGGER_NAME]


def test_one_json_line_with_the_exchange(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    run(LoggingMiddleware(), headers={"Accept": "application/json"}, params={"q": "x"})
    [doc] = lines(caplog)
    assert doc["event"] == "api_request" and doc["status"] == 200 and doc["ok"] is True
    assert doc["url"] == "https://api.example.com/items/1?q=x"
    assert doc["attempts"] == 1 and doc["request_id"] == "rid" and doc["row_id"] == "1"
    assert doc["request_headers"] == {"Accept": "application/json"}
    assert caplog.records[0].levelno == logging.INFO


def test_sensitive_values_never_logged(caplog):
    caplog.set_level(logging.DEBUG, logger=LOGGER_NAME)
    redactor = Redactor(sensitive_headers=("x-custom-secret",), sensitive_params=("sig",))
    mw = LoggingMiddleware(redactor=redactor)
    error = TransportConnectionError(
        "failed with Bearer sekret-token-123 and custom-value-555 sig=zzz-signature"
    )
    run(mw, error, headers=SECRETS, params={"sig": "zzz-signature", "access_token": "tok-abc"})
    run(mw, response(401), headers=SECRETS, params={"sig": "zzz-signature"})
    text = caplog.text
    for value in [*SECRETS.values(), "sekret-token-123", "zzz-signature", "tok-abc"]:
        assert value not in text
    docs = lines(caplog)
    assert all(v == "***" for v in docs[0]["request_headers"].values())
    assert "sig=%2A%2A%2A" in docs[0]["url"] or "sig=***" in docs[0]["url"]
    assert docs[0]["error_type"] == "TransportConnectionError"
    assert "***" in docs[0]["error_message"]


def test_failures_logged_at_warning(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    run(LoggingMiddleware(level="INFO"), response(500))
    assert caplog.records[0].levelno == logging.WARNING
    assert lines(caplog)[0]["error_type"] == "HttpStatusError"


def test_only_failures(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    mw = LoggingMiddleware(only_failures=True)
    run(mw, response(200))
    run(mw, response(503))
    assert [d["status"] for d in lines(caplog)] == [503]


def test_sample_rate_applies_to_successes_only(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    draws = iter([0.05, 0.5, 0.09, 0.99])
    mw = LoggingMiddleware(sample_rate=0.1, random=lambda: next(draws))
    for _ in range(4):
        run(mw, response(200))
    run(mw, response(500))  # always logged, no draw
    assert [d["status"] for d in lines(caplog)] == [200, 200, 500]


def test_level_filtering_and_exceptions_are_logged_and_reraised(caplog):
    caplog.set_level(logging.WARNING, logger=LOGGER_NAME)

    async def boom(ex, next_call):
        raise RuntimeError("bad middleware")

    mw = LoggingMiddleware(level="INFO")
    run(mw)  # INFO success filtered by the logger level
    assert lines(caplog) == []
    with pytest.raises(RuntimeError):
        asyncio.run(compose([mw, boom], terminal(ScriptedTransport()))(exchange()))
    assert lines(caplog)[0]["error_type"] == "RuntimeError"


def test_factory_merges_context_redaction(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    factory = LoggingFactory(sensitive_headers=("X-Extra",))
    mw = factory(MiddlewareContext(redactor=Redactor(sensitive_headers=("X-Plan",))))
    run(mw, headers={"X-Extra": "extra-value", "X-Plan": "plan-value", "Accept": "a/b"})
    expected = {"X-Extra": "***", "X-Plan": "***", "Accept": "a/b"}
    assert lines(caplog)[0]["request_headers"] == expected
    with pytest.raises(ValueError):
        LoggingFactory(level="LOUD")
    with pytest.raises(ValueError):
        LoggingFactory(sample_rate=2)
