"""Built-in middleware by config ``type`` name, and one entry point for the compiler.

``middleware_factory("retry", max_attempts=5)`` returns the picklable factory for that
type; ``middleware_factory("custom", path="pkg.mod:make", options={...})`` a custom one.
Keyword names match the config models in :mod:`api_etl.config.middleware`.
"""

from __future__ import annotations

from typing import Any

from api_etl.middleware.auth import AuthFactory
from api_etl.middleware.base import MiddlewareFactory
from api_etl.middleware.custom import CustomFactory
from api_etl.middleware.diagnostics import TransportDiagnosticsFactory
from api_etl.middleware.identity import WorkerIdentityFactory
from api_etl.middleware.inject import InjectFactory
from api_etl.middleware.json_body import JsonBodyFactory
from api_etl.middleware.request_logging import LoggingFactory
from api_etl.middleware.retry import RetryFactory
from api_etl.middleware.timing import TimingFactory

BUILTIN_FACTORIES: dict[str, type] = {
    "retry": RetryFactory,
    "json_body": JsonBodyFactory,
    "logging": LoggingFactory,
    "timing": TimingFactory,
    "worker_identity": WorkerIdentityFactory,
    "transport_diagnostics": TransportDiagnosticsFactory,
    "inject": InjectFactory,
    "auth": AuthFactory,
    "custom": CustomFactory,
}


def middleware_factory(type_name: str, /, **options: Any) -> MiddlewareFactory:
    """The picklable factory for middleware ``type_name`` with ``options``."""
    try:
        cls = BUILTIN_FACTORIES[type_name]
    except KeyError:
        known = ", ".join(sorted(BUILTIN_FACTORIES))
        raise ValueError(f"unknown middleware type {type_name!r} (known: {known})") from None
    options.pop("type", None)
    return cls(**options)
