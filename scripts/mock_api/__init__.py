"""A realistic mock of the target REST API, for api_etl's tests, demo and benchmarks.

In-process (background thread)::

    from mock_api import MockApi
    with MockApi({"auth": {"mode": "oauth2"}, "rate_limit": {"rps": 200}}) as api:
        ...  # api.url, api.token_url, api.stats(), api.reset(), api.update_config(...)

As a process::

    from mock_api import start_mock_api_process
    proc = start_mock_api_process({"faults": {"error_ratio": 0.05}})
    ...  # proc.url, proc.pid, proc.stats(); proc.stop()

or ``python -m mock_api --port 0 --port-file PATH [--config FILE] [--rate-limit N] ...``.
See ``scripts/mock_api/README.md`` for endpoints, config fields and the stats shape.
"""

from .config import (
    AuthConfig,
    FaultConfig,
    IdempotencyConfig,
    LatencyConfig,
    MockApiConfig,
    OAuth2Config,
    RateLimitConfig,
    RowIdConfig,
    TlsConfig,
)
from .faults import FaultPlan, LatencySampler
from .process import MockApiProcess, start_mock_api_process
from .server import MockApi, make_ssl_context, start_server, stop_server
from .stats import Stats, WindowCounter, max_in_window

__all__ = [
    "AuthConfig",
    "FaultConfig",
    "FaultPlan",
    "IdempotencyConfig",
    "LatencyConfig",
    "LatencySampler",
    "MockApi",
    "MockApiConfig",
    "MockApiProcess",
    "OAuth2Config",
    "RateLimitConfig",
    "RowIdConfig",
    "Stats",
    "TlsConfig",
    "WindowCounter",
    "make_ssl_context",
    "max_in_window",
    "start_mock_api_process",
    "start_server",
    "stop_server",
]
