"""One transport (one aiohttp session) per worker process, reused across partitions, closed
cleanly when the process exits."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import trustme
from aiohttp import web

from api_etl.engine.exchange import HttpRequest
from api_etl.transport import (
    AiohttpTransportFactory,
    ProcessScope,
    TransportSettings,
    WarmupRequest,
    get_transport,
)
from tests.helpers.http_server import ServerThread, server_ssl_context

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[3]


class Recorder:
    def __init__(self) -> None:
        self.peers: list[tuple] = []
        self.paths: list[str] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.peers.append(request.transport.get_extra_info("peername"))
        self.paths.append(request.path)
        return web.json_response({"ok": True})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app


@pytest.fixture
def recorder():
    rec = Recorder()
    with ServerThread(rec.app()) as server:
        rec.server = server
        yield rec


def test_session_reused_across_two_partitions_on_the_process_loop(recorder):
    scope = ProcessScope()  # a private scope: the same class as the process-wide one
    settings = TransportSettings(warmup=WarmupRequest(recorder.server.url("/warmup")))
    url = recorder.server.url("/row")

    async def partition(factory: AiohttpTransportFactory, rows: int):
        transport = await get_transport(factory, scope=scope)
        for _ in range(rows):  # sequential rows: the one pooled connection is reused
            response = await transport.send(HttpRequest("GET", url))
            assert response.status == 200
        return transport, transport.session

    try:
        # Each partition gets its own unpickled copy of the factory, as on Spark.
        t1, s1 = scope.loop.run_until_complete(partition(AiohttpTransportFactory(settings), 3))
        t2, s2 = scope.loop.run_until_complete(partition(AiohttpTransportFactory(settings), 3))
        assert t1 is t2 and s1 is s2
        assert not s1.closed
    finally:
        scope.close()
    assert s1.closed
    assert recorder.paths == ["/warmup"] + ["/row"] * 6  # warm-up once, not per partition
    assert len(set(recorder.peers)) == 1  # one keep-alive connection served everything


def test_different_settings_or_ssl_context_get_different_transports(recorder):
    import ssl

    scope = ProcessScope()
    context = ssl.create_default_context()

    async def go():
        a = await get_transport(AiohttpTransportFactory(), scope=scope)
        b = await get_transport(AiohttpTransportFactory(TransportSettings(limit=5)), scope=scope)
        c = await get_transport(AiohttpTransportFactory(), ssl_context=context, scope=scope)
        d = await get_transport(AiohttpTransportFactory(), ssl_context=context, scope=scope)
        return a, b, c, d

    try:
        a, b, c, d = scope.loop.run_until_complete(go())
        assert len({id(a), id(b), id(c)}) == 3 and c is d
    finally:
        scope.close()


WORKER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    if sys.argv[5] == "asyncio":
        sys.modules["uvloop"] = None  # process_scope falls back to the asyncio loop
    from api_etl.auth import OAuth2ClientCredentialsFactory, MTLSAuthFactory, get_auth_provider
    from api_etl.engine.exchange import HttpRequest
    from api_etl.transport import AiohttpTransportFactory, TransportSettings, WarmupRequest
    from api_etl.transport import get_transport, process_scope

    base, ca_pem, cert_pem, key_pem = sys.argv[1], *(Path(p).read_text() for p in sys.argv[2:5])
    auth_factory = OAuth2ClientCredentialsFactory(
        token_url=base + "/token", client_id="cid", client_secret="secret",
        mtls=MTLSAuthFactory(cert_pem=cert_pem, key_pem=key_pem, ca_pem=ca_pem),
    )
    transport_factory = AiohttpTransportFactory(
        TransportSettings(warmup=WarmupRequest(base + "/warmup"))
    )

    async def partition(rows):
        auth = await get_auth_provider(auth_factory)
        transport = await get_transport(transport_factory, ssl_context=auth.ssl_context())
        for i in range(rows):
            request = HttpRequest("POST", base + "/row", json_body={"i": i})
            await auth.authorize(request)
            assert (await transport.send(request)).status == 200

    for _ in range(2):  # two partitions on the process loop, nothing closed explicitly
        process_scope.loop.run_until_complete(partition(5))
    print("partitions done")
    """
)

LEAKY = textwrap.dedent(
    """
    import asyncio, sys, aiohttp

    async def main():
        session = aiohttp.ClientSession()
        async with session.get(sys.argv[1] + "/row") as r:
            await r.read()

    asyncio.run(main())
    print("partitions done")
    """
)


@pytest.fixture(scope="module")
def tls_api(tmp_path_factory):
    """An HTTPS server requiring client certs, serving /token and everything else."""
    ca = trustme.CA()
    client = ca.issue_cert("worker@example.org")
    files = tmp_path_factory.mktemp("pki")
    paths = []
    for name, blob in (
        ("ca.pem", ca.cert_pem.bytes()),
        ("cert.pem", b"".join(b.bytes() for b in client.cert_chain_pems)),
        ("key.pem", client.private_key_pem.bytes()),
    ):
        (files / name).write_bytes(blob)
        paths.append(str(files / name))

    async def token(request: web.Request) -> web.Response:
        return web.json_response({"access_token": "t", "expires_in": 3600})

    async def other(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/token", token)
    app.router.add_route("*", "/{tail:.*}", other)
    with ServerThread(app, ssl_context=server_ssl_context(ca, require_client_cert=True)) as srv:
        yield srv, paths


def _run_script(script: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "lib"), PYTHONDEVMODE="1")
    return subprocess.run(
        [sys.executable, "-W", "always", "-c", script, *args],
        capture_output=True, text=True, timeout=45, env=env, cwd=ROOT,
    )


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_process_exit_closes_sessions_without_unclosed_warnings(tls_api, loop):
    """A worker runs two partitions (OAuth2 + mTLS over HTTPS, warm-up) and just exits:
    the atexit hook of the process scope closes the auth and transport sessions."""
    server, paths = tls_api
    proc = _run_script(WORKER, server.base_url, *paths, loop)
    assert proc.returncode == 0, proc.stderr
    assert "partitions done" in proc.stdout
    assert "unclosed" not in proc.stderr.lower(), proc.stderr
    assert "ResourceWarning" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr


def test_the_unclosed_check_detects_a_leaked_session(recorder):
    """Control: the same check does catch a session that is never closed."""
    proc = _run_script(LEAKY, recorder.server.base_url)
    assert "partitions done" in proc.stdout, proc.stderr
    assert "Unclosed client session" in proc.stderr


def test_engine_style_zero_arg_factory_opens_lazily_and_shares_the_cache_entry(recorder):
    """The engine calls ``factory()`` and caches it under ("api_etl", "transport", factory);
    the transport opens (and warms up) on its first send, and get_transport finds it."""
    scope = ProcessScope()
    factory = AiohttpTransportFactory(
        TransportSettings(warmup=WarmupRequest(recorder.server.url("/warmup")))
    )

    async def build():
        return factory()  # what the engine's _build does with a sync factory

    async def partition():
        transport = await scope.get_or_create(("api_etl", "transport", factory), build)
        assert transport.session is None  # not opened yet
        response = await transport.send(HttpRequest("GET", recorder.server.url("/row")))
        assert response.status == 200 and response.http_version == "1.1"
        return transport, await get_transport(factory, scope=scope)

    try:
        engine_transport, explicit = scope.loop.run_until_complete(partition())
        assert engine_transport is explicit
    finally:
        scope.close()
    assert recorder.paths == ["/warmup", "/row"]


def test_transport_factory_with_client_tls_presents_the_certificate(tls_api):
    from api_etl.auth import MTLSAuthFactory

    server, (ca_path, cert_path, key_path) = tls_api
    mtls = MTLSAuthFactory(
        cert_pem=Path(cert_path).read_text(),
        key_pem=Path(key_path).read_text(),
        ca_pem=Path(ca_path).read_text(),
    )
    factory = AiohttpTransportFactory(client_tls=mtls)
    assert "BEGIN" not in repr(factory)
    scope = ProcessScope()

    async def go():
        transport = await get_transport(factory, scope=scope)
        return (await transport.send(HttpRequest("GET", server.url("/x")))).status

    try:
        assert scope.loop.run_until_complete(go()) == 200
    finally:
        scope.close()
