"""Authentication of API requests and the OAuth2 token endpoint logic."""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from .config import AuthConfig, OAuth2Config


@dataclass(slots=True)
class AuthFailure:
    status: int
    error: str
    description: str
    www_authenticate: str | None


@dataclass(slots=True)
class Token:
    expires_at: float
    client_id: str
    grant_type: str
    scope: str | None
    audience: str | None
    username: str | None = None


@dataclass(slots=True)
class TokenResult:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    grant_type: str | None = None
    client_auth: str | None = None


def _eq(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8", "surrogatepass"), b.encode("utf-8", "surrogatepass"))


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """(user, password) from an ``Authorization: Basic ...`` header, or None."""
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    user, sep, pwd = raw.partition(":")
    if not sep:
        return None
    return user, pwd


def parse_bearer(header: str | None) -> str | None:
    if not header or header[:7].lower() != "bearer ":
        return None
    tok = header[7:].strip()
    return tok or None


class Authenticator:
    """Checks one API request against the configured mode; owns the OAuth2 tokens."""

    def __init__(self, cfg: AuthConfig, clock: Callable[[], float], tokens: dict[str, Token] | None = None):
        self.clock = clock
        self.tokens: dict[str, Token] = tokens if tokens is not None else {}
        self.configure(cfg)

    def configure(self, cfg: AuthConfig) -> None:
        self.cfg = cfg
        self.mode = cfg.mode
        self.realm = cfg.realm
        self._bearer = frozenset(cfg.bearer_tokens)
        self._api_keys = frozenset(cfg.api_keys)

    # ----- API requests -----
    def check(self, headers: Mapping[str, str], query: Mapping[str, str]) -> tuple[AuthFailure | None, str | None]:
        """(failure or None, principal)."""
        mode = self.mode
        if mode == "none":
            return None, None
        realm = self.realm
        authz = headers.get("Authorization")
        if mode == "oauth2" or mode == "bearer":
            tok = parse_bearer(authz)
            if tok is None:
                return AuthFailure(401, "invalid_request", "missing bearer token", f'Bearer realm="{realm}"'), None
            if mode == "bearer":
                if tok in self._bearer:
                    return None, "bearer"
                return self._invalid_token("unknown token"), None
            info = self.tokens.get(tok)
            if info is None:
                return self._invalid_token("unknown token"), None
            if self.clock() >= info.expires_at:
                return self._invalid_token("The access token expired"), None
            return None, info.username or info.client_id
        if mode == "basic":
            creds = parse_basic(authz)
            chal = f'Basic realm="{realm}", charset="UTF-8"'
            if creds is None:
                return AuthFailure(401, "unauthorized", "missing basic credentials", chal), None
            user, pwd = creds
            expected = self.cfg.basic_users.get(user)
            if expected is None or not _eq(pwd, expected):
                return AuthFailure(401, "unauthorized", "invalid username or password", chal), None
            return None, user
        # api_key
        where = self.cfg.api_key_in
        key = None
        if where in ("header", "either"):
            key = headers.get(self.cfg.api_key_header)
        if key is None and where in ("query", "either"):
            key = query.get(self.cfg.api_key_query_param)
        chal = f'ApiKey realm="{realm}"'
        if key is None:
            return AuthFailure(401, "unauthorized", "missing API key", chal), None
        if key not in self._api_keys:
            return AuthFailure(401, "unauthorized", "invalid API key", chal), None
        return None, "api_key"

    def _invalid_token(self, desc: str) -> AuthFailure:
        return AuthFailure(
            401,
            "invalid_token",
            desc,
            f'Bearer realm="{self.realm}", error="invalid_token", error_description="{desc}"',
        )

    def expire_all(self) -> int:
        now = self.clock()
        n = 0
        for t in self.tokens.values():
            if t.expires_at > now:
                t.expires_at = now
                n += 1
        return n

    def purge_expired(self) -> None:
        now = self.clock()
        for k in [k for k, t in self.tokens.items() if t.expires_at <= now]:
            del self.tokens[k]

    # ----- token endpoint -----
    def token_request(self, authorization: str | None, form: Mapping[str, str]) -> TokenResult:
        o: OAuth2Config = self.cfg.oauth2
        realm = self.realm

        def err(status: int, error: str, desc: str, basic_challenge: bool = False, **kw: Any) -> TokenResult:
            headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
            if basic_challenge:
                headers["WWW-Authenticate"] = f'Basic realm="{realm}", charset="UTF-8"'
            return TokenResult(status, {"error": error, "error_description": desc}, headers, **kw)

        grant = form.get("grant_type")
        # --- client authentication ---
        basic_header = authorization is not None and authorization[:6].lower() == "basic "
        post_secret = form.get("client_secret")
        if basic_header and post_secret is not None:
            return err(400, "invalid_request", "more than one client authentication method used", grant_type=grant)
        method: str
        client_id: str | None
        if basic_header:
            method = "client_secret_basic"
            creds = parse_basic(authorization)
            if creds is None:
                return err(401, "invalid_client", "malformed basic credentials", True, grant_type=grant, client_auth=method)
            # RFC 6749 2.3.1: id and secret are form-urlencoded before base64.
            client_id, secret = unquote_plus(creds[0]), unquote_plus(creds[1])
            form_cid = form.get("client_id")
            if form_cid is not None and form_cid != client_id:
                return err(400, "invalid_request", "client_id does not match the authenticated client", grant_type=grant, client_auth=method)
        elif post_secret is not None:
            method = "client_secret_post"
            client_id, secret = form.get("client_id"), post_secret
            if client_id is None:
                return err(400, "invalid_request", "client_id is required with client_secret", grant_type=grant, client_auth=method)
        else:
            method = "none"
            client_id, secret = form.get("client_id"), None

        if method != "none":
            if method not in o.client_auth_methods:
                return err(
                    401,
                    "invalid_client",
                    f"client authentication method {method} is not allowed",
                    method == "client_secret_basic",
                    grant_type=grant,
                    client_auth=method,
                )
            if not (_eq(client_id or "", o.client_id) and _eq(secret or "", o.client_secret)):
                return err(401, "invalid_client", "client authentication failed", method == "client_secret_basic", grant_type=grant, client_auth=method)

        # --- grant ---
        if not grant:
            return err(400, "invalid_request", "grant_type is required", client_auth=method)
        if grant not in ("client_credentials", "password") or grant not in o.grant_types:
            return err(400, "unsupported_grant_type", f"grant_type {grant} is not supported", grant_type=grant, client_auth=method)
        username = None
        if grant == "client_credentials":
            if method == "none":
                return err(401, "invalid_client", "client authentication is required", True, grant_type=grant, client_auth=method)
        else:
            if method == "none":
                if o.password_grant_requires_client_auth:
                    return err(401, "invalid_client", "client authentication is required", True, grant_type=grant, client_auth=method)
                if client_id is not None and client_id != o.client_id:
                    return err(401, "invalid_client", "unknown client", grant_type=grant, client_auth=method)
            username, password = form.get("username"), form.get("password")
            if username is None or password is None:
                return err(400, "invalid_request", "username and password are required", grant_type=grant, client_auth=method)
            expected = o.users.get(username)
            if expected is None or not _eq(password, expected):
                return err(400, "invalid_grant", "invalid resource owner credentials", grant_type=grant, client_auth=method)

        scope = form.get("scope")
        if scope is not None and o.allowed_scopes is not None:
            bad = [s for s in scope.split() if s not in o.allowed_scopes]
            if bad:
                return err(400, "invalid_scope", f"scope not allowed: {' '.join(bad)}", grant_type=grant, client_auth=method)
        granted = scope if scope is not None else o.default_scope
        audience = form.get("audience") or form.get("resource")

        token = "mock-" + secrets.token_urlsafe(24)
        ttl = o.token_ttl_seconds
        self.tokens[token] = Token(self.clock() + ttl, o.client_id, grant, granted, audience, username)
        body: dict[str, Any] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": max(1, math.ceil(ttl)),
        }
        if granted is not None:
            body["scope"] = granted
        if audience is not None:
            body["audience"] = audience
        return TokenResult(200, body, {"Cache-Control": "no-store", "Pragma": "no-cache"}, grant, method)
