"""Fixtures for the auth tests: a trustme PKI and a real local OAuth2 token + API server."""

from __future__ import annotations

import base64
import dataclasses
import itertools
from urllib.parse import unquote_plus

import pytest
import trustme
from aiohttp import web

from api_etl.auth.token_cache import TokenCache
from tests.helpers.http_server import ServerThread, server_ssl_context

CLIENT_ID = "client-id-7f3a"
CLIENT_SECRET = "client-secret-9c1e-S3CR3T"
USERNAME = "user-name-51bd"
PASSWORD = "pass-word-0d2f-S3CR3T"


@dataclasses.dataclass
class Pki:
    ca: trustme.CA
    ca_pem: str
    cert_pem: str  # client certificate chain
    key_pem: str  # client private key (unencrypted)


@pytest.fixture(scope="session")
def pki() -> Pki:
    ca = trustme.CA()
    client = ca.issue_cert("client@example.org")
    return Pki(
        ca=ca,
        ca_pem=ca.cert_pem.bytes().decode(),
        cert_pem="".join(blob.bytes().decode() for blob in client.cert_chain_pems),
        key_pem=client.private_key_pem.bytes().decode(),
    )


@pytest.fixture
def cache() -> TokenCache:
    """A fresh token cache, so tests do not share tokens through the process-wide one."""
    return TokenCache()


@dataclasses.dataclass
class TokenServer:
    """A token endpoint (``/token``) and a protected API (``/api``) on one local server.

    ``/token`` checks the client authentication method it expects and the grant's
    credentials, records every request, and issues ``tok-1``, ``tok-2``... ``/api`` answers
    200 for a token in ``valid`` and 401 otherwise; ``revoke_all()`` makes every issued
    token invalid (as an expired or revoked token would be).
    """

    expect_method: str = "client_secret_basic"
    expires_in: object = 3600
    fail_status: int | None = None
    require_client_cert: bool = False
    token_requests: list[dict] = dataclasses.field(default_factory=list)
    api_requests: list[dict] = dataclasses.field(default_factory=list)
    valid: set[str] = dataclasses.field(default_factory=set)
    _seq: itertools.count = dataclasses.field(default_factory=lambda: itertools.count(1))
    server: ServerThread | None = None

    @property
    def token_url(self) -> str:
        return self.server.url("/token")

    @property
    def api_url(self) -> str:
        return self.server.url("/api")

    def revoke_all(self) -> None:
        self.valid.clear()

    @staticmethod
    def _peer(request: web.Request) -> str | None:
        cert = request.transport.get_extra_info("peercert") if request.transport else None
        if not cert:
            return None
        emails = [value for kind, value in cert.get("subjectAltName", ()) if kind == "email"]
        return emails[0] if emails else "certificate-without-email"

    async def token(self, request: web.Request) -> web.Response:
        form = dict(await request.post())
        header = request.headers.get("Authorization")
        used = "client_secret_basic" if header else "client_secret_post"
        if self.expect_method == "tls_client_auth":
            used = "tls_client_auth" if "client_secret" not in form and not header else used
        self.token_requests.append(
            {"form": form, "authorization": header, "method": used, "peer": self._peer(request)}
        )
        if self.fail_status is not None:
            return web.json_response(
                {"error": "invalid_client", "error_description": f"bad {CLIENT_SECRET}"},
                status=self.fail_status,
            )
        if used != self.expect_method:
            return web.json_response({"error": "invalid_client"}, status=401)
        if used == "client_secret_basic":
            raw = base64.b64decode(header.split(" ", 1)[1]).decode()
            cid, secret = (unquote_plus(p) for p in raw.split(":", 1))
        else:
            cid, secret = form.get("client_id"), form.get("client_secret")
        if cid != CLIENT_ID or (used != "tls_client_auth" and secret != CLIENT_SECRET):
            return web.json_response({"error": "invalid_client"}, status=401)
        if self.require_client_cert and self._peer(request) != "client@example.org":
            return web.json_response({"error": "invalid_client"}, status=401)
        grant = form.get("grant_type")
        if grant == "password":
            if (form.get("username"), form.get("password")) != (USERNAME, PASSWORD):
                return web.json_response({"error": "invalid_grant"}, status=400)
        elif grant != "client_credentials":
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        token = f"tok-{next(self._seq)}"
        self.valid.add(token)
        body: dict = {"access_token": token, "token_type": "bearer"}
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        return web.json_response(body)

    async def api(self, request: web.Request) -> web.Response:
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else None
        self.api_requests.append({"token": token, "peer": self._peer(request)})
        if token not in self.valid:
            return web.json_response({"error": "unauthorized"}, status=401)
        return web.json_response({"token": token, "peer": self._peer(request)})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/token", self.token)
        app.router.add_get("/api", self.api)
        return app


@pytest.fixture
def token_server():
    """Start a :class:`TokenServer`: ``token_server(expect_method=..., tls=pki, ...)``."""
    started: list[ServerThread] = []

    def start(*, tls: Pki | None = None, **kwargs) -> TokenServer:
        ts = TokenServer(require_client_cert=tls is not None, **kwargs)
        ctx = server_ssl_context(tls.ca, require_client_cert=True) if tls is not None else None
        ts.server = ServerThread(ts.app(), ssl_context=ctx).start()
        started.append(ts.server)
        return ts

    yield start
    for server in started:
        server.stop()
