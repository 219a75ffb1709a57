"""Plain, frozen, picklable transport settings.

The config layer validates user input and builds a :class:`TransportSettings`; the settings
travel to the workers inside :class:`~api_etl.transport.factory.AiohttpTransportFactory`.
Being frozen and hashable, they also form the process-scope cache key of the transport.
"""

from __future__ import annotations

import dataclasses

from api_etl import __version__

DEFAULT_USER_AGENT = f"api-etl/{__version__}"


@dataclasses.dataclass(frozen=True, slots=True)
class WarmupRequest:
    """One request sent when the transport starts, to open a pooled connection (DNS, TCP,
    TLS) before the first row. Its failure is logged, never raised."""

    url: str
    method: str = "GET"
    timeout: float = 10.0


@dataclasses.dataclass(frozen=True, slots=True)
class TransportSettings:
    """Connection, pool and timeout settings of the aiohttp transport.

    Timeouts are seconds; ``None`` disables one. ``connect_timeout`` bounds the TCP (and TLS)
    connect, ``read_timeout`` the wait between two reads of the socket, ``total_timeout``
    the whole request including waiting for a free pooled connection.
    """

    total_timeout: float | None = 60.0
    connect_timeout: float | None = 10.0
    read_timeout: float | None = 30.0
    # Connection pool: total open connections, and per (host, port, ssl); 0 = unlimited.
    limit: int = 100
    limit_per_host: int = 0
    # Seconds a DNS answer is cached; None caches forever, 0 disables the cache.
    ttl_dns_cache: int | None = 300
    # Seconds an idle pooled connection is kept open for reuse.
    keepalive_timeout: float = 30.0
    verify_ssl: bool = True
    # Extra trusted CA certificates (PEM), e.g. a private CA in front of the API.
    ca_bundle_pem: str | None = dataclasses.field(default=None, repr=False)
    user_agent: str = DEFAULT_USER_AGENT
    warmup: WarmupRequest | None = None

    def __post_init__(self) -> None:
        for name in ("total_timeout", "connect_timeout", "read_timeout"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be > 0 or None, got {value!r}")
        if self.limit < 0 or self.limit_per_host < 0:
            raise ValueError("limit and limit_per_host must be >= 0 (0 = unlimited)")
        if self.keepalive_timeout < 0:
            raise ValueError("keepalive_timeout must be >= 0")
        if self.ttl_dns_cache is not None and self.ttl_dns_cache < 0:
            raise ValueError("ttl_dns_cache must be >= 0 or None")
