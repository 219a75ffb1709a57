"""AiohttpTransport against a real local server: bodies, headers, error mapping, warm-up."""

from __future__ import annotations

import asyncio
import json
import logging
import pickle

import pytest
from aiohttp import web

from api_etl.engine.exchange import HttpRequest
from api_etl.transport import (
    AiohttpTransport,
    AiohttpTransportFactory,
    TransportConnectionError,
    TransportError,
    TransportSettings,
    TransportTimeout,
    WarmupRequest,
)
from api_etl.transport.aiohttp_transport import encode_body
from api_etl.transport.urls import redact_url
from tests.helpers.http_server import ServerThread, unused_port

pytestmark = pytest.mark.timeout(30)


def run(coro, timeout: float = 10.0):
    return asyncio.run(asyncio.wait_for(coro, timeout))


class Api:
    """Routes: /echo (everything it received), /slow (never answers until shutdown),
    /drop (closes the connection without answering), /truncated (short body), /warmup."""

    def __init__(self) -> None:
        self.warmups: list[str] = []
        self.server: ServerThread | None = None

    async def echo(self, request: web.Request) -> web.Response:
        body = await request.read()
        resp = web.json_response(
            {
                "method": request.method,
                "path": request.path,
                "query": dict(request.query),
                "headers": dict(request.headers),
                "body": body.decode(),
            }
        )
        resp.headers.add("X-Multi", "a")
        resp.headers.add("X-Multi", "b")
        return resp

    async def slow(self, request: web.Request) -> web.Response:
        await self.server.released.wait()
        return web.Response(text="late")

    async def drop(self, request: web.Request) -> web.Response:
        request.transport.close()
        await asyncio.sleep(0)
        return web.Response(text="never sent")

    async def truncated(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse(headers={"Content-Length": "1000"})
        await resp.prepare(request)
        await resp.write(b"x" * 10)
        await asyncio.sleep(0.05)
        request.transport.close()
        return resp

    async def warmup(self, request: web.Request) -> web.Response:
        self.warmups.append(request.method)
        return web.Response(text="warm")


@pytest.fixture(scope="module")
def api():
    api = Api()
    app = web.Application()
    app.router.add_route("*", "/echo", api.echo)
    app.router.add_get("/slow", api.slow)
    app.router.add_get("/drop", api.drop)
    app.router.add_get("/truncated", api.truncated)
    app.router.add_route("*", "/warmup", api.warmup)
    with ServerThread(app) as server:
        api.server = server
        yield api


async def send(request: HttpRequest, settings: TransportSettings | None = None):
    transport = AiohttpTransport(settings)
    try:
        return await transport.send(request)
    finally:
        await transport.close()


def test_json_body_is_compact_with_content_type(api):
    request = HttpRequest(
        "post", api.server.url("/echo"), params={"a": "1"}, json_body={"k": [1, 2], "é": "ü"}
    )
    response = run(send(request))
    seen = json.loads(response.body)
    assert response.status == 200
    assert seen["method"] == "POST" and seen["query"] == {"a": "1"}
    assert seen["body"] == '{"k":[1,2],"é":"ü"}'
    assert seen["headers"]["Content-Type"] == "application/json"
    assert seen["headers"]["User-Agent"].startswith("api-etl/")
    assert response.headers["X-Multi"] == "a, b"
    assert response.reason == "OK"


def test_existing_content_type_is_kept(api):
    request = HttpRequest(
        "PUT", api.server.url("/echo"), headers={"content-type": "application/vnd.x+json"},
        json_body=[1],
    )
    seen = json.loads(run(send(request)).body)
    assert seen["headers"]["Content-Type"] == "application/vnd.x+json"
    assert seen["body"] == "[1]"


def test_str_data_is_sent_as_utf8(api):
    request = HttpRequest("POST", api.server.url("/echo"), data="plain ü")
    assert json.loads(run(send(request)).body)["body"] == "plain ü"


def test_json_body_and_data_together_is_an_error():
    with pytest.raises(ValueError):
        encode_body(HttpRequest("POST", "http://x/", json_body={}, data=b"x"))


def test_read_timeout_is_transport_timeout_naming_url_without_query_or_headers(api):
    request = HttpRequest(
        "GET", api.server.url("/slow") + "?token=QUERY-S3CR3T",
        params={"api_key": "PARAM-S3CR3T"}, headers={"Authorization": "Bearer HDR-S3CR3T"},
    )
    with pytest.raises(TransportTimeout) as info:
        run(send(request, TransportSettings(read_timeout=0.2)))
    message = str(info.value)
    assert message.startswith(f"GET {api.server.url('/slow')}: ")
    assert "S3CR3T" not in message


def test_total_timeout_is_transport_timeout(api):
    with pytest.raises(TransportTimeout):
        run(send(HttpRequest("GET", api.server.url("/slow")), TransportSettings(total_timeout=0.2)))


def test_refused_port_is_transport_connection_error():
    url = f"http://127.0.0.1:{unused_port()}/x?key=S3CR3T"
    with pytest.raises(TransportConnectionError) as info:
        run(send(HttpRequest("GET", url)))
    assert "cannot connect to 127.0.0.1" in str(info.value)
    assert "S3CR3T" not in str(info.value)


def test_server_dropping_the_connection_is_transport_connection_error(api):
    with pytest.raises(TransportConnectionError, match="closed the connection"):
        run(send(HttpRequest("GET", api.server.url("/drop"))))


def test_truncated_body_is_transport_connection_error(api):
    with pytest.raises(TransportConnectionError, match="full response body"):
        run(send(HttpRequest("GET", api.server.url("/truncated"))))


def test_invalid_url_is_a_transport_error_without_query():
    with pytest.raises(TransportError) as info:
        run(send(HttpRequest("GET", "http://[::1/x?key=S3CR3T")))
    assert "S3CR3T" not in str(info.value)


def test_warmup_request_is_sent_once_at_start(api):
    factory = AiohttpTransportFactory(
        TransportSettings(warmup=WarmupRequest(api.server.url("/warmup"), method="HEAD"))
    )
    before = len(api.warmups)

    async def go():
        transport = await factory.create()
        try:
            await transport.start()  # idempotent
            await transport.send(HttpRequest("GET", api.server.url("/echo")))
            return transport.warmup_status
        finally:
            await transport.close()

    assert run(go()) == 200
    assert api.warmups[before:] == ["HEAD"]


def test_warmup_failure_is_logged_not_raised(api, caplog):
    caplog.set_level(logging.WARNING, logger="api_etl.transport")
    url = f"http://127.0.0.1:{unused_port()}/ping?key=S3CR3T"
    factory = AiohttpTransportFactory(TransportSettings(warmup=WarmupRequest(url, timeout=2)))

    async def go():
        transport = await factory.create()
        try:
            response = await transport.send(HttpRequest("GET", api.server.url("/echo")))
            return response.status
        finally:
            await transport.close()

    assert run(go()) == 200
    assert "warm-up GET http://127.0.0.1" in caplog.text and "failed" in caplog.text
    assert "S3CR3T" not in caplog.text


def test_factory_and_settings_pickle_and_validate():
    factory = AiohttpTransportFactory(
        TransportSettings(limit=5, limit_per_host=2, warmup=WarmupRequest("https://a/ping"))
    )
    assert pickle.loads(pickle.dumps(factory)) == factory
    assert hash(pickle.loads(pickle.dumps(factory))) == hash(factory)
    with pytest.raises(ValueError):
        TransportSettings(read_timeout=0)


def test_settings_reach_the_connector(api):
    settings = TransportSettings(limit=7, limit_per_host=3, ttl_dns_cache=11, keepalive_timeout=4)

    async def go():
        transport = await AiohttpTransportFactory(settings).create()
        try:
            c = transport.connector
            return c.limit, c.limit_per_host, transport.session.timeout
        finally:
            await transport.close()

    limit, per_host, timeout = run(go())
    assert (limit, per_host) == (7, 3)
    assert (timeout.total, timeout.sock_connect, timeout.sock_read) == (60.0, 10.0, 30.0)


def test_verify_ssl_false_with_client_certificate_context_is_refused():
    import ssl

    transport = AiohttpTransport(
        TransportSettings(verify_ssl=False), ssl_context=ssl.create_default_context()
    )
    with pytest.raises(ValueError, match="verify_ssl"):
        run(transport.start())


@pytest.mark.parametrize(
    "url, expected",
    [
        ("https://u:p@h.example:8443/a/b?k=v#f", "https://h.example:8443/a/b"),
        ("http://h/x", "http://h/x"),
        ("http://[::1]:80/x?y", "http://[::1]:80/x"),
    ],
)
def test_redact_url(url, expected):
    assert redact_url(url) == expected


def test_untrusted_server_certificate_is_a_clear_connection_error():
    import trustme

    from tests.helpers.http_server import server_ssl_context

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", ok)
    # The server's certificate is issued by a CA the client does not trust.
    with ServerThread(app, ssl_context=server_ssl_context(trustme.CA())) as server:
        with pytest.raises(TransportConnectionError, match="certificate verification failed"):
            run(send(HttpRequest("GET", server.url("/"))))


def test_closed_transport_does_not_reopen(api):
    async def go():
        transport = AiohttpTransport()
        await transport.send(HttpRequest("GET", api.server.url("/echo")))
        await transport.close()
        await transport.send(HttpRequest("GET", api.server.url("/echo")))

    with pytest.raises(TransportError, match="closed"):
        run(go())
