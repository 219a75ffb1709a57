"""Timing, worker identity and transport diagnostics only annotate metadata."""

import asyncio
import os
import socket

from api_etl.engine.exchange import HttpResponse
from api_etl.engine.identity import WorkerIdentity, current_identity
from api_etl.middleware.base import MiddlewareContext
from api_etl.middleware.chain import compose
from api_etl.middleware.diagnostics import TransportDiagnosticsMiddleware
from api_etl.middleware.identity import WorkerIdentityFactory, WorkerIdentityMiddleware
from api_etl.middleware.retry import RetryMiddleware
from api_etl.middleware.timing import TimingMiddleware
from api_etl.engine.terminal import TransportCall
from api_etl.transport.base import TransportTimeout
from tests.unit.engine.fakes import RecordingSleep, ScriptedTransport, exchange, response


class StepClock:
    def __init__(self, step):
        self.t = 0.0
        self.step = step

    def __call__(self):
        self.t += self.step
        return self.t


def test_timing_per_attempt_and_total_with_fake_clocks():
    transport = ScriptedTransport([response(503), response(200)])
    terminal = TransportCall(transport, clock=StepClock(0.010))  # each send "takes" 10 ms
    retry = RetryMiddleware(sleep=RecordingSleep(), random=lambda: 0.0)
    timing = TimingMiddleware(clock=StepClock(0.5))
    ex = asyncio.run(compose([timing, retry], terminal)(exchange()))
    assert ex.metadata["attempt_latencies_ms"] == "10.000,10.000"
    assert ex.metadata["latency_ms"] == "500.000"


def test_worker_identity_outside_spark():
    ident = current_identity()
    assert ident.host == socket.gethostname() and ident.pid == os.getpid()
    assert ident.partition_id is None  # no TaskContext outside a Spark task
    mw = WorkerIdentityFactory()(MiddlewareContext())
    ex = asyncio.run(compose([mw], TransportCall(ScriptedTransport()))(exchange()))
    assert ex.metadata["worker_pid"] == str(os.getpid())
    assert "spark_partition_id" not in ex.metadata


def test_worker_identity_from_context():
    mw = WorkerIdentityMiddleware(WorkerIdentity("h1", 42, partition_id=7, stage_id=3,
                                                 attempt_number=1))
    ex = asyncio.run(compose([mw], TransportCall(ScriptedTransport()))(exchange()))
    assert ex.metadata["worker_host"] == "h1" and ex.metadata["spark_partition_id"] == "7"
    assert ex.metadata["spark_stage_id"] == "3" and ex.metadata["spark_task_attempt"] == "1"


def test_diagnostics_records_version_length_attempts():
    ok = HttpResponse(200, {"Content-Length": "2"}, b"{}", "OK", http_version="1.1")
    transport = ScriptedTransport([TransportTimeout("slow"), ok])
    retry = RetryMiddleware(sleep=RecordingSleep(), random=lambda: 0.0)
    call = compose([TransportDiagnosticsMiddleware(), retry], TransportCall(transport))
    ex = asyncio.run(call(exchange()))
    meta = ex.metadata
    assert meta["http_version"] == "1.1" and meta["content_length"] == "2"
    assert meta["response_bytes"] == "2" and meta["attempts"] == "2"
    assert meta["attempt_outcomes"] == "TransportTimeout,200"
    assert meta["retry_reasons"] == "timeout" and meta["reason"] == "OK"


def test_diagnostics_without_response():
    transport = ScriptedTransport([TransportTimeout("slow")])
    call = compose([TransportDiagnosticsMiddleware()], TransportCall(transport))
    ex = asyncio.run(call(exchange()))
    assert ex.metadata["transport_error"] == "TransportTimeout"
    assert ex.metadata["attempts"] == "1"
