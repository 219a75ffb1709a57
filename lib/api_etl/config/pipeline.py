"""The root of the configuration: every section, and the checks that span sections."""

from __future__ import annotations

import hashlib
import json

from pydantic import Field, model_validator

from api_etl.config.auth import AuthConfig, NoAuth
from api_etl.config.base import StrictModel
from api_etl.config.endpoint import EndpointConfig
from api_etl.config.execution import ExecutionConfig, FailurePolicyConfig, MetricsConfig
from api_etl.config.middleware import InjectMiddleware, MiddlewareConfig
from api_etl.config.source import CheckpointConfig, SinkConfig, SourceConfig
from api_etl.config.transport import TransportConfig


def _lift_tables(data: dict) -> dict:
    """The seed layout keeps source, sink and column_mapping under ``tables``."""
    tables = data.get("tables")
    if not isinstance(tables, dict):
        return data
    data = {k: v for k, v in data.items() if k != "tables"}
    for key in ("source", "sink"):
        if key in tables:
            if key in data:
                raise ValueError(f"'{key}' is given both at the top level and under 'tables'")
            data[key] = tables[key]
    if "column_mapping" in tables:
        endpoint = dict(data.get("endpoint") or {})
        if "column_mapping" in endpoint:
            raise ValueError("'column_mapping' is given both under 'tables' and 'endpoint'")
        endpoint["column_mapping"] = tables["column_mapping"]
        data["endpoint"] = endpoint
    unknown = set(tables) - {"source", "sink", "column_mapping"}
    if unknown:
        raise ValueError(f"unknown keys under 'tables': {sorted(unknown)}")
    return data


class PipelineConfig(StrictModel):
    source: SourceConfig
    sink: SinkConfig
    checkpoint: CheckpointConfig = Field(default_factory=CheckpointConfig)
    endpoint: EndpointConfig
    auth: AuthConfig = Field(default_factory=NoAuth)
    transport: TransportConfig = Field(default_factory=TransportConfig)
    middleware: list[MiddlewareConfig] = Field(default_factory=list)
    execution: ExecutionConfig = Field(default_factory=ExecutionConfig)
    failure_policy: FailurePolicyConfig = Field(default_factory=FailurePolicyConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)

    @model_validator(mode="before")
    @classmethod
    def _accept_tables_section(cls, data: object) -> object:
        return _lift_tables(data) if isinstance(data, dict) else data

    @model_validator(mode="after")
    def _columns_are_declared(self) -> PipelineConfig:
        known = self.source.columns_known | {m.source_column for m in self.endpoint.column_mapping}
        problems = []
        for field, columns in self.endpoint.referenced_columns().items():
            for column in sorted(columns - known):
                problems.append(f"{field} uses {{{column}}}")
        for i, mw in enumerate(self.middleware):
            if isinstance(mw, InjectMiddleware):
                for column in sorted(mw.columns() - known):
                    problems.append(f"middleware.{i} (inject) uses column '{column}'")
        for column in self.sink.passthrough_columns:
            if column not in known:
                problems.append(f"sink.passthrough_columns names '{column}'")
        if problems:
            raise ValueError(
                "columns not declared by the source: "
                + "; ".join(problems)
                + f". Declared: {sorted(known)}. Add them to source.required_columns"
                " (or endpoint.column_mapping) so they are checked before any request."
            )
        kinds = [type(m).__name__ for m in self.middleware]
        if kinds.count("AuthMiddleware") > 1:
            raise ValueError("middleware lists 'auth' more than once")
        return self

    def required_source_columns(self) -> list[str]:
        cols = {self.source.id_column, *self.source.required_columns}
        cols |= {m.source_column for m in self.endpoint.column_mapping}
        cols |= set(self.sink.passthrough_columns)
        return sorted(cols)

    def config_hash(self) -> str:
        """A hash of everything that shapes the requests and their results.

        Secrets are left out (rotating a credential must not block a resume), and so are
        run-time knobs that do not change what is sent (concurrency, rate, transport,
        metrics, failure policy), so they can be tuned between a crash and its resume.
        """
        shaping = self.model_dump(
            mode="json",
            include={"source", "sink", "endpoint", "middleware"},
            exclude={"sink": {"max_response_bytes"}},
        )
        # As written ("auto" stays "auto"): the round's manifest fixes the batches, so a
        # resume with a retuned rate keeps them.
        shaping["batch_size"] = self.execution.batch_size
        shaping["auth_type"] = self.auth.type
        text = json.dumps(shaping, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:16]
