"""Authentication settings, one model per type, chosen by ``type``.

Every credential is a ``SecretStr``: it prints as ``**********`` in reprs, logs and
validation errors, and is unwrapped only when the worker builds its auth provider.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, PositiveFloat, SecretStr

from api_etl.config.base import StrictModel


class NoAuth(StrictModel):
    type: Literal["none"] = "none"


class BasicAuth(StrictModel):
    type: Literal["basic"]
    username: SecretStr
    password: SecretStr


class BearerAuth(StrictModel):
    type: Literal["bearer"]
    token: SecretStr


class ApiKeyAuth(StrictModel):
    type: Literal["api_key"]
    name: str = Field("X-API-Key", min_length=1, description="Header or query parameter name.")
    value: SecretStr
    location: Literal["header", "query"] = "header"


class MtlsAuth(StrictModel):
    """Client certificate; PEM text, usually from Secrets Manager."""

    type: Literal["mtls"]
    cert_pem: SecretStr
    key_pem: SecretStr
    ca_pem: SecretStr | None = Field(None, description="CA bundle to trust for the server.")
    key_password: SecretStr | None = None


class MtlsSettings(StrictModel):
    """mTLS used together with OAuth2 (token endpoint and API both see the certificate)."""

    cert_pem: SecretStr
    key_pem: SecretStr
    ca_pem: SecretStr | None = None
    key_password: SecretStr | None = None


class _OAuth2Common(StrictModel):
    token_url: str = Field(pattern=r"^https?://")
    client_id: SecretStr
    client_secret: SecretStr
    scope: str | None = None
    audience: str | None = None
    client_auth_method: Literal["client_secret_basic", "client_secret_post"] = (
        "client_secret_basic"
    )
    extra_params: dict[str, str] = Field(default_factory=dict)
    refresh_margin_seconds: PositiveFloat = Field(
        60.0, description="Refresh the token this long before it expires."
    )
    timeout_seconds: PositiveFloat = 30.0
    mtls: MtlsSettings | None = None


class OAuth2ClientCredentials(_OAuth2Common):
    type: Literal["oauth2_client_credentials"]


class OAuth2Password(_OAuth2Common):
    type: Literal["oauth2_password"]
    username: SecretStr
    password: SecretStr


AuthConfig = Annotated[
    NoAuth | BasicAuth | BearerAuth | ApiKeyAuth | MtlsAuth | OAuth2ClientCredentials | OAuth2Password,
    Field(discriminator="type"),
]
