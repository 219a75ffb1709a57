"""Worker-side authentication: providers (runtime) and their picklable factories."""

from api_etl.auth.base import AuthError, AuthProvider
from api_etl.auth.clock import Clock, FakeClock
from api_etl.auth.factories import (
    ApiKeyAuthFactory,
    AuthProviderFactory,
    BasicAuthFactory,
    BearerAuthFactory,
    MTLSAuthFactory,
    NoAuthFactory,
    OAuth2ClientCredentialsFactory,
    OAuth2PasswordFactory,
    client_tls_for,
    get_auth_provider,
)
from api_etl.auth.mtls import MTLSAuth, load_client_ssl_context
from api_etl.auth.oauth2 import OAuth2Auth, OAuth2ClientCredentialsAuth, OAuth2PasswordAuth
from api_etl.auth.static import ApiKeyAuth, BasicAuth, BearerAuth, NoAuth
from api_etl.auth.token_cache import Token, TokenCache, token_cache

__all__ = [
    "ApiKeyAuth",
    "ApiKeyAuthFactory",
    "AuthError",
    "AuthProvider",
    "AuthProviderFactory",
    "BasicAuth",
    "BasicAuthFactory",
    "BearerAuth",
    "BearerAuthFactory",
    "Clock",
    "FakeClock",
    "MTLSAuth",
    "MTLSAuthFactory",
    "NoAuth",
    "NoAuthFactory",
    "OAuth2Auth",
    "OAuth2ClientCredentialsAuth",
    "OAuth2ClientCredentialsFactory",
    "OAuth2PasswordAuth",
    "OAuth2PasswordFactory",
    "Token",
    "TokenCache",
    "client_tls_for",
    "get_auth_provider",
    "load_client_ssl_context",
    "token_cache",
]
