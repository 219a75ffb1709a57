"""Turn aiohttp / ssl / OS exceptions into short, secret-free descriptions.

The transport and the OAuth2 token client both need to say *why* a request produced no
response, without echoing URLs with query strings, headers or bodies. :func:`describe_error`
returns a one-line reason built only from exception types, errno strings and OpenSSL reason
codes; :func:`classify_error` says whether an exception is a timeout or a connection error.
"""

from __future__ import annotations

import asyncio
import errno
import ssl

import aiohttp

# OpenSSL reasons that, seen by a client, mean the server wanted a client certificate.
_CLIENT_CERT_REASONS = (
    "CERTIFICATE_REQUIRED",
    "HANDSHAKE_FAILURE",
    "BAD_CERTIFICATE",
    "UNKNOWN_CA",
    "CERTIFICATE_UNKNOWN",
)

TIMEOUT = "timeout"
CONNECTION = "connection"


def classify_error(exc: BaseException) -> str | None:
    """``"timeout"``, ``"connection"``, or None for exceptions that are not network failures."""
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError, aiohttp.ServerTimeoutError)):
        return TIMEOUT
    if isinstance(exc, (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, OSError)):
        return CONNECTION
    return None


def _ssl_error(exc: BaseException) -> ssl.SSLError | None:
    """The ssl.SSLError behind ``exc`` (itself, its os_error / certificate_error, or cause)."""
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, ssl.SSLError) and getattr(e, "reason", None):
            return e
        for attr in ("certificate_error", "os_error"):
            inner = getattr(e, attr, None)
            if isinstance(inner, BaseException):
                todo.append(inner)
        todo.append(e.__cause__)
        todo.append(e.__context__)
    return None


def describe_error(exc: BaseException, *, tls: bool = False, client_cert: bool = False) -> str:
    """A short reason for a failed request, safe to put in messages and records.

    With TLS 1.3 a server that refuses the client certificate sends its alert after the
    handshake, and the client usually sees only a reset or a closed connection. So for a
    ``tls`` request that failed that way, the reason says so, depending on whether a
    ``client_cert`` was presented.
    """
    reason = _describe(exc)
    if tls and _looks_like_rejected_handshake(exc):
        if client_cert:
            reason += " (over TLS this can mean the server rejected the client certificate)"
        else:
            reason += (
                " (over TLS this often means the server requires a client certificate (mTLS)"
                " and none was presented)"
            )
    return reason


def _looks_like_rejected_handshake(exc: BaseException) -> bool:
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return True
    if isinstance(exc, aiohttp.ClientConnectorError):  # never got connected: not this case
        return False
    return isinstance(exc, (ConnectionResetError, BrokenPipeError)) or (
        isinstance(exc, OSError) and exc.errno in (errno.ECONNRESET, errno.EPIPE)
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)) and not str(exc):
        return "timed out"
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return f"timed out ({type(exc).__name__})"
    sslerr = _ssl_error(exc)
    if isinstance(exc, aiohttp.ClientConnectorCertificateError) or isinstance(
        sslerr, ssl.SSLCertVerificationError
    ):
        detail = getattr(sslerr, "verify_message", None) or getattr(sslerr, "reason", None) or ""
        return f"server certificate verification failed: {detail}".rstrip(": ")
    if sslerr is not None:
        reason = str(sslerr.reason)
        hint = ""
        if any(r in reason for r in _CLIENT_CERT_REASONS):
            hint = " (the server rejected the TLS client: a valid client certificate is required)"
        return f"TLS error {reason}{hint}"
    if isinstance(exc, aiohttp.ClientConnectorError):
        strerror = exc.strerror or type(exc.os_error).__name__
        return f"cannot connect to {exc.host}:{exc.port}: {strerror}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server closed the connection before responding"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return "connection closed before the full response body arrived"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return type(exc).__name__
