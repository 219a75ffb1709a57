"""Configuration of the mock API: one pydantic model tree with sane defaults.

Every field has a default, so ``MockApiConfig()`` is a working server: no auth, no rate
limit, no faults, plain HTTP on 127.0.0.1 with an OS-chosen port.

``MockApiConfig.merged(patch)`` deep-merges a partial dict into a copy (used by
``POST /_config`` and by CLI flags); ``RUNTIME_SECTIONS`` lists what may change at runtime.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import math
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Sections that POST /_config may change on a running server (listening address and TLS
# are fixed at start-up).
RUNTIME_SECTIONS = frozenset(
    {"auth", "rate_limit", "faults", "idempotency", "row_ids", "api_prefixes", "not_found_prefix"}
)

# z such that P(Z <= z) = 0.99 for a standard normal.
_Z99 = 2.3263478740408408


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class OAuth2Config(_Model):
    """The token endpoint (always served at ``token_path``) and the oauth2 auth mode."""

    token_path: str = "/oauth/token"
    client_id: str = "etl-client"
    client_secret: str = "etl-secret"
    # Resource-owner credentials accepted by the password grant.
    users: dict[str, str] = Field(default_factory=lambda: {"etl-user": "etl-password"})
    grant_types: list[Literal["client_credentials", "password"]] = Field(
        default_factory=lambda: ["client_credentials", "password"]
    )
    # How the client authenticates to the token endpoint (RFC 6749 2.3.1 / OIDC names).
    client_auth_methods: list[Literal["client_secret_basic", "client_secret_post"]] = Field(
        default_factory=lambda: ["client_secret_basic", "client_secret_post"]
    )
    # Password grant without any client authentication (a public client) is refused
    # unless this is false.
    password_grant_requires_client_auth: bool = True
    token_ttl_seconds: float = Field(default=3600.0, gt=0)
    # None: any scope is granted as requested. Otherwise every requested scope must be here.
    allowed_scopes: list[str] | None = None
    # Scope granted (and reported) when the request names none.
    default_scope: str | None = None


class AuthConfig(_Model):
    """Which check protects the API paths (``api_prefixes``)."""

    mode: Literal["none", "basic", "bearer", "api_key", "oauth2"] = "none"
    realm: str = "mock-api"
    basic_users: dict[str, str] = Field(default_factory=lambda: {"etl-user": "etl-password"})
    bearer_tokens: list[str] = Field(default_factory=lambda: ["static-test-token"])
    api_keys: list[str] = Field(default_factory=lambda: ["test-api-key"])
    api_key_in: Literal["header", "query", "either"] = "header"
    api_key_header: str = "X-API-Key"
    api_key_query_param: str = "api_key"
    oauth2: OAuth2Config = Field(default_factory=OAuth2Config)


class RateLimitConfig(_Model):
    """The server's own limit: at most ``rps`` admitted requests per ``window_seconds``.

    ``sliding``: no interval of length ``window_seconds`` ever contains more than the
    limit (exact, timestamps of admitted requests). ``fixed``: counts per aligned window.
    Rejected requests (429) do not consume the budget.
    """

    rps: float | None = Field(default=None, ge=0)  # None or 0: no limit
    window: Literal["sliding", "fixed"] = "sliding"
    window_seconds: float = Field(default=1.0, gt=0)
    # Fixed Retry-After value in seconds; None: computed (seconds until a slot frees, >= 1).
    retry_after_seconds: int | None = Field(default=None, ge=0)

    @property
    def enabled(self) -> bool:
        return bool(self.rps)

    @property
    def limit_per_window(self) -> int:
        return max(1, int(math.floor((self.rps or 0) * self.window_seconds + 1e-9)))


class LatencyConfig(_Model):
    """Injected latency for API requests (before the response is produced)."""

    distribution: Literal["none", "fixed", "uniform", "lognormal"] = "none"
    fixed_ms: float = Field(default=0.0, ge=0)
    min_ms: float = Field(default=0.0, ge=0)
    max_ms: float = Field(default=0.0, ge=0)
    mean_ms: float = Field(default=0.0, ge=0)
    p99_ms: float = Field(default=0.0, ge=0)
    # Upper bound applied to any drawn value (None: none).
    cap_ms: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _check(self) -> LatencyConfig:
        if self.distribution == "uniform" and self.max_ms < self.min_ms:
            raise ValueError("latency.max_ms must be >= latency.min_ms")
        if self.distribution == "lognormal":
            lognormal_params(self.mean_ms, self.p99_ms)  # raises with a clear message
        return self


def lognormal_params(mean_ms: float, p99_ms: float) -> tuple[float, float]:
    """(mu, sigma) of a lognormal with the given mean and 99th percentile (ms)."""
    if mean_ms <= 0 or p99_ms <= 0:
        raise ValueError("latency.mean_ms and latency.p99_ms must be > 0 for lognormal")
    if p99_ms <= mean_ms:
        raise ValueError("latency.p99_ms must be greater than latency.mean_ms for lognormal")
    # ln(mean) = mu + s^2/2 ; ln(p99) = mu + z s  =>  s^2/2 - z s + ln(p99/mean) = 0
    d = math.log(p99_ms / mean_ms)
    disc = _Z99 * _Z99 - 2.0 * d
    if disc < 0:
        raise ValueError(
            "latency.p99_ms / latency.mean_ms must be at most %.2f for a lognormal"
            % math.exp(_Z99 * _Z99 / 2)
        )
    sigma = _Z99 - math.sqrt(disc)
    mu = math.log(mean_ms) - sigma * sigma / 2.0
    return mu, sigma


class FaultConfig(_Model):
    """Fault injection for API requests.

    Order per request: fail-first-K (deterministic) first; otherwise one uniform draw u
    picks at most one random fault: [0, error_ratio) error status, then timeout_ratio,
    drop_ratio, malformed_ratio (so the ratios must add up to <= 1). Latency applies to
    every API request that passed rate limit and auth.

    Reproducibility: when a request carries a request key (idempotency header, else
    ``request_id_header``), draws are a hash of (seed, key, attempt number), so the same
    key sees the same faults whatever the arrival order or concurrency. Requests without
    a key draw from one ``random.Random(seed)`` sequence (reproducible when sequential).
    """

    seed: int = 0
    error_ratio: float = Field(default=0.0, ge=0, le=1)
    error_statuses: list[int] = Field(default_factory=lambda: [500, 502, 503])
    timeout_ratio: float = Field(default=0.0, ge=0, le=1)
    # How long a "timeout" request hangs before a 504 (make it longer than the client's).
    timeout_seconds: float = Field(default=30.0, ge=0)
    drop_ratio: float = Field(default=0.0, ge=0, le=1)
    malformed_ratio: float = Field(default=0.0, ge=0, le=1)
    malformed_status: int = 200
    latency: LatencyConfig = Field(default_factory=LatencyConfig)
    # Deterministic mode: the first K attempts of every request key fail...
    fail_first: int = Field(default=0, ge=0)
    # ...or per key (overrides fail_first for the keys named here).
    fail_first_ids: dict[str, int] = Field(default_factory=dict)
    # What a fail-first attempt gets: an HTTP status, or a dropped connection / hang.
    fail_first_status: int = 503
    fail_first_kind: Literal["status", "drop", "timeout", "malformed"] = "status"
    # Retry-After sent with injected 503/429 statuses (None: no header).
    error_retry_after_seconds: int | None = None

    @field_validator("error_statuses")
    @classmethod
    def _statuses(cls, v: list[int]) -> list[int]:
        if not v:
            raise ValueError("faults.error_statuses must not be empty")
        for s in v:
            if not 100 <= s <= 599:
                raise ValueError(f"faults.error_statuses: {s} is not an HTTP status")
        return v

    @model_validator(mode="after")
    def _sum(self) -> FaultConfig:
        total = self.error_ratio + self.timeout_ratio + self.drop_ratio + self.malformed_ratio
        if total > 1.0 + 1e-9:
            raise ValueError(
                "faults: error_ratio + timeout_ratio + drop_ratio + malformed_ratio must be <= 1"
                f" (got {total:g})"
            )
        return self

    @property
    def random_ratio(self) -> float:
        return self.error_ratio + self.timeout_ratio + self.drop_ratio + self.malformed_ratio

    @property
    def active(self) -> bool:
        return bool(
            self.random_ratio > 0
            or self.fail_first
            or self.fail_first_ids
            or self.latency.distribution != "none"
        )


class IdempotencyConfig(_Model):
    header: str = "Idempotency-Key"
    # Fallback request key for fault keying when the idempotency header is absent.
    request_id_header: str = "X-Request-Id"
    # At most this many distinct duplicate keys are listed in /_stats (the count is exact).
    max_listed_duplicates: int = Field(default=1000, ge=0)


class RowIdConfig(_Model):
    """Where the mock finds a request's row id (first hit wins), for ``include_ids``."""

    enabled: bool = True
    header: str | None = "X-Row-Id"
    body_fields: list[str] = Field(default_factory=lambda: ["tracking_id", "row_id"])
    path_param: str | None = "id"
    query_params: list[str] = Field(default_factory=lambda: ["tracking_id", "row_id", "id"])


class TlsConfig(_Model):
    """HTTPS with ``certfile``/``keyfile``; with ``client_ca_file`` it is mTLS."""

    certfile: str
    keyfile: str | None = None
    client_ca_file: str | None = None
    require_client_cert: bool = True


class MockApiConfig(_Model):
    host: str = "127.0.0.1"
    port: int = Field(default=0, ge=0, le=65535)
    # Path prefixes that are "the API": counted in the window stats, rate limited,
    # authenticated and fault injected. The token endpoint and /_* are never.
    api_prefixes: list[str] = Field(default_factory=lambda: ["/v1/"])
    # GET /v1/patients/{id} answers 404 for ids starting with this (None: never).
    not_found_prefix: str | None = "missing-"
    auth: AuthConfig = Field(default_factory=AuthConfig)
    rate_limit: RateLimitConfig = Field(default_factory=RateLimitConfig)
    faults: FaultConfig = Field(default_factory=FaultConfig)
    idempotency: IdempotencyConfig = Field(default_factory=IdempotencyConfig)
    row_ids: RowIdConfig = Field(default_factory=RowIdConfig)
    tls: TlsConfig | None = None
    backlog: int = Field(default=1024, ge=1)

    @field_validator("host")
    @classmethod
    def _loopback(cls, v: str) -> str:
        if v == "localhost":
            return v
        try:
            ok = ipaddress.ip_address(v).is_loopback
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"host must be a loopback address (got {v!r}); the mock API never listens elsewhere")
        return v

    # ----- helpers -----
    def merged(self, patch: dict[str, Any]) -> MockApiConfig:
        """A new validated config: this one with ``patch`` deep-merged in."""
        base = self.model_dump()
        return MockApiConfig.model_validate(deep_merge(base, patch))

    @classmethod
    def load(cls, path: str | Path) -> MockApiConfig:
        return cls.model_validate(load_config_file(path))


def deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in patch.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_config_file(path: str | Path) -> dict[str, Any]:
    """A JSON or YAML file as a dict (YAML for .yaml/.yml, JSON otherwise)."""
    p = Path(path)
    text = p.read_text(encoding="utf-8")
    if p.suffix.lower() in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text) or {}
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the config must be a mapping")
    return data


def coerce_config(config: MockApiConfig | dict[str, Any] | str | Path | None) -> MockApiConfig:
    if config is None:
        return MockApiConfig()
    if isinstance(config, MockApiConfig):
        return config
    if isinstance(config, dict):
        return MockApiConfig.model_validate(config)
    return MockApiConfig.load(config)
