"""NoAuth, BasicAuth, BearerAuth and ApiKeyAuth end to end against a real local server."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from aiohttp import web

from api_etl.auth import ApiKeyAuth, AuthError, BasicAuth, BearerAuth, NoAuth
from api_etl.engine.exchange import HttpRequest
from api_etl.transport import AiohttpTransport
from tests.helpers.http_server import ServerThread

pytestmark = pytest.mark.timeout(30)


def run(coro, timeout: float = 10.0):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def echo(request: web.Request) -> web.Response:
    return web.json_response(
        {"headers": dict(request.headers), "query": dict(request.query)}
    )


@pytest.fixture(scope="module")
def server():
    app = web.Application()
    app.router.add_get("/echo", echo)
    with ServerThread(app) as srv:
        yield srv


async def _send(server: ServerThread, provider, request: HttpRequest | None = None) -> dict:
    transport = AiohttpTransport()
    try:
        request = request or HttpRequest("GET", server.url("/echo"))
        await provider.authorize(request)
        response = await transport.send(request)
        assert response.status == 200
        return json.loads(response.body)
    finally:
        await transport.close()
        await provider.close()


def test_no_auth_adds_nothing(server):
    seen = run(_send(server, NoAuth()))
    assert "Authorization" not in seen["headers"]
    assert seen["query"] == {}


def test_basic_auth_sends_credentials_the_server_decodes(server):
    seen = run(_send(server, BasicAuth("alice", "pa:ss wörd")))
    decoded = aiohttp.BasicAuth.decode(seen["headers"]["Authorization"], encoding="utf-8")
    assert (decoded.login, decoded.password) == ("alice", "pa:ss wörd")


def test_basic_auth_replaces_any_existing_authorization_spelling(server):
    request = HttpRequest("GET", server.url("/echo"), headers={"authorization": "stale"})
    seen = run(_send(server, BasicAuth("alice", "pw"), request))
    assert seen["headers"]["Authorization"].startswith("Basic ")


def test_bearer_auth(server):
    seen = run(_send(server, BearerAuth("static-token-123")))
    assert seen["headers"]["Authorization"] == "Bearer static-token-123"


def test_api_key_in_header(server):
    seen = run(_send(server, ApiKeyAuth("X-API-Key", "key-abc", location="header")))
    assert seen["headers"]["X-API-Key"] == "key-abc"
    assert seen["query"] == {}


def test_api_key_in_query(server):
    request = HttpRequest("GET", server.url("/echo"), params={"q": "1"})
    seen = run(_send(server, ApiKeyAuth("api_key", "key-xyz", location="query"), request))
    assert seen["query"] == {"q": "1", "api_key": "key-xyz"}
    assert "X-API-Key" not in seen["headers"]


def test_api_key_rejects_unknown_location():
    with pytest.raises(AuthError, match="location"):
        ApiKeyAuth("k", "v", location="cookie")  # type: ignore[arg-type]


def test_static_providers_have_no_ssl_context_and_ignore_invalidate():
    for provider in (NoAuth(), BasicAuth("u", "p"), BearerAuth("t"), ApiKeyAuth("k", "v")):
        assert provider.ssl_context() is None
        run(provider.invalidate())
