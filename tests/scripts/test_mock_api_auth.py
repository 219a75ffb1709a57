"""OAuth2 token endpoint and the API auth modes."""

from __future__ import annotations

import base64

import pytest
import requests

from mock_api import MockApi

CID, SECRET = "etl-client", "etl-secret"


def _basic(user, pwd):
    return "Basic " + base64.b64encode(f"{user}:{pwd}".encode()).decode()


@pytest.fixture
def oauth_api(clock):
    cfg = {"auth": {"mode": "oauth2", "oauth2": {"token_ttl_seconds": 60, "allowed_scopes": ["read", "write"]}}}
    with MockApi(cfg, clock=clock) as api:
        yield api


def test_client_credentials_basic_and_post(oauth_api, clock):
    s = requests.Session()
    r = s.post(oauth_api.token_url, data={"grant_type": "client_credentials", "scope": "read"}, auth=(CID, SECRET))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 60 and body["scope"] == "read"
    assert r.headers["Cache-Control"] == "no-store"
    t1 = body["access_token"]

    r = s.post(
        oauth_api.token_url,
        data={"grant_type": "client_credentials", "client_id": CID, "client_secret": SECRET, "audience": "https://api.example"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["audience"] == "https://api.example"
    t2 = r.json()["access_token"]
    assert t1 != t2

    for tok in (t1, t2):
        r = s.post(oauth_api.url + "/v1/patients", json={"tracking_id": "x"}, headers={"Authorization": f"Bearer {tok}"})
        assert r.status_code == 201
    st = oauth_api.stats()
    assert st["token_requests"] == 2 and st["tokens_issued"] == 2
    assert st["token_client_auth"] == {"client_secret_basic": 1, "client_secret_post": 1}
    assert st["token_grants"] == {"client_credentials": 2}
    assert st["requests_by_path"]["/oauth/token"] == 2


def test_password_grant(oauth_api):
    r = requests.post(
        oauth_api.token_url,
        data={"grant_type": "password", "username": "etl-user", "password": "etl-password"},
        auth=(CID, SECRET),
    )
    assert r.status_code == 200, r.text
    tok = r.json()["access_token"]
    r = requests.get(oauth_api.url + "/v1/echo", headers={"Authorization": f"Bearer {tok}"})
    assert r.status_code == 200 and r.json()["principal"] == "etl-user"
    assert "authorization" not in {k.lower() for k in r.json()["headers"]}
    r = requests.post(
        oauth_api.token_url,
        data={"grant_type": "password", "username": "etl-user", "password": "nope"},
        auth=(CID, SECRET),
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_token_expiry_gives_401_with_www_authenticate(oauth_api, clock):
    tok = requests.post(oauth_api.token_url, data={"grant_type": "client_credentials"}, auth=(CID, SECRET)).json()["access_token"]
    h = {"Authorization": f"Bearer {tok}"}
    clock.advance(59.0)
    assert requests.get(oauth_api.url + "/v1/patients/p1", headers=h).status_code == 200
    clock.advance(1.0)
    r = requests.get(oauth_api.url + "/v1/patients/p1", headers=h)
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    assert "expired" in r.headers["WWW-Authenticate"]
    # a new token works again; forced expiry works too
    tok = requests.post(oauth_api.token_url, data={"grant_type": "client_credentials"}, auth=(CID, SECRET)).json()["access_token"]
    h = {"Authorization": f"Bearer {tok}"}
    assert requests.get(oauth_api.url + "/v1/patients/p1", headers=h).status_code == 200
    assert requests.post(oauth_api.url + "/_expire_tokens").json()["expired"] == 1
    assert requests.get(oauth_api.url + "/v1/patients/p1", headers=h).status_code == 401
    assert oauth_api.stats()["auth_failures"] == 2


@pytest.mark.parametrize(
    "kwargs, status, error",
    [
        ({"data": {"grant_type": "client_credentials"}, "auth": (CID, "wrong")}, 401, "invalid_client"),
        ({"data": {"grant_type": "client_credentials", "client_id": CID, "client_secret": "x"}}, 401, "invalid_client"),
        ({"data": {"grant_type": "client_credentials"}}, 401, "invalid_client"),
        ({"data": {"grant_type": "client_credentials", "client_secret": SECRET, "client_id": CID}, "auth": (CID, SECRET)}, 400, "invalid_request"),
        ({"data": {"grant_type": "authorization_code"}, "auth": (CID, SECRET)}, 400, "unsupported_grant_type"),
        ({"data": {}, "auth": (CID, SECRET)}, 400, "invalid_request"),
        ({"data": {"grant_type": "client_credentials", "scope": "admin"}, "auth": (CID, SECRET)}, 400, "invalid_scope"),
    ],
)
def test_token_endpoint_errors(oauth_api, kwargs, status, error):
    r = requests.post(oauth_api.token_url, **kwargs)
    assert r.status_code == status, r.text
    assert r.json()["error"] == error
    assert oauth_api.stats()["token_errors"] == 1


def test_token_rejects_bad_bearer_and_missing(oauth_api):
    r = requests.get(oauth_api.url + "/v1/echo")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    r = requests.get(oauth_api.url + "/v1/echo", headers={"Authorization": "Bearer forged"})
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["WWW-Authenticate"]


@pytest.mark.parametrize("allowed, used_ok, used_bad", [
    (["client_secret_basic"], "basic", "post"),
    (["client_secret_post"], "post", "basic"),
])
def test_client_auth_method_is_configurable(clock, allowed, used_ok, used_bad):
    with MockApi({"auth": {"mode": "oauth2", "oauth2": {"client_auth_methods": allowed}}}, clock=clock) as api:
        def req(how):
            if how == "basic":
                return requests.post(api.token_url, data={"grant_type": "client_credentials"}, auth=(CID, SECRET))
            return requests.post(api.token_url, data={"grant_type": "client_credentials", "client_id": CID, "client_secret": SECRET})

        assert req(used_ok).status_code == 200
        r = req(used_bad)
        assert r.status_code == 401 and r.json()["error"] == "invalid_client"
        assert "not allowed" in r.json()["error_description"]


def test_json_token_request_and_urlencoded_basic_credentials(clock):
    cfg = {"auth": {"mode": "oauth2", "oauth2": {"client_id": "my client", "client_secret": "s:e/c"}}}
    with MockApi(cfg, clock=clock) as api:
        # RFC 6749 2.3.1: id and secret are form-urlencoded before base64
        r = requests.post(api.token_url, data={"grant_type": "client_credentials"},
                          headers={"Authorization": _basic("my+client", "s%3Ae%2Fc")})
        assert r.status_code == 200, r.text
        r = requests.post(api.token_url, json={"grant_type": "client_credentials", "client_id": "my client", "client_secret": "s:e/c"})
        assert r.status_code == 200, r.text


def test_basic_mode(clock):
    with MockApi({"auth": {"mode": "basic", "basic_users": {"u": "p"}}}, clock=clock) as api:
        assert requests.get(api.url + "/v1/echo", auth=("u", "p")).json()["principal"] == "u"
        for auth in (("u", "x"), ("x", "p"), None):
            r = requests.get(api.url + "/v1/echo", auth=auth)
            assert r.status_code == 401
            assert r.headers["WWW-Authenticate"].startswith('Basic realm="mock-api"')
        r = requests.get(api.url + "/v1/echo", headers={"Authorization": "Basic !!notbase64"})
        assert r.status_code == 401
        assert api.stats()["auth_failures"] == 4


def test_static_bearer_mode(clock):
    with MockApi({"auth": {"mode": "bearer", "bearer_tokens": ["t1"]}}, clock=clock) as api:
        assert requests.get(api.url + "/v1/echo", headers={"Authorization": "Bearer t1"}).status_code == 200
        assert requests.get(api.url + "/v1/echo", headers={"Authorization": "Bearer t2"}).status_code == 401
        assert requests.get(api.url + "/v1/echo", headers={"Authorization": "Basic dTpw"}).status_code == 401
        assert requests.get(api.url + "/v1/echo").status_code == 401


@pytest.mark.parametrize("where", ["header", "query", "either"])
def test_api_key_mode(clock, where):
    cfg = {"auth": {"mode": "api_key", "api_keys": ["k1"], "api_key_in": where}}
    with MockApi(cfg, clock=clock) as api:
        via_header = requests.get(api.url + "/v1/echo", headers={"X-API-Key": "k1"})
        via_query = requests.get(api.url + "/v1/echo", params={"api_key": "k1"})
        assert via_header.status_code == (200 if where in ("header", "either") else 401)
        assert via_query.status_code == (200 if where in ("query", "either") else 401)
        if via_header.status_code == 200:
            assert "x-api-key" not in {k.lower() for k in via_header.json()["headers"]}
        if via_query.status_code == 200:
            assert via_query.json()["query"]["api_key"] == "***"
        assert requests.get(api.url + "/v1/echo", headers={"X-API-Key": "bad"}, params={"api_key": "bad"}).status_code == 401
        assert requests.get(api.url + "/v1/echo").status_code == 401


def test_auth_mode_can_change_at_runtime(clock):
    with MockApi(clock=clock) as api:
        assert requests.get(api.url + "/v1/echo").status_code == 200
        r = requests.post(api.url + "/_config", json={"auth": {"mode": "bearer"}})
        assert r.status_code == 200 and r.json()["auth"]["mode"] == "bearer"
        assert requests.get(api.url + "/v1/echo").status_code == 401
        r = requests.post(api.url + "/_config", json={"port": 1})
        assert r.status_code == 400 and "not changeable" in r.json()["message"]
        r = requests.post(api.url + "/_config", json={"auth": {"mode": "kerberos"}})
        assert r.status_code == 400 and r.json()["error"] == "invalid_config"
        api.reset(config=True)
        assert requests.get(api.url + "/v1/echo").status_code == 200
