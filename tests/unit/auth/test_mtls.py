"""mTLS and OAuth2 + mTLS against real local TLS servers that require a client certificate."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import stat

import pytest
from aiohttp import web
from cryptography.hazmat.primitives import serialization

from api_etl.auth import (
    AuthError,
    MTLSAuth,
    MTLSAuthFactory,
    OAuth2ClientCredentialsAuth,
    OAuth2ClientCredentialsFactory,
    TokenCache,
    load_client_ssl_context,
)
from api_etl.engine.exchange import HttpRequest
from api_etl.transport import AiohttpTransport, TransportConnectionError, TransportSettings
from tests.helpers.http_server import ServerThread, server_ssl_context
from tests.unit.auth.conftest import CLIENT_ID, CLIENT_SECRET

pytestmark = pytest.mark.timeout(30)

KEY_PASSWORD = "key-pass-77e1-S3CR3T"


def run(coro, timeout: float = 10.0):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def whoami(request: web.Request) -> web.Response:
    cert = request.transport.get_extra_info("peercert")
    emails = [v for k, v in cert.get("subjectAltName", ()) if k == "email"]
    return web.json_response({"client": emails[0]})


@pytest.fixture(scope="module")
def mtls_server(pki):
    app = web.Application()
    app.router.add_get("/whoami", whoami)
    with ServerThread(app, ssl_context=server_ssl_context(pki.ca, require_client_cert=True)) as srv:
        yield srv


def encrypted_key(pki) -> str:
    key = serialization.load_pem_private_key(pki.key_pem.encode(), password=None)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(KEY_PASSWORD.encode()),
    ).decode()


async def get_json(transport: AiohttpTransport, url: str) -> dict:
    response = await transport.send(HttpRequest("GET", url))
    assert response.status == 200, response.text
    return json.loads(response.body)


def test_mtls_client_certificate_is_presented(mtls_server, pki):
    provider = MTLSAuth(pki.cert_pem, pki.key_pem, ca_pem=pki.ca_pem)

    async def go():
        transport = AiohttpTransport(ssl_context=provider.ssl_context())
        try:
            request = HttpRequest("GET", mtls_server.url("/whoami"))
            await provider.authorize(request)
            assert request.headers == {}  # mTLS adds nothing to the request itself
            return await get_json(transport, request.url)
        finally:
            await transport.close()
            await provider.close()

    assert run(go()) == {"client": "client@example.org"}


def test_mtls_with_password_protected_key(mtls_server, pki):
    provider = MTLSAuthFactory(
        cert_pem=pki.cert_pem,
        key_pem=encrypted_key(pki),
        ca_pem=pki.ca_pem,
        key_password=KEY_PASSWORD,
    )()

    async def go():
        transport = AiohttpTransport(ssl_context=provider.ssl_context())
        try:
            return await get_json(transport, mtls_server.url("/whoami"))
        finally:
            await transport.close()
            await provider.close()

    assert run(go()) == {"client": "client@example.org"}


def test_client_without_certificate_fails_with_a_clear_error(mtls_server, pki):
    async def go():
        transport = AiohttpTransport(TransportSettings(ca_bundle_pem=pki.ca_pem))
        try:
            await transport.send(HttpRequest("GET", mtls_server.url("/whoami")))
        finally:
            await transport.close()

    with pytest.raises(TransportConnectionError) as info:
        run(go())
    message = str(info.value)
    assert mtls_server.url("/whoami") in message
    assert "client certificate" in message


def test_wrong_key_password_is_an_auth_error_without_the_password(pki, tmp_path):
    with pytest.raises(AuthError, match="could not load the client certificate") as info:
        load_client_ssl_context(
            pki.cert_pem, encrypted_key(pki), key_password="wrong-S3CR3T", tmp_root=str(tmp_path)
        )
    assert "wrong-S3CR3T" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_pem_temp_files_are_private_and_removed_right_after_loading(pki, tmp_path, monkeypatch):
    seen: dict = {}
    original = ssl.SSLContext.load_cert_chain

    def spy(self, certfile, keyfile=None, password=None):
        directory = os.path.dirname(certfile)
        seen["dir_mode"] = stat.S_IMODE(os.stat(directory).st_mode)
        seen["file_modes"] = {stat.S_IMODE(os.stat(p).st_mode) for p in (certfile, keyfile)}
        seen["dir"] = directory
        return original(self, certfile, keyfile, password)

    monkeypatch.setattr(ssl.SSLContext, "load_cert_chain", spy)
    provider = MTLSAuth(pki.cert_pem, pki.key_pem, ca_pem=pki.ca_pem, tmp_root=str(tmp_path))
    assert seen["dir_mode"] == 0o700
    assert seen["file_modes"] == {0o600}
    assert os.path.dirname(seen["dir"]) == str(tmp_path)
    assert not os.path.exists(seen["dir"])
    assert list(tmp_path.iterdir()) == []
    run(provider.close())
    assert provider.ssl_context() is None


def test_bad_pem_is_an_auth_error_and_leaves_no_files(tmp_path):
    with pytest.raises(AuthError, match="client certificate and key"):
        MTLSAuth("not a certificate", "not a key", tmp_root=str(tmp_path))
    assert list(tmp_path.iterdir()) == []


def test_bad_ca_pem_is_an_auth_error(pki):
    with pytest.raises(AuthError, match="CA certificate"):
        MTLSAuth(pki.cert_pem, pki.key_pem, ca_pem="-----BEGIN CERTIFICATE-----\nxx\n")


@pytest.mark.parametrize("method", ["client_secret_basic", "tls_client_auth"])
def test_oauth2_with_mtls_token_request_and_api_use_the_client_certificate(
    token_server, pki, method
):
    ts = token_server(tls=pki, expect_method=method)
    factory = OAuth2ClientCredentialsFactory(
        token_url=ts.token_url,
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET if method != "tls_client_auth" else None,
        client_auth_method=method,
        mtls=MTLSAuthFactory(cert_pem=pki.cert_pem, key_pem=pki.key_pem, ca_pem=pki.ca_pem),
    )
    provider = factory()
    provider._cache = TokenCache()  # isolate from other tests' tokens

    async def go():
        context = provider.ssl_context()
        assert isinstance(context, ssl.SSLContext)
        transport = AiohttpTransport(ssl_context=context)
        try:
            request = HttpRequest("GET", ts.api_url)
            await provider.authorize(request)
            response = await transport.send(request)
            return response.status, json.loads(response.body)
        finally:
            await transport.close()
            await provider.close()

    status, body = run(go())
    assert status == 200
    assert body == {"token": "tok-1", "peer": "client@example.org"}
    assert [r["peer"] for r in ts.token_requests] == ["client@example.org"]
    assert ts.token_requests[0]["method"] == method


def test_oauth2_without_client_certificate_against_mtls_token_endpoint(token_server, pki):
    ts = token_server(tls=pki)
    provider = OAuth2ClientCredentialsAuth(
        ts.token_url, CLIENT_ID, CLIENT_SECRET, ca_bundle_pem=pki.ca_pem, cache=TokenCache()
    )

    async def go():
        try:
            await provider.authorize(HttpRequest("GET", ts.api_url))
        finally:
            await provider.close()

    with pytest.raises(AuthError) as info:
        run(go())
    message = str(info.value)
    assert ts.token_url in message and "client certificate" in message
    assert CLIENT_SECRET not in message
