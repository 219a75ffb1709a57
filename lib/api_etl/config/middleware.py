"""Middleware settings: an ordered list, each entry chosen by ``type``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, NonNegativeFloat, PositiveFloat, PositiveInt, model_validator

from api_etl.config.base import StrictModel


class RetryMiddleware(StrictModel):
    type: Literal["retry"]
    max_attempts: PositiveInt = 3
    retry_status_codes: list[int] = Field(default_factory=lambda: [429, 500, 502, 503, 504])
    retry_on_connection_errors: bool = True
    retry_on_timeouts: bool = True
    base_delay: NonNegativeFloat = 0.2
    max_delay: PositiveFloat = 10.0
    respect_retry_after: bool = True
    max_retry_after: PositiveFloat = Field(60.0, description="Cap on a server's Retry-After.")

    @model_validator(mode="after")
    def _delays(self) -> RetryMiddleware:
        if self.base_delay > self.max_delay:
            raise ValueError("base_delay cannot exceed max_delay")
        bad = [c for c in self.retry_status_codes if not 100 <= c <= 599]
        if bad:
            raise ValueError(f"retry_status_codes must be HTTP statuses, got {bad}")
        return self


class JsonBodyMiddleware(StrictModel):
    type: Literal["json_body"]
    required: bool = Field(False, description="Fail the row when a 2xx body is not JSON.")


class LoggingMiddleware(StrictModel):
    type: Literal["logging"]
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    only_failures: bool = False
    sample_rate: float = Field(1.0, ge=0.0, le=1.0)


class TimingMiddleware(StrictModel):
    type: Literal["timing"]


class WorkerIdentityMiddleware(StrictModel):
    type: Literal["worker_identity"]


class TransportDiagnosticsMiddleware(StrictModel):
    type: Literal["transport_diagnostics"]


class InjectMiddleware(StrictModel):
    """Copy row values into headers or query parameters."""

    type: Literal["inject"]
    headers: dict[str, str] = Field(default_factory=dict, description="Header -> column.")
    query: dict[str, str] = Field(default_factory=dict, description="Query parameter -> column.")

    def columns(self) -> set[str]:
        return set(self.headers.values()) | set(self.query.values())


class AuthMiddleware(StrictModel):
    """Where auth is applied in the chain; added innermost when not listed."""

    type: Literal["auth"]
    refresh_on_401: bool = True


class CustomMiddleware(StrictModel):
    type: Literal["custom"]
    path: str = Field(
        pattern=r"^[A-Za-z_][\w.]*(:[A-Za-z_]\w*)?$",
        description="Dotted import path of a factory: 'package.module:factory'.",
    )
    options: dict[str, Any] = Field(default_factory=dict)


MiddlewareConfig = Annotated[
    RetryMiddleware
    | JsonBodyMiddleware
    | LoggingMiddleware
    | TimingMiddleware
    | WorkerIdentityMiddleware
    | TransportDiagnosticsMiddleware
    | InjectMiddleware
    | AuthMiddleware
    | CustomMiddleware,
    Field(discriminator="type"),
]
