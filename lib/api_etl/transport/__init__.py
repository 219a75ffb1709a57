"""Worker-side HTTP transport: one pooled aiohttp session per Python worker process."""

from api_etl.transport.aiohttp_transport import AiohttpTransport
from api_etl.transport.base import (
    Transport,
    TransportConnectionError,
    TransportError,
    TransportTimeout,
)
from api_etl.transport.factory import AiohttpTransportFactory, get_transport
from api_etl.transport.process_scope import ProcessScope, process_scope
from api_etl.transport.settings import TransportSettings, WarmupRequest
from api_etl.transport.urls import redact_url

__all__ = [
    "AiohttpTransport",
    "AiohttpTransportFactory",
    "ProcessScope",
    "Transport",
    "TransportConnectionError",
    "TransportError",
    "TransportSettings",
    "TransportTimeout",
    "WarmupRequest",
    "get_transport",
    "process_scope",
    "redact_url",
]
