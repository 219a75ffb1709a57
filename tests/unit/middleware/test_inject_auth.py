"""Row-value injection into headers/query, and auth injection with one resend on 401."""

import asyncio
import pickle

import pytest

from api_etl.engine.errors import MiddlewareConfigError, RequestBuildError
from api_etl.middleware.auth import AuthFactory, AuthMiddleware
from api_etl.middleware.base import MiddlewareContext
from api_etl.middleware.chain import compose
from api_etl.middleware.inject import InjectFactory, InjectMiddleware
from api_etl.middleware.retry import RetryMiddleware
from api_etl.engine.terminal import TransportCall
from tests.unit.engine.fakes import FakeAuth, RecordingSleep, ScriptedTransport, exchange, response


def test_inject_headers_and_query_from_row():
    transport = ScriptedTransport()
    mw = InjectMiddleware(headers={"X-Tenant": "tenant"}, query={"region": "reg", "n": "num"})
    row = {"tenant": "acme", "reg": "eu", "num": 3}
    asyncio.run(compose([mw], TransportCall(transport))(exchange(row=row)))
    sent = transport.requests[0]
    assert sent.headers["X-Tenant"] == "acme"
    assert sent.params == {"region": "eu", "n": "3"}


def test_inject_null_is_left_out_and_missing_column_names_it():
    transport = ScriptedTransport()
    mw = InjectMiddleware(headers={"X-Tenant": "tenant"})
    asyncio.run(compose([mw], TransportCall(transport))(exchange(row={"tenant": None})))
    assert "X-Tenant" not in transport.requests[0].headers
    with pytest.raises(RequestBuildError, match="'tenant'"):
        asyncio.run(compose([mw], TransportCall(transport))(exchange(row={})))


def test_inject_factory_pickles():
    factory = InjectFactory(headers={"X-A": "a"}, query={"q": "b"})
    copy = pickle.loads(pickle.dumps(factory))
    assert copy.columns() == {"a", "b"}
    assert isinstance(copy(MiddlewareContext()), InjectMiddleware)


def test_auth_authorizes_before_send():
    auth = FakeAuth()
    transport = ScriptedTransport()
    ex = asyncio.run(compose([AuthMiddleware(auth)], TransportCall(transport))(exchange()))
    assert transport.requests[0].headers["Authorization"] == "Bearer t1"
    assert ex.ok and auth.authorized == 1 and auth.invalidated == 0


def test_auth_401_invalidates_and_resends_once():
    auth = FakeAuth()
    transport = ScriptedTransport([response(401), response(200)])
    ex = asyncio.run(compose([AuthMiddleware(auth)], TransportCall(transport))(exchange()))
    assert ex.ok and ex.attempts == 2 and auth.invalidated == 1
    assert [r.headers["Authorization"] for r in transport.requests] == ["Bearer t1", "Bearer t2"]
    assert ex.metadata["auth_refreshed"] == "true"


def test_auth_second_401_is_final():
    auth = FakeAuth()
    transport = ScriptedTransport([response(401)])
    ex = asyncio.run(compose([AuthMiddleware(auth)], TransportCall(transport))(exchange()))
    assert ex.status == 401 and ex.attempts == 2 and auth.invalidated == 1


def test_auth_inside_retry_reauthorizes_every_attempt():
    auth = FakeAuth()
    transport = ScriptedTransport([response(503), response(200)])
    retry = RetryMiddleware(sleep=RecordingSleep(), random=lambda: 0.0)
    ex = asyncio.run(compose([retry, AuthMiddleware(auth)], TransportCall(transport))(exchange()))
    assert ex.ok and ex.attempts == 2 and auth.authorized == 2


def test_auth_refresh_can_be_disabled_and_factory_needs_provider():
    auth = FakeAuth()
    mw = AuthFactory(refresh_on_401=False)(MiddlewareContext(auth=auth))
    transport = ScriptedTransport([response(401), response(200)])
    ex = asyncio.run(compose([mw], TransportCall(transport))(exchange()))
    assert ex.status == 401 and ex.attempts == 1
    with pytest.raises(MiddlewareConfigError, match="no auth provider"):
        AuthFactory()(MiddlewareContext())


def test_static_credentials_are_not_resent_after_401():
    from api_etl.auth.static import BearerAuth

    transport = ScriptedTransport([response(401), response(200)])
    ex = asyncio.run(compose([AuthMiddleware(BearerAuth("wrong"))], TransportCall(transport))(exchange()))
    assert ex.status == 401 and ex.attempts == 1 and len(transport.requests) == 1
