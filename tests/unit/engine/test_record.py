"""The record schema is defined once; tuples follow it; secrets are redacted."""

import datetime as dt

import pytest
from pyspark.sql import types as T
from pyspark.sql.types import _make_type_verifier

from api_etl.engine.exchange import Exchange, HttpRequest, HttpResponse
from api_etl.engine.identity import WorkerIdentity
from api_etl.engine.record import RECORD_FIELD_NAMES, RECORD_FIELDS, RecordBuilder, record_schema
from api_etl.engine.redaction import Redactor
from api_etl.transport.base import TransportConnectionError

T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
IDENT = WorkerIdentity("host-a", 1234, partition_id=5)


def builder(**kw):
    kw.setdefault("redactor", Redactor(sensitive_headers=("X-Secret",), sensitive_params=("sig",)))
    return RecordBuilder(run_id="run-1", batch_id="7", identity=IDENT, **kw)


def make_exchange(response=None, error=None):
    request = HttpRequest(
        "POST", "https://api.example.com/p?sig=abc123",
        headers={"Authorization": "Bearer tok-secret-1", "X-Secret": "hidden-value",
                 "Accept": "application/json"},
        params={"q": "1", "api_key": "key-secret-2"}, json_body={"b": 1, "a": "x"},
    )
    ex = Exchange(request=request, request_id="r" * 32, row_id="42", row={"id": 42, "extra": "e"},
                  response=response, error=error, attempts=2)
    ex.metadata["k"] = "v"
    return ex


def build(ex, **kw):
    return builder(**kw).build(ex, started_at=T0, finished_at=T0 + dt.timedelta(seconds=1.5),
                               latency_ms=1500.0)


def test_schema_matches_the_field_list_and_passthrough_is_appended():
    schema = record_schema([("id", T.LongType()), T.StructField("extra", T.StringType())])
    assert schema.names == [*RECORD_FIELD_NAMES, "id", "extra"]
    assert schema["status"].dataType == T.IntegerType()
    assert schema["request_headers"].dataType == T.MapType(T.StringType(), T.StringType())
    assert schema["started_at"].dataType == T.TimestampType()
    assert schema["latency_ms"].dataType == T.DoubleType()
    assert all(f.nullable for f in schema.fields)
    assert len(RECORD_FIELDS) == len(record_schema().fields)
    with pytest.raises(ValueError, match="clashes"):
        record_schema([("status", T.StringType())])


def test_success_record_fits_the_schema_and_is_redacted():
    resp = HttpResponse(200, {"Content-Type": "application/json", "Set-Cookie": "s=1"}, b'{"ok":1}')
    record = build(make_exchange(resp))
    row = dict(zip(RECORD_FIELD_NAMES, record, strict=True))
    _make_type_verifier(record_schema())(record)  # the tuple is valid for the StructType
    assert row["run_id"] == "run-1" and row["batch_id"] == "7" and row["row_id"] == "42"
    assert row["status"] == 200 and row["ok"] is True and row["error_type"] is None
    assert row["request_headers"] == {"Authorization": "***", "X-Secret": "***",
                                      "Accept": "application/json"}
    assert "abc123" not in row["url"] and "key-secret-2" not in row["url"]
    assert row["url"].startswith("https://api.example.com/p?sig=") and "q=1" in row["url"]
    assert row["request_body"] == '{"a":"x","b":1}'
    assert row["response_headers"]["Set-Cookie"] == "***"
    assert row["response_body"] == '{"ok":1}'
    assert row["attempts"] == 2 and row["latency_ms"] == 1500.0
    assert row["started_at"] == T0 and row["finished_at"].tzinfo is not None
    assert (row["worker_host"], row["worker_pid"], row["partition_id"]) == ("host-a", 1234, 5)
    assert row["metadata"] == {"k": "v"}


def test_error_record_message_never_contains_header_values():
    error = TransportConnectionError(
        "proxy said no to Bearer tok-secret-1 / hidden-value / application/json"
        " ?api_key=key-secret-2")
    record = build(make_exchange(error=error))
    row = dict(zip(RECORD_FIELD_NAMES, record, strict=True))
    _make_type_verifier(record_schema())(record)
    assert row["ok"] is False and row["status"] is None
    assert row["error_type"] == "TransportConnectionError"
    for secret in ("tok-secret-1", "hidden-value", "application/json", "key-secret-2"):
        assert secret not in row["error_message"]
    assert row["error_message"].startswith("TransportConnectionError: proxy said no")


def test_http_error_status_and_last_status():
    record = build(make_exchange(HttpResponse(503, {}, b"busy", "Service Unavailable")))
    row = dict(zip(RECORD_FIELD_NAMES, record, strict=True))
    assert row["status"] == 503 and row["error_type"] == "HttpStatusError"
    assert row["error_message"] == "HTTP 503 Service Unavailable"


def test_response_body_truncation_is_utf8_safe_and_noted():
    body = ("é" * 10).encode()  # 20 bytes
    record = build(make_exchange(HttpResponse(200, {}, body)), max_body_bytes=5)
    row = dict(zip(RECORD_FIELD_NAMES, record, strict=True))
    assert row["response_body"] == "éé"
    assert row["metadata"]["response_body_truncated"] == "true"
    assert row["metadata"]["response_body_bytes"] == "20"


def test_passthrough_values_follow_the_record():
    record = build(make_exchange(HttpResponse(200, {}, b"")), passthrough=("extra", "id", "gone"))
    assert record[-3:] == ("e", 42, None)
