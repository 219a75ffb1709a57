"""HTTP transport settings: timeouts, connection pool, DNS cache, warm-up."""

from __future__ import annotations

from pydantic import AliasChoices, Field, NonNegativeInt, PositiveFloat, PositiveInt, model_validator

from api_etl.config.base import StrictModel


class TcpConnection(StrictModel):
    limit: PositiveInt = Field(100, description="Open connections per worker process.")
    limit_per_host: NonNegativeInt = Field(0, description="0 = no per-host limit.")
    ttl_dns_cache: NonNegativeInt = Field(300, description="Seconds a DNS answer is reused.")
    keepalive_timeout: PositiveFloat = 30.0


class TransportConfig(StrictModel):
    engine: str = Field("aiohttp", pattern=r"^aiohttp$")
    total_timeout: PositiveFloat = Field(
        30.0, validation_alias=AliasChoices("total_timeout", "base_timeout")
    )
    connect_timeout: PositiveFloat = 10.0
    read_timeout: PositiveFloat = 30.0
    tcp_connection: TcpConnection = Field(default_factory=TcpConnection)
    verify_ssl: bool = True
    ca_bundle_pem: str | None = None
    user_agent: str = "glue-api-etl/0.1"
    warmup: bool = Field(False, description="Send one request per process before the rows.")
    warmup_url: str | None = Field(None, description="Default: the endpoint's base_url.")
    warmup_method: str = "HEAD"
    warmup_timeout: PositiveFloat = 10.0

    @model_validator(mode="after")
    def _timeouts_consistent(self) -> TransportConfig:
        if self.connect_timeout > self.total_timeout:
            raise ValueError("transport.connect_timeout cannot exceed transport.total_timeout")
        return self
