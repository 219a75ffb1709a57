"""OAuth2 client-credentials and password grants against a real local token server."""

from __future__ import annotations

import asyncio

import pytest

from api_etl.auth import (
    AuthError,
    FakeClock,
    OAuth2ClientCredentialsAuth,
    OAuth2PasswordAuth,
    TokenCache,
)
from api_etl.engine.exchange import HttpRequest
from api_etl.transport import AiohttpTransport
from tests.unit.auth.conftest import CLIENT_ID, CLIENT_SECRET, PASSWORD, USERNAME

pytestmark = pytest.mark.timeout(30)


def run(coro, timeout: float = 10.0):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def client_credentials(ts, cache: TokenCache, **kwargs) -> OAuth2ClientCredentialsAuth:
    kwargs.setdefault("client_auth_method", ts.expect_method)
    return OAuth2ClientCredentialsAuth(
        ts.token_url, CLIENT_ID, CLIENT_SECRET, cache=cache, **kwargs
    )


async def authorized_header(provider) -> str:
    request = HttpRequest("GET", "http://unused.invalid/")
    await provider.authorize(request)
    return request.headers["Authorization"]


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_client_auth_method_is_what_the_server_receives(token_server, cache, method):
    ts = token_server(expect_method=method)
    provider = client_credentials(ts, cache)

    async def go():
        try:
            return await authorized_header(provider)
        finally:
            await provider.close()

    assert run(go()) == "Bearer tok-1"
    (req,) = ts.token_requests
    assert req["method"] == method
    assert req["form"]["grant_type"] == "client_credentials"
    if method == "client_secret_basic":
        assert "client_secret" not in req["form"] and "client_id" not in req["form"]
    else:
        assert req["authorization"] is None
        assert req["form"]["client_id"] == CLIENT_ID
        assert req["form"]["client_secret"] == CLIENT_SECRET


def test_wrong_client_auth_method_is_a_clear_auth_error(token_server, cache):
    ts = token_server(expect_method="client_secret_post")
    provider = client_credentials(ts, cache, client_auth_method="client_secret_basic")

    async def go():
        try:
            await authorized_header(provider)
        finally:
            await provider.close()

    with pytest.raises(AuthError) as info:
        run(go())
    message = str(info.value)
    assert ts.server.url("/token") in message
    assert "HTTP 401" in message and "error=invalid_client" in message


def test_scope_audience_and_extra_params_are_sent(token_server, cache):
    ts = token_server()
    provider = client_credentials(
        ts,
        cache,
        scope="read write",
        audience="https://api.example",
        extra_params={"resource": "r1"},
    )

    async def go():
        try:
            await authorized_header(provider)
        finally:
            await provider.close()

    run(go())
    form = ts.token_requests[0]["form"]
    assert form["scope"] == "read write"
    assert form["audience"] == "https://api.example"
    assert form["resource"] == "r1"


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
def test_password_grant(token_server, cache, method):
    ts = token_server(expect_method=method)
    provider = OAuth2PasswordAuth(
        ts.token_url, CLIENT_ID, CLIENT_SECRET, USERNAME, PASSWORD,
        client_auth_method=method, scope="profile", cache=cache,
    )

    async def go():
        try:
            return await authorized_header(provider)
        finally:
            await provider.close()

    assert run(go()) == "Bearer tok-1"
    form = ts.token_requests[0]["form"]
    assert form["grant_type"] == "password"
    assert (form["username"], form["password"], form["scope"]) == (USERNAME, PASSWORD, "profile")


def test_password_grant_wrong_password_names_oauth_error_only(token_server, cache):
    ts = token_server()
    provider = OAuth2PasswordAuth(
        ts.token_url, CLIENT_ID, CLIENT_SECRET, USERNAME, "wrong-pass-S3CR3T", cache=cache
    )

    async def go():
        try:
            await authorized_header(provider)
        finally:
            await provider.close()

    with pytest.raises(AuthError) as info:
        run(go())
    assert "HTTP 400" in str(info.value) and "error=invalid_grant" in str(info.value)
    assert "wrong-pass-S3CR3T" not in str(info.value)


def test_token_is_cached_and_refreshed_before_expiry_on_the_clock(token_server, cache):
    ts = token_server(expires_in=120)
    clock = FakeClock()
    provider = client_credentials(ts, cache, refresh_margin=60, clock=clock)

    async def go():
        try:
            seen = [await authorized_header(provider)]
            clock.advance(59)  # 1 s before expires_in - margin: still the cached token
            seen.append(await authorized_header(provider))
            clock.advance(2)  # past expires_in - margin: refreshed
            seen.append(await authorized_header(provider))
            seen.append(await authorized_header(provider))
            return seen
        finally:
            await provider.close()

    assert run(go()) == ["Bearer tok-1", "Bearer tok-1", "Bearer tok-2", "Bearer tok-2"]
    assert len(ts.token_requests) == 2


def test_short_lived_token_is_refreshed_at_half_its_lifetime(token_server, cache):
    ts = token_server(expires_in="30")  # string, as some servers send it; 30 < 2 * margin
    clock = FakeClock()
    provider = client_credentials(ts, cache, refresh_margin=60, clock=clock)

    async def go():
        try:
            first = await authorized_header(provider)
            clock.advance(14)
            second = await authorized_header(provider)
            clock.advance(2)
            third = await authorized_header(provider)
            return first, second, third
        finally:
            await provider.close()

    assert run(go()) == ("Bearer tok-1", "Bearer tok-1", "Bearer tok-2")


def test_token_without_expires_in_lives_until_a_401(token_server, cache):
    ts = token_server(expires_in=None)
    clock = FakeClock()
    provider = client_credentials(ts, cache, clock=clock)

    async def go():
        try:
            await authorized_header(provider)
            clock.advance(10**7)
            await authorized_header(provider)
        finally:
            await provider.close()

    run(go())
    assert len(ts.token_requests) == 1


def test_providers_in_one_process_share_one_token(token_server, cache):
    """Two partitions building their own provider with the same settings share the token."""
    ts = token_server()
    first, second = client_credentials(ts, cache), client_credentials(ts, cache)

    async def go():
        try:
            return await authorized_header(first), await authorized_header(second)
        finally:
            await first.close()
            await second.close()

    assert run(go()) == ("Bearer tok-1", "Bearer tok-1")
    assert len(ts.token_requests) == 1


def test_different_scopes_get_different_tokens(token_server, cache):
    ts = token_server()
    a, b = client_credentials(ts, cache, scope="a"), client_credentials(ts, cache, scope="b")

    async def go():
        try:
            return await authorized_header(a), await authorized_header(b)
        finally:
            await a.close()
            await b.close()

    assert run(go()) == ("Bearer tok-1", "Bearer tok-2")


def test_single_flight_20_concurrent_authorize_one_token_request(token_server, cache):
    ts = token_server()
    provider = client_credentials(ts, cache)

    async def go():
        try:
            return await asyncio.gather(*(authorized_header(provider) for _ in range(20)))
        finally:
            await provider.close()

    assert run(go()) == ["Bearer tok-1"] * 20
    assert len(ts.token_requests) == 1
    assert provider.token_requests == 1


def test_single_flight_shares_a_failure_instead_of_retrying_n_times(token_server, cache):
    ts = token_server(fail_status=500)
    provider = client_credentials(ts, cache)

    async def go():
        try:
            return await asyncio.gather(
                *(authorized_header(provider) for _ in range(20)), return_exceptions=True
            )
        finally:
            await provider.close()

    results = run(go())
    assert all(isinstance(r, AuthError) for r in results)
    assert len(ts.token_requests) == 1


async def _call_api(provider, transport, ts, *, pass_request: bool) -> str:
    """What the auth middleware does: authorize, send, on 401 invalidate once and resend."""
    request = HttpRequest("GET", ts.api_url)
    await provider.authorize(request)
    response = await transport.send(request)
    if response.status == 401:
        await (provider.invalidate(request) if pass_request else provider.invalidate())
        request = HttpRequest("GET", ts.api_url)
        await provider.authorize(request)
        response = await transport.send(request)
    assert response.status == 200
    return request.headers["Authorization"]


@pytest.mark.parametrize("pass_request", [True, False], ids=["invalidate(request)", "invalidate()"])
def test_401_then_exactly_one_refresh_for_20_concurrent_callers(token_server, cache, pass_request):
    ts = token_server()
    provider = client_credentials(ts, cache)

    async def go():
        transport = AiohttpTransport()
        try:
            await authorized_header(provider)  # tok-1 cached
            ts.revoke_all()  # the API now rejects tok-1
            return await asyncio.gather(
                *(_call_api(provider, transport, ts, pass_request=pass_request) for _ in range(20))
            )
        finally:
            await transport.close()
            await provider.close()

    assert run(go()) == ["Bearer tok-2"] * 20
    assert len(ts.token_requests) == 2
    assert sum(1 for r in ts.api_requests if r["token"] == "tok-1") == 20


def test_invalidate_for_an_already_replaced_token_does_nothing(token_server, cache):
    ts = token_server()
    provider = client_credentials(ts, cache)

    async def go():
        try:
            stale = HttpRequest("GET", ts.api_url)
            await provider.authorize(stale)  # tok-1
            await provider.invalidate(stale)  # drops tok-1
            await authorized_header(provider)  # tok-2
            await provider.invalidate(stale)  # late 401 for tok-1: ignored
            return await authorized_header(provider)
        finally:
            await provider.close()

    assert run(go()) == "Bearer tok-2"
    assert len(ts.token_requests) == 2


def test_unreachable_token_endpoint_is_an_auth_error(cache):
    from tests.helpers.http_server import unused_port

    url = f"http://127.0.0.1:{unused_port()}/token?tenant=abc"
    provider = OAuth2ClientCredentialsAuth(url, CLIENT_ID, CLIENT_SECRET, cache=cache)

    async def go():
        try:
            await authorized_header(provider)
        finally:
            await provider.close()

    with pytest.raises(AuthError) as info:
        run(go())
    message = str(info.value)
    assert "/token" in message and "tenant=abc" not in message
    assert "cannot connect" in message


def test_token_response_without_access_token_is_an_auth_error(cache):
    from aiohttp import web

    from tests.helpers.http_server import ServerThread

    async def bad(request: web.Request) -> web.Response:
        return web.Response(text="<html>login</html>")

    app = web.Application()
    app.router.add_post("/token", bad)
    with ServerThread(app) as server:
        provider = OAuth2ClientCredentialsAuth(
            server.url("/token"), CLIENT_ID, CLIENT_SECRET, cache=cache
        )

        async def go():
            try:
                await authorized_header(provider)
            finally:
                await provider.close()

        with pytest.raises(AuthError, match="not a JSON object"):
            run(go())


def test_client_credentials_without_secret_is_rejected():
    with pytest.raises(AuthError, match="client_secret"):
        OAuth2ClientCredentialsAuth("https://auth.example/token", CLIENT_ID, None)
