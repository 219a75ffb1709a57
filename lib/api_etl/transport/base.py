"""The transport contract: send one request, return one response. Nothing else.

Auth, retries, logging and parsing live in middleware; a transport only moves bytes over a
pooled connection. Connection errors and timeouts are raised as the exception classes below
so middleware can decide what to retry without knowing the HTTP engine.
"""

from __future__ import annotations

from typing import Protocol

from api_etl.engine.exchange import HttpRequest, HttpResponse


class TransportError(Exception):
    """The request did not produce an HTTP response."""


class TransportConnectionError(TransportError):
    """Could not connect, or the connection dropped before a full response arrived."""


class TransportTimeout(TransportError):
    """A connect, read or total timeout expired."""


class Transport(Protocol):
    async def send(self, request: HttpRequest) -> HttpResponse: ...

    async def close(self) -> None: ...
