"""Providers whose credentials never change: none, HTTP Basic, bearer token, API key.

Each keeps its secret in a private attribute and leaves it out of ``repr``/``str``.
"""

from __future__ import annotations

import base64
import ssl
from typing import Literal

from api_etl.auth.base import AuthError
from api_etl.auth.headers import set_header
from api_etl.engine.exchange import HttpRequest


class _StaticAuth:
    refreshable = False  # nothing to refresh: a 401 is final

    async def authorize(self, request: HttpRequest) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    async def invalidate(self, request: HttpRequest | None = None) -> None:
        """Static credentials cannot be refreshed; a 401 is the API's final answer."""

    def ssl_context(self) -> ssl.SSLContext | None:
        return None

    async def close(self) -> None:
        return None


class NoAuth(_StaticAuth):
    async def authorize(self, request: HttpRequest) -> None:
        return None

    def __repr__(self) -> str:
        return "NoAuth()"


class BasicAuth(_StaticAuth):
    """``Authorization: Basic base64(username:password)`` (RFC 7617, UTF-8)."""

    def __init__(self, username: str, password: str) -> None:
        if ":" in username:
            raise AuthError("basic auth: the username must not contain ':'")
        raw = f"{username}:{password}".encode()
        self.__header = "Basic " + base64.b64encode(raw).decode("ascii")

    async def authorize(self, request: HttpRequest) -> None:
        set_header(request.headers, "Authorization", self.__header)

    def __repr__(self) -> str:
        return "BasicAuth(username=***, password=***)"


class BearerAuth(_StaticAuth):
    """``Authorization: Bearer <token>`` with a fixed token."""

    def __init__(self, token: str) -> None:
        if not token:
            raise AuthError("bearer auth: the token is empty")
        self.__header = f"Bearer {token}"

    async def authorize(self, request: HttpRequest) -> None:
        set_header(request.headers, "Authorization", self.__header)

    def __repr__(self) -> str:
        return "BearerAuth(token=***)"


ApiKeyLocation = Literal["header", "query"]


class ApiKeyAuth(_StaticAuth):
    """An API key sent as a header (``X-API-Key: ...``) or a query parameter (``?key=...``)."""

    def __init__(self, name: str, value: str, location: ApiKeyLocation = "header") -> None:
        if location not in ("header", "query"):
            raise AuthError(f"api key auth: location must be 'header' or 'query', not {location!r}")
        if not name:
            raise AuthError("api key auth: the header / parameter name is empty")
        self.name = name
        self.location = location
        self.__value = value
        # Query parameters holding a secret: whoever records request URLs must redact them.
        self.secret_query_params: tuple[str, ...] = (name,) if location == "query" else ()

    async def authorize(self, request: HttpRequest) -> None:
        if self.location == "header":
            set_header(request.headers, self.name, self.__value)
        else:
            request.params[self.name] = self.__value

    def __repr__(self) -> str:
        return f"ApiKeyAuth(name={self.name!r}, value=***, location={self.location!r})"
