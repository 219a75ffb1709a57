"""The auth contract used by the auth middleware and the transport.

An :class:`AuthProvider` adds credentials to a request (``authorize``), can be told that
the API answered 401 so it drops any cached token (``invalidate``), and may contribute an
SSL context to the transport (mTLS). Providers are built on the worker from picklable
factories; token caches are per worker process.
"""

from __future__ import annotations

import ssl
from typing import Protocol

from api_etl.engine.exchange import HttpRequest


class AuthError(Exception):
    """Credentials could not be obtained (token endpoint refused, bad certificate...)."""


class AuthProvider(Protocol):
    async def authorize(self, request: HttpRequest) -> None:
        """Add credentials to ``request`` in place."""

    async def invalidate(self, request: HttpRequest | None = None) -> None:
        """Forget cached credentials after a 401, so the next ``authorize`` refreshes.

        ``request`` (optional) is the request the API rejected; providers with a token use
        it to drop only that token, so N concurrent 401s cause one refresh, not N.
        """

    def ssl_context(self) -> ssl.SSLContext | None:
        """An SSL context the transport must use (client certificate), or None."""

    async def close(self) -> None: ...
