"""The bronze result record: one per source row, defined once here.

``RECORD_FIELDS`` is the ordered list of ``(name, spark type)``; :func:`record_schema`
turns it (plus optional pass-through source columns) into a pyspark ``StructType``;
:class:`RecordBuilder` turns a finished :class:`~api_etl.engine.exchange.Exchange` into a
plain tuple in exactly that order. Every field is nullable.

Redaction: ``url`` has sensitive query values replaced by ``***``; request and response
headers have sensitive values replaced; ``error_message`` has every request header value
and sensitive parameter value scrubbed. ``response_body`` is cut to ``max_body_bytes``
(UTF-8 safe) when configured, and ``metadata`` then holds ``response_body_truncated`` =
``"true"`` and ``response_body_bytes`` = the original size.

``latency_ms`` is the API's time for the row's last HTTP attempt; the row's whole time in
the middleware chain (all attempts, backoff and rate-limit waits) is ``metadata["elapsed_ms"]``,
and per-attempt latencies are in ``metadata`` when the timing middleware is configured. ``started_at`` / ``finished_at`` are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from api_etl.engine.exchange import Exchange
from api_etl.engine.identity import WorkerIdentity
from api_etl.engine.redaction import Redactor

RECORD_FIELDS: tuple[tuple[str, str], ...] = (
    ("run_id", "string"),
    ("batch_id", "string"),
    ("request_id", "string"),
    ("row_id", "string"),
    ("method", "string"),
    ("url", "string"),
    ("request_headers", "map<string,string>"),
    ("request_body", "string"),
    ("status", "int"),
    ("ok", "boolean"),
    ("response_headers", "map<string,string>"),
    ("response_body", "string"),
    ("error_type", "string"),
    ("error_message", "string"),
    ("attempts", "int"),
    ("latency_ms", "double"),
    ("started_at", "timestamp"),
    ("finished_at", "timestamp"),
    ("worker_host", "string"),
    ("worker_pid", "int"),
    ("partition_id", "int"),
    ("metadata", "map<string,string>"),
)
RECORD_FIELD_NAMES: tuple[str, ...] = tuple(name for name, _ in RECORD_FIELDS)
FIELD_INDEX: dict[str, int] = {name: i for i, name in enumerate(RECORD_FIELD_NAMES)}

MAX_ERROR_MESSAGE_CHARS = 2000

HTTP_STATUS_ERROR = "HttpStatusError"


def _spark_type(name: str) -> Any:
    from pyspark.sql import types as T  # noqa: PLC0415, N812 - driver side, lazily

    simple = {
        "string": T.StringType(),
        "int": T.IntegerType(),
        "boolean": T.BooleanType(),
        "double": T.DoubleType(),
        "timestamp": T.TimestampType(),
        "map<string,string>": T.MapType(T.StringType(), T.StringType(), True),
    }
    return simple[name]


def record_schema(passthrough: Iterable[Any] = ()) -> Any:
    """The record's ``StructType``, with pass-through fields appended in order.

    ``passthrough`` items are ``StructField``s or ``(name, DataType)`` pairs (typically the
    source DataFrame's fields for the pass-through columns). A name that clashes with a
    record field is an error.
    """
    from pyspark.sql import types as T  # noqa: PLC0415, N812

    fields = [T.StructField(name, _spark_type(kind), True) for name, kind in RECORD_FIELDS]
    for item in passthrough:
        field = item if isinstance(item, T.StructField) else T.StructField(item[0], item[1], True)
        if field.name in FIELD_INDEX:
            raise ValueError(f"pass-through column {field.name!r} clashes with a record field")
        fields.append(T.StructField(field.name, field.dataType, True))
    return T.StructType(fields)


def error_type_of(exchange: Exchange) -> str | None:
    if exchange.error_type is not None:
        return exchange.error_type
    if exchange.error is not None:
        return type(exchange.error).__name__
    if exchange.response is None:
        return "NoResponse"
    if not 200 <= exchange.response.status < 300:
        return HTTP_STATUS_ERROR
    return None


def error_message_of(exchange: Exchange) -> str | None:
    if exchange.error_message is not None:
        return exchange.error_message
    if exchange.error is not None:
        text = str(exchange.error)
        return f"{type(exchange.error).__name__}: {text}" if text else type(exchange.error).__name__
    if exchange.response is None:
        return "no response" if exchange.error_type is None else None
    if not 200 <= exchange.response.status < 300:
        reason = exchange.response.reason
        return f"HTTP {exchange.response.status}" + (f" {reason}" if reason else "")
    return None


def _body_text(request_json: Any, data: bytes | str | None) -> str | None:
    if request_json is not None:
        return json.dumps(request_json, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    if data is None:
        return None
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace")
    return data


@dataclasses.dataclass(frozen=True)
class RecordBuilder:
    """Builds record tuples for one partition (run/batch ids and worker identity fixed)."""

    run_id: str | None
    batch_id: str | None
    identity: WorkerIdentity
    redactor: Redactor = Redactor()
    max_body_bytes: int | None = None
    passthrough: Sequence[str] = ()

    def build(
        self,
        exchange: Exchange,
        *,
        started_at: dt.datetime,
        finished_at: dt.datetime,
        latency_ms: float,
        row: Mapping[str, Any] | None = None,
    ) -> tuple[Any, ...]:
        redactor = self.redactor
        request = exchange.request
        response = exchange.response
        metadata = dict(exchange.metadata)
        if len(exchange.attempt_log) > 1:
            # Every attempt's outcome, so the driver can count throttling (429) and 5xx
            # that a retry later hid; one attempt needs no entry (status says it all).
            metadata["attempt_statuses"] = ",".join(
                str(a.status) if a.status is not None else (a.error_type or "error")
                for a in exchange.attempt_log
            )

        response_headers = None
        response_body = None
        if response is not None:
            response_headers = redactor.headers(response.headers)
            body = response.body or b""
            if self.max_body_bytes is not None and len(body) > self.max_body_bytes:
                metadata["response_body_truncated"] = "true"
                metadata["response_body_bytes"] = str(len(body))
                response_body = body[: self.max_body_bytes].decode("utf-8", errors="ignore")
            else:
                response_body = body.decode("utf-8", errors="replace")

        message = error_message_of(exchange)
        if message is not None:
            message = redactor.scrub(message, request)
            if len(message) > MAX_ERROR_MESSAGE_CHARS:
                message = message[:MAX_ERROR_MESSAGE_CHARS] + "..."

        ident = self.identity
        values = [
            self.run_id,
            self.batch_id,
            exchange.request_id,
            exchange.row_id,
            request.method,
            redactor.url(request.url, request.params),
            redactor.headers(request.headers),
            _body_text(request.json_body, request.data),
            response.status if response is not None else None,
            exchange.ok,
            response_headers,
            response_body,
            error_type_of(exchange),
            message,
            exchange.attempts,
            latency_ms,
            started_at,
            finished_at,
            ident.host,
            ident.pid,
            ident.partition_id,
            metadata,
        ]
        if self.passthrough:
            source = row if row is not None else exchange.row
            values.extend(source.get(name) for name in self.passthrough)
        return tuple(values)
