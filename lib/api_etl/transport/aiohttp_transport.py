"""The aiohttp transport: one pooled ``ClientSession``, one request in, one response out.

It only moves bytes: serialises ``json_body``, sends, reads the whole body, and maps network
failures to :class:`TransportConnectionError` / :class:`TransportTimeout`. Auth, retries and
parsing are middleware. Build it on the worker (see :mod:`api_etl.transport.factory`); the
session is created on the running event loop by :meth:`AiohttpTransport.start`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import Mapping
from typing import Any

import aiohttp

from api_etl.engine.exchange import HttpRequest, HttpResponse
from api_etl.transport.base import TransportConnectionError, TransportError, TransportTimeout
from api_etl.transport.errors import CONNECTION, TIMEOUT, classify_error, describe_error
from api_etl.transport.settings import TransportSettings
from api_etl.transport.urls import redact_url

log = logging.getLogger(__name__)


def _has_header(headers: Mapping[str, str], name: str) -> bool:
    lname = name.lower()
    return any(k.lower() == lname for k in headers)


def encode_body(request: HttpRequest) -> tuple[dict[str, str], bytes | None]:
    """The headers and body bytes to send for ``request`` (``json_body`` serialised compactly,
    ``Content-Type: application/json`` added when the request sets none)."""
    headers = dict(request.headers)
    if request.json_body is not None:
        if request.data is not None:
            raise ValueError("HttpRequest has both json_body and data; set only one")
        body = json.dumps(request.json_body, separators=(",", ":"), ensure_ascii=False)
        if not _has_header(headers, "Content-Type"):
            headers["Content-Type"] = "application/json"
        return headers, body.encode("utf-8")
    if isinstance(request.data, str):
        return headers, request.data.encode("utf-8")
    return headers, request.data


def _flatten_headers(headers: Any) -> dict[str, str]:
    """A multidict as a plain dict; repeated headers are joined with ``", "``."""
    # Fast path (almost every response): no header name repeats, in any letter case.
    out = {str(k): v for k, v in headers.items()}
    if len(out) == len(headers) and len({k.lower() for k in out}) == len(out):
        return out
    out = {}
    lower_to_key: dict[str, str] = {}
    for raw_key, value in headers.items():
        key = str(raw_key)  # multidict's istr does not pickle into Spark rows
        existing = lower_to_key.get(key.lower())
        if existing is None:
            lower_to_key[key.lower()] = key
            out[key] = value
        else:
            out[existing] = f"{out[existing]}, {value}"
    return out


def _ssl_param(
    settings: TransportSettings, ssl_context: ssl.SSLContext | None
) -> ssl.SSLContext | bool:
    if ssl_context is not None:
        if not settings.verify_ssl:
            raise ValueError(
                "verify_ssl=False cannot be combined with a client-certificate (mTLS) SSL "
                "context; give the server's CA to the mTLS auth (ca_pem) instead"
            )
        if settings.ca_bundle_pem:
            ssl_context.load_verify_locations(cadata=settings.ca_bundle_pem)
        return ssl_context
    if not settings.verify_ssl:
        return False
    if settings.ca_bundle_pem:
        ctx = ssl.create_default_context()
        ctx.load_verify_locations(cadata=settings.ca_bundle_pem)
        return ctx
    return True


class AiohttpTransport:
    """A :class:`~api_etl.transport.base.Transport` over one pooled aiohttp session.

    ``ssl_context`` comes from the auth provider when the API needs a client certificate
    (mTLS); it is used as given (the settings' CA bundle is added to it). Cookies are never
    stored: rows must not leak state into each other through a shared cookie jar.
    """

    def __init__(
        self,
        settings: TransportSettings | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings or TransportSettings()
        self._ssl_context = ssl_context
        self._session: aiohttp.ClientSession | None = None
        self._start_lock: asyncio.Lock | None = None
        self._closed = False
        self.warmup_status: int | None = None

    def __repr__(self) -> str:
        state = "open" if self._session is not None and not self._session.closed else "not open"
        return f"AiohttpTransport({state}, mtls={self._ssl_context is not None})"

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The underlying session once started (diagnostics and tests)."""
        return self._session

    @property
    def connector(self) -> aiohttp.BaseConnector | None:
        return self._session.connector if self._session is not None else None

    async def start(self) -> AiohttpTransport:
        """Create the session on the running loop and send the warm-up request, once."""
        if self._session is not None:
            return self
        if self._closed:
            # Reopening would create a session nobody closes (the scope already let go).
            raise TransportError("the transport is closed")
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self._session is None and not self._closed:
                self._session = self._new_session()
                await self._warm_up()
        return self

    def _new_session(self) -> aiohttp.ClientSession:
        s = self.settings
        connector = aiohttp.TCPConnector(
            limit=s.limit,
            limit_per_host=s.limit_per_host,
            use_dns_cache=s.ttl_dns_cache != 0,
            ttl_dns_cache=s.ttl_dns_cache,
            keepalive_timeout=s.keepalive_timeout,
            ssl=_ssl_param(s, self._ssl_context),
        )
        timeout = aiohttp.ClientTimeout(
            total=s.total_timeout, sock_connect=s.connect_timeout, sock_read=s.read_timeout
        )
        return aiohttp.ClientSession(
            connector=connector,
            timeout=timeout,
            headers={"User-Agent": s.user_agent},
            cookie_jar=aiohttp.DummyCookieJar(),
            raise_for_status=False,
        )

    async def _warm_up(self) -> None:
        warmup = self.settings.warmup
        if warmup is None or self._session is None:
            return
        where = f"{warmup.method.upper()} {redact_url(warmup.url)}"
        try:
            async with self._session.request(
                warmup.method.upper(),
                warmup.url,
                timeout=aiohttp.ClientTimeout(total=warmup.timeout),
            ) as response:
                await response.read()
                self.warmup_status = response.status
            log.info("transport warm-up %s -> HTTP %s", where, self.warmup_status)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - warm-up is best effort
            log.warning("transport warm-up %s failed: %s", where, describe_error(exc))

    async def send(self, request: HttpRequest) -> HttpResponse:
        session = self._session or (await self.start())._session
        if session is None:
            raise TransportError("the transport is closed")
        method = request.method.upper()
        headers, body = encode_body(request)
        try:
            async with session.request(
                method,
                request.url,
                params=request.params or None,
                headers=headers,
                data=body,
            ) as response:
                content = await response.read()
                return HttpResponse(
                    status=response.status,
                    headers=_flatten_headers(response.headers),
                    body=content,
                    reason=response.reason or "",
                    http_version=f"{response.version.major}.{response.version.minor}",
                )
        except asyncio.CancelledError:
            raise
        except aiohttp.InvalidURL:
            raise TransportError(f"{method} {redact_url(request.url)}: invalid URL") from None
        except Exception as exc:
            kind = classify_error(exc)
            if kind is None:
                raise
            reason = describe_error(
                exc,
                tls=request.url.lower().startswith("https:"),
                client_cert=self._ssl_context is not None,
            )
            message = f"{method} {redact_url(request.url)}: {reason}"
            if kind == TIMEOUT:
                raise TransportTimeout(message) from exc
            assert kind == CONNECTION
            raise TransportConnectionError(message) from exc

    async def close(self) -> None:
        self._closed = True
        session, self._session = self._session, None
        if session is not None and not session.closed:
            await session.close()
            # Give the connector's transports one loop turn to finish closing.
            await asyncio.sleep(0)
