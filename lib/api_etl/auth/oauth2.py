"""OAuth2 client-credentials and password grants, with a per-process token cache.

Tokens come from the module-level :data:`~api_etl.auth.token_cache.token_cache`, keyed by
token URL, client id, grant, scope, audience (plus username and extra parameters), so every
partition in a worker process shares one token. A token is refreshed ``refresh_margin``
seconds before ``expires_in`` runs out (on the injectable ``clock``), refreshes are
single-flight, and :meth:`invalidate` after a 401 forces exactly one refresh.

Token requests go through a small aiohttp session owned by the provider (created on the
first fetch, closed by :meth:`close`); with ``client_tls`` (OAuth2 + mTLS) that session
presents the client certificate and :meth:`ssl_context` hands the same context to the API
transport.

Secrets (client secret, password, tokens) never appear in ``repr``, logs or errors; an
:class:`AuthError` names the token URL (without query string), the HTTP status and the
OAuth ``error`` code only.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import json
import logging
import re
import ssl
from collections.abc import Hashable, Iterable, Mapping
from typing import Literal
from urllib.parse import quote_plus

import aiohttp

from api_etl.auth.base import AuthError
from api_etl.auth.clock import Clock, monotonic
from api_etl.auth.headers import get_header, set_header
from api_etl.auth.mtls import MTLSAuth
from api_etl.auth.token_cache import Token, TokenCache, refresh_deadline, token_cache
from api_etl.engine.exchange import HttpRequest
from api_etl.transport.errors import classify_error, describe_error
from api_etl.transport.urls import redact_url

log = logging.getLogger(__name__)

ClientAuthMethod = Literal["client_secret_basic", "client_secret_post", "tls_client_auth"]
CLIENT_AUTH_METHODS: tuple[str, ...] = (
    "client_secret_basic",
    "client_secret_post",
    "tls_client_auth",
)

# RFC 6749 5.2: error codes are printable ASCII without '"' and '\'; keep a strict subset.
_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")

# The (cache key, access token) the current task last sent, so ``invalidate()`` without an
# argument knows which token the API rejected.
_last_sent: contextvars.ContextVar[tuple[Hashable, str] | None] = contextvars.ContextVar(
    "api_etl_oauth2_last_sent", default=None
)


def _pairs(
    params: Mapping[str, str] | Iterable[tuple[str, str]] | None,
) -> tuple[tuple[str, str], ...]:
    """Parameters as sorted ``(name, value)`` pairs: hashable, order-independent."""
    if params is None:
        return ()
    items = params.items() if isinstance(params, Mapping) else params
    return tuple(sorted((str(k), str(v)) for k, v in items))


class OAuth2Auth:
    refreshable = True  # a 401 drops the cached token; one resend gets a fresh one
    """Bearer tokens from an OAuth2 token endpoint; base of the two grant classes."""

    grant_type: str = ""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str | None,
        *,
        grant_params: Mapping[str, str] | None = None,
        scope: str | None = None,
        audience: str | None = None,
        extra_params: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        client_auth_method: ClientAuthMethod = "client_secret_basic",
        refresh_margin: float = 60.0,
        timeout: float = 10.0,
        verify_ssl: bool = True,
        ca_bundle_pem: str | None = None,
        client_tls: MTLSAuth | None = None,
        clock: Clock | None = None,
        cache: TokenCache | None = None,
    ) -> None:
        if not token_url:
            raise AuthError("oauth2: token_url is empty")
        if client_auth_method not in CLIENT_AUTH_METHODS:
            raise AuthError(
                f"oauth2: client_auth_method must be one of {', '.join(CLIENT_AUTH_METHODS)}"
            )
        # Password-grant clients may be public (no secret); client-credentials clients not,
        # unless they authenticate with their certificate (tls_client_auth, RFC 8705).
        if (
            self.grant_type == "client_credentials"
            and client_auth_method != "tls_client_auth"
            and not client_secret
        ):
            raise AuthError("oauth2: client_secret is required for the client_credentials grant")
        if client_auth_method == "tls_client_auth" and client_tls is None:
            raise AuthError("oauth2: tls_client_auth needs a client certificate (mTLS)")
        if refresh_margin < 0 or timeout <= 0:
            raise AuthError("oauth2: refresh_margin must be >= 0 and timeout > 0")
        self.token_url = token_url
        self.scope = scope or None
        self.audience = audience or None
        self.client_auth_method = client_auth_method
        self.refresh_margin = float(refresh_margin)
        self.timeout = float(timeout)
        self._client_id = client_id
        self.__client_secret = client_secret
        self.__grant_params = dict(grant_params or {})
        self.__extra_params = _pairs(extra_params)
        self._verify_ssl = verify_ssl
        self._ca_bundle_pem = ca_bundle_pem
        self._client_tls = client_tls
        self._clock: Clock = clock or monotonic
        self._cache = cache if cache is not None else token_cache
        self._session: aiohttp.ClientSession | None = None
        self.cache_key: Hashable = (
            "oauth2",
            token_url,
            client_id,
            self.grant_type,
            self.scope,
            self.audience,
            self.__grant_params.get("username"),
            self.__extra_params,
        )

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(token_url={redact_url(self.token_url)!r}, client_id=***, "
            f"client_secret=***, scope={self.scope!r}, audience={self.audience!r}, "
            f"client_auth_method={self.client_auth_method!r}, "
            f"mtls={self._client_tls is not None})"
        )

    # -- AuthProvider -------------------------------------------------------------------
    async def authorize(self, request: HttpRequest) -> None:
        token = await self.token()
        set_header(request.headers, "Authorization", f"Bearer {token.access_token}")
        _last_sent.set((self.cache_key, token.access_token))

    async def invalidate(self, request: HttpRequest | None = None) -> None:
        """Drop the cached token after the API answered 401.

        Only the token that was rejected is dropped: taken from ``request``'s Authorization
        header when given, else the token this task last sent. If a concurrent caller has
        already replaced it, nothing happens, so N concurrent 401s cause one refresh.
        """
        rejected: str | None = None
        if request is not None:
            header = get_header(request.headers, "Authorization") or ""
            if header[:7].lower() == "bearer ":
                rejected = header[7:].strip()
        if rejected is None:
            last = _last_sent.get()
            if last is not None and last[0] == self.cache_key:
                rejected = last[1]
        if self._cache.invalidate(self.cache_key, rejected):
            log.info("OAuth2 token for %s invalidated after a 401", redact_url(self.token_url))

    def ssl_context(self) -> ssl.SSLContext | None:
        return self._client_tls.ssl_context() if self._client_tls is not None else None

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()
            await asyncio.sleep(0)
        if self._client_tls is not None:
            await self._client_tls.close()

    # -- tokens -------------------------------------------------------------------------
    async def token(self) -> Token:
        """The cached token, fetched (once, shared) when missing or due for refresh."""
        return await self._cache.get(self.cache_key, self._fetch_token, self._clock)

    @property
    def token_requests(self) -> int:
        """Tokens fetched for this provider's key in this process (diagnostics)."""
        return self._cache.fetch_counts.get(self.cache_key, 0)

    def _form_and_headers(self) -> tuple[dict[str, str], dict[str, str]]:
        form: dict[str, str] = {"grant_type": self.grant_type, **self.__grant_params}
        if self.scope:
            form["scope"] = self.scope
        if self.audience:
            form["audience"] = self.audience
        for key, value in self.__extra_params:
            form.setdefault(key, value)
        headers = {"Accept": "application/json"}
        secret = self.__client_secret
        if self.client_auth_method == "client_secret_basic":
            # RFC 6749 2.3.1: form-urlencode id and secret, then base64 "id:secret".
            raw = f"{quote_plus(self._client_id)}:{quote_plus(secret or '')}"
            headers["Authorization"] = "Basic " + base64.b64encode(raw.encode()).decode("ascii")
        else:
            form["client_id"] = self._client_id
            if self.client_auth_method == "client_secret_post" and secret is not None:
                form["client_secret"] = secret
        return form, headers

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            ssl_param: ssl.SSLContext | bool = True
            if self._client_tls is not None:
                ctx = self._client_tls.ssl_context()
                if ctx is None:
                    raise AuthError("oauth2: the mTLS provider is closed")
                ssl_param = ctx
            elif not self._verify_ssl:
                ssl_param = False
            elif self._ca_bundle_pem:
                ssl_param = ssl.create_default_context(cadata=self._ca_bundle_pem)
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=4, ssl=ssl_param),
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    def _error(self, detail: str) -> AuthError:
        return AuthError(f"OAuth2 token request to {redact_url(self.token_url)} failed: {detail}")

    async def _fetch_token(self) -> Token:
        form, headers = self._form_and_headers()
        started = self._clock()
        try:
            async with self._get_session().post(
                self.token_url, data=form, headers=headers
            ) as response:
                status = response.status
                body = await response.read()
        except AuthError:
            raise
        except Exception as exc:
            if classify_error(exc) is None:
                raise self._error(type(exc).__name__) from None
            reason = describe_error(
                exc,
                tls=self.token_url.lower().startswith("https:"),
                client_cert=self._client_tls is not None,
            )
            raise self._error(reason) from None
        payload = _json_object(body)
        if not 200 <= status < 300:
            code = payload.get("error") if payload else None
            suffix = f", error={code}" if isinstance(code, str) and _ERROR_CODE.match(code) else ""
            raise self._error(f"HTTP {status}{suffix}")
        if payload is None:
            raise self._error(f"HTTP {status}, the response is not a JSON object")
        access_token = payload.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise self._error(f"HTTP {status}, the response has no access_token")
        expires_in = _seconds(payload.get("expires_in"))
        token_type = payload.get("token_type")
        log.info(
            "OAuth2 token obtained from %s (grant=%s, expires_in=%s)",
            redact_url(self.token_url),
            self.grant_type,
            expires_in,
        )
        return Token(
            access_token=access_token,
            token_type=token_type if isinstance(token_type, str) else "Bearer",
            refresh_at=refresh_deadline(started, expires_in, self.refresh_margin),
        )


def _json_object(body: bytes) -> dict | None:
    try:
        value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _seconds(value: object) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        seconds = float(value)  # some servers send "3600"
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= 0 else None


class OAuth2ClientCredentialsAuth(OAuth2Auth):
    """OAuth2 ``client_credentials`` grant (RFC 6749 4.4)."""

    grant_type = "client_credentials"

    def __init__(self, token_url: str, client_id: str, client_secret: str | None, **kwargs) -> None:
        super().__init__(token_url, client_id, client_secret, **kwargs)


class OAuth2PasswordAuth(OAuth2Auth):
    """OAuth2 resource-owner ``password`` grant (RFC 6749 4.3)."""

    grant_type = "password"

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str | None,
        username: str,
        password: str,
        **kwargs,
    ) -> None:
        super().__init__(
            token_url,
            client_id,
            client_secret,
            grant_params={"username": username, "password": password},
            **kwargs,
        )
