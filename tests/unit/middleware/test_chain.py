"""compose(): first configured = outermost; before in order, after in reverse."""

import asyncio

import pytest

from api_etl.middleware.chain import compose
from tests.unit.engine.fakes import ScriptedTransport, exchange, terminal


def tracer(name, log):
    async def middleware(ex, next_call):
        log.append(f"{name}:before")
        ex = await next_call(ex)
        log.append(f"{name}:after")
        return ex

    return middleware


def test_order_before_and_after():
    log = []

    async def send(ex):
        log.append("send")
        return ex

    call = compose([tracer("A", log), tracer("B", log), tracer("C", log)], send)
    asyncio.run(call(exchange()))
    assert log == ["A:before", "B:before", "C:before", "send", "C:after", "B:after", "A:after"]


def test_empty_chain_is_the_terminal():
    transport = ScriptedTransport()
    ex = asyncio.run(compose([], terminal(transport))(exchange()))
    assert ex.attempts == 1 and ex.status == 200 and len(transport.requests) == 1


def test_short_circuit_skips_inner_middleware_and_send():
    log = []

    async def cached(ex, next_call):
        log.append("cache-hit")
        return ex

    transport = ScriptedTransport()
    call = compose([tracer("A", log), cached, tracer("B", log)], terminal(transport))
    ex = asyncio.run(call(exchange()))
    assert log == ["A:before", "cache-hit", "A:after"]
    assert transport.requests == [] and ex.attempts == 0


def test_not_callable_is_rejected():
    with pytest.raises(TypeError):
        compose([42], terminal(ScriptedTransport()))


def test_terminal_counts_attempts_and_stores_errors():
    from api_etl.transport.base import TransportConnectionError

    transport = ScriptedTransport([TransportConnectionError("refused")])
    ex = asyncio.run(terminal(transport)(exchange()))
    assert ex.response is None and isinstance(ex.error, TransportConnectionError)
    assert ex.attempts == 1 and ex.attempt_log[0].error_type == "TransportConnectionError"
    assert not ex.ok
