"""Factories are picklable and hashable; secrets never show in repr/str/errors; providers
are process-scoped through ``get_auth_provider``."""

from __future__ import annotations

import asyncio
import logging
import pickle
import traceback

import pytest

from api_etl.auth import (
    ApiKeyAuthFactory,
    AuthError,
    BasicAuthFactory,
    BearerAuthFactory,
    MTLSAuthFactory,
    NoAuthFactory,
    OAuth2ClientCredentialsFactory,
    OAuth2PasswordFactory,
    get_auth_provider,
    client_tls_for,
    token_cache,
)
from api_etl.engine.exchange import HttpRequest
from api_etl.transport import ProcessScope
from tests.unit.auth.conftest import CLIENT_ID, CLIENT_SECRET, PASSWORD, USERNAME

pytestmark = pytest.mark.timeout(30)

SECRETS = [CLIENT_SECRET, PASSWORD, "basic-pw-S3CR3T", "bearer-tok-S3CR3T", "api-key-S3CR3T"]


def all_factories(pki, token_url="https://auth.example/token?tenant=t-S3CR3T"):
    mtls = MTLSAuthFactory(cert_pem=pki.cert_pem, key_pem=pki.key_pem, ca_pem=pki.ca_pem)
    return [
        NoAuthFactory(),
        BasicAuthFactory("basic-user", "basic-pw-S3CR3T"),
        BearerAuthFactory("bearer-tok-S3CR3T"),
        ApiKeyAuthFactory("X-API-Key", "api-key-S3CR3T"),
        ApiKeyAuthFactory("api_key", "api-key-S3CR3T", location="query"),
        mtls,
        OAuth2ClientCredentialsFactory(
            token_url=token_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
            scope="s", audience="a", extra_params={"resource": "r"},
        ),
        OAuth2PasswordFactory(
            token_url=token_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
            username=USERNAME, password=PASSWORD, client_auth_method="client_secret_post",
        ),
        OAuth2ClientCredentialsFactory(
            token_url=token_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, mtls=mtls
        ),
    ]


def test_factories_pickle_round_trip_and_hash(pki):
    for factory in all_factories(pki):
        clone = pickle.loads(pickle.dumps(factory))
        assert clone == factory
        assert hash(clone) == hash(factory)


def test_extra_params_dict_becomes_hashable_pairs():
    factory = OAuth2ClientCredentialsFactory(
        token_url="https://a/t", client_id="c", client_secret="s", extra_params={"b": "2", "a": "1"}
    )
    assert factory.extra_params == (("a", "1"), ("b", "2"))


def test_no_secret_in_repr_or_str_of_factories_and_providers(pki):
    secrets = SECRETS + [pki.key_pem, CLIENT_ID, USERNAME, "t-S3CR3T"]
    for factory in all_factories(pki):
        provider = factory()
        for text in (repr(factory), str(factory), repr(provider), str(provider)):
            for secret in secrets:
                assert secret not in text, (type(factory).__name__, text)
        asyncio.run(provider.close())


def test_no_secret_in_auth_errors_or_logs(token_server, caplog):
    caplog.set_level(logging.DEBUG)
    ts = token_server(fail_status=401)  # its error_description echoes the client secret
    provider = OAuth2PasswordFactory(
        token_url=ts.token_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
        username=USERNAME, password=PASSWORD,
    )()
    provider._cache = type(token_cache)()

    async def go():
        try:
            await provider.authorize(HttpRequest("GET", "http://x.invalid/"))
        finally:
            await provider.close()

    with pytest.raises(AuthError) as info:
        asyncio.run(go())
    formatted = "".join(traceback.format_exception(info.value))  # includes any chain
    texts = [str(info.value), repr(info.value), formatted, caplog.text]
    assert "HTTP 401" in texts[0] and "error=invalid_client" in texts[0]
    for text in texts:
        for secret in SECRETS + [CLIENT_ID, USERNAME]:
            assert secret not in text


def test_token_never_in_logs(token_server, caplog):
    caplog.set_level(logging.DEBUG)
    ts = token_server()
    provider = OAuth2ClientCredentialsFactory(
        token_url=ts.token_url, client_id=CLIENT_ID, client_secret=CLIENT_SECRET
    )()
    provider._cache = type(token_cache)()

    async def go():
        try:
            request = HttpRequest("GET", "http://x.invalid/")
            await provider.authorize(request)
            await provider.invalidate(request)
        finally:
            await provider.close()

    asyncio.run(go())
    assert "token obtained" in caplog.text and "invalidated" in caplog.text
    assert "tok-1" not in caplog.text and CLIENT_SECRET not in caplog.text


def test_get_auth_provider_is_process_scoped_and_closed_with_the_scope(pki):
    scope = ProcessScope()
    factory = MTLSAuthFactory(cert_pem=pki.cert_pem, key_pem=pki.key_pem, ca_pem=pki.ca_pem)

    async def partition():
        return await get_auth_provider(factory, scope=scope)

    first = scope.loop.run_until_complete(partition())
    # A second partition receives an equal (unpickled) factory: same provider.
    second = scope.loop.run_until_complete(
        get_auth_provider(pickle.loads(pickle.dumps(factory)), scope=scope)
    )
    assert first is second
    assert first.ssl_context() is not None
    scope.close()
    assert first.ssl_context() is None  # closed at scope exit


def test_client_tls_for_finds_the_certificate_of_mtls_and_oauth2_mtls(pki):
    mtls = MTLSAuthFactory(cert_pem=pki.cert_pem, key_pem=pki.key_pem)
    oauth = OAuth2ClientCredentialsFactory(
        token_url="https://a/t", client_id="c", client_secret="s", mtls=mtls
    )
    assert client_tls_for(mtls) is mtls
    assert client_tls_for(oauth) is mtls
    assert client_tls_for(BearerAuthFactory("t")) is None
    assert client_tls_for(OAuth2ClientCredentialsFactory(
        token_url="https://a/t", client_id="c", client_secret="s"
    )) is None
