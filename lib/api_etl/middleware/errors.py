"""Classify what an attempt raised: timeout, connection error, or something else."""

from __future__ import annotations

from api_etl.transport.base import TransportConnectionError, TransportTimeout

TIMEOUT = "timeout"
CONNECTION = "connection_error"


def _aiohttp_classes() -> tuple[tuple[type, ...], tuple[type, ...]]:
    try:
        import aiohttp  # noqa: PLC0415 - optional here; transports normally wrap errors
    except ImportError:  # pragma: no cover
        return (), ()
    connection = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError)
    return (aiohttp.ServerTimeoutError,), connection


_AIOHTTP_TIMEOUT, _AIOHTTP_CONNECTION = _aiohttp_classes()
_TIMEOUTS: tuple[type, ...] = (TransportTimeout, TimeoutError, *_AIOHTTP_TIMEOUT)
_CONNECTION: tuple[type, ...] = (TransportConnectionError, OSError, *_AIOHTTP_CONNECTION)


def classify(error: BaseException | None) -> str | None:
    """``"timeout"``, ``"connection_error"`` or None (not a network failure)."""
    if error is None:
        return None
    if isinstance(error, _TIMEOUTS):  # checked first: TimeoutError is an OSError
        return TIMEOUT
    if isinstance(error, _CONNECTION):
        return CONNECTION
    return None
