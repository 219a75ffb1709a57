"""Picklable auth factories and the process-scoped accessor workers use.

The config layer (driver) builds one of these frozen dataclasses with plain values, Spark
pickles it to the workers, and the worker calls it to get the provider. Secrets are plain
``str`` fields excluded from ``repr``. Every factory is hashable, so the process scope can
cache one provider (one token session, one mTLS context) per worker process:

- the engine does it with key ``("api_etl", "auth", factory)``, or
- explicitly, on ``process_scope.loop``: ``auth = await get_auth_provider(factory)``
  (same key, same provider).

mTLS: give the transport factory the same :class:`MTLSAuthFactory`
(``AiohttpTransportFactory(settings, client_tls=mtls)``), or pass
``auth.ssl_context()`` to :func:`api_etl.transport.get_transport`.
"""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import Hashable
from typing import Literal, Protocol

from api_etl.auth.base import AuthProvider
from api_etl.auth.mtls import MTLSAuth, load_client_ssl_context
from api_etl.auth.oauth2 import (
    ClientAuthMethod,
    OAuth2ClientCredentialsAuth,
    OAuth2PasswordAuth,
    _pairs,
)
from api_etl.auth.static import ApiKeyAuth, BasicAuth, BearerAuth, NoAuth
from api_etl.transport.process_scope import ProcessScope, process_scope
from api_etl.transport.urls import redact_url



class AuthProviderFactory(Protocol):
    """A picklable, hashable callable building an :class:`AuthProvider` on the worker."""

    def __call__(self) -> AuthProvider: ...


@dataclasses.dataclass(frozen=True, slots=True)
class NoAuthFactory:
    def __call__(self) -> NoAuth:
        return NoAuth()


@dataclasses.dataclass(frozen=True, slots=True)
class BasicAuthFactory:
    username: str = dataclasses.field(repr=False)
    password: str = dataclasses.field(repr=False)

    def __call__(self) -> BasicAuth:
        return BasicAuth(self.username, self.password)


@dataclasses.dataclass(frozen=True, slots=True)
class BearerAuthFactory:
    token: str = dataclasses.field(repr=False)

    def __call__(self) -> BearerAuth:
        return BearerAuth(self.token)


@dataclasses.dataclass(frozen=True, slots=True)
class ApiKeyAuthFactory:
    name: str
    value: str = dataclasses.field(repr=False)
    location: Literal["header", "query"] = "header"

    def __call__(self) -> ApiKeyAuth:
        return ApiKeyAuth(self.name, self.value, self.location)


@dataclasses.dataclass(frozen=True, slots=True)
class MTLSAuthFactory:
    cert_pem: str = dataclasses.field(repr=False)
    key_pem: str = dataclasses.field(repr=False)
    ca_pem: str | None = dataclasses.field(default=None, repr=False)
    key_password: str | None = dataclasses.field(default=None, repr=False)

    def __call__(self) -> MTLSAuth:
        return MTLSAuth(
            self.cert_pem, self.key_pem, ca_pem=self.ca_pem, key_password=self.key_password
        )

    def ssl_context(self) -> ssl.SSLContext:
        """A fresh client-certificate context (the transport loads its own with this)."""
        return load_client_ssl_context(
            self.cert_pem, self.key_pem, ca_pem=self.ca_pem, key_password=self.key_password
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class _OAuth2Common:
    token_url: str
    client_id: str = dataclasses.field(repr=False)
    client_secret: str | None = dataclasses.field(default=None, repr=False)
    scope: str | None = None
    audience: str | None = None
    # Extra form fields for the token request, as sorted (name, value) pairs (a dict is
    # accepted and converted, so the factory stays hashable).
    extra_params: tuple[tuple[str, str], ...] = dataclasses.field(default=(), repr=False)
    client_auth_method: ClientAuthMethod = "client_secret_basic"
    refresh_margin: float = 60.0
    timeout: float = 10.0
    verify_ssl: bool = True
    ca_bundle_pem: str | None = dataclasses.field(default=None, repr=False)
    # OAuth2 + mTLS: token requests and API requests present this client certificate.
    mtls: MTLSAuthFactory | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "extra_params", _pairs(self.extra_params))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(token_url={redact_url(self.token_url)!r}, "
            f"scope={self.scope!r}, audience={self.audience!r}, "
            f"client_auth_method={self.client_auth_method!r}, mtls={self.mtls is not None})"
        )

    def _common(self) -> dict:
        return dict(
            scope=self.scope,
            audience=self.audience,
            extra_params=self.extra_params,
            client_auth_method=self.client_auth_method,
            refresh_margin=self.refresh_margin,
            timeout=self.timeout,
            verify_ssl=self.verify_ssl,
            ca_bundle_pem=self.ca_bundle_pem,
            client_tls=self.mtls() if self.mtls is not None else None,
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class OAuth2ClientCredentialsFactory(_OAuth2Common):
    def __call__(self) -> OAuth2ClientCredentialsAuth:
        return OAuth2ClientCredentialsAuth(
            self.token_url, self.client_id, self.client_secret, **self._common()
        )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class OAuth2PasswordFactory(_OAuth2Common):
    username: str = dataclasses.field(repr=False)
    password: str = dataclasses.field(repr=False)

    def __call__(self) -> OAuth2PasswordAuth:
        return OAuth2PasswordAuth(
            self.token_url,
            self.client_id,
            self.client_secret,
            self.username,
            self.password,
            **self._common(),
        )


def client_tls_for(factory: object) -> MTLSAuthFactory | None:
    """The client certificate an auth factory uses (mTLS alone, or OAuth2 + mTLS), for the
    transport factory: ``AiohttpTransportFactory(settings, client_tls=client_tls_for(a))``."""
    if isinstance(factory, MTLSAuthFactory):
        return factory
    return getattr(factory, "mtls", None) if isinstance(factory, _OAuth2Common) else None


async def get_auth_provider(
    factory: AuthProviderFactory, *, scope: ProcessScope | None = None
) -> AuthProvider:
    """The process-scoped provider built by ``factory`` (built on first use, closed when the
    process exits). Run it on ``scope.loop``. Every partition of the process gets the same
    provider, hence the same mTLS context (a stable transport key) and token session."""
    scope = scope or process_scope
    key: Hashable = ("api_etl", "auth", factory)  # the engine's key for the same factory

    async def build() -> AuthProvider:
        return factory()

    return await scope.get_or_create(key, build)


__all__ = [
    "ApiKeyAuthFactory",
    "AuthProviderFactory",
    "BasicAuthFactory",
    "BearerAuthFactory",
    "MTLSAuthFactory",
    "NoAuthFactory",
    "OAuth2ClientCredentialsFactory",
    "OAuth2PasswordFactory",
    "client_tls_for",
    "get_auth_provider",
]
