"""The HTTP request each row produces."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import AliasChoices, Field, model_validator

from api_etl.config.base import StrictModel

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def placeholders_in(value: Any) -> set[str]:
    """Column names referenced as ``{column}`` anywhere inside ``value``."""
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value))
    if isinstance(value, dict):
        return set().union(*(placeholders_in(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(placeholders_in(v) for v in value)) if value else set()
    return set()


class ColumnMapping(StrictModel):
    source_column: str = Field(min_length=1)
    endpoint_param: str = Field(min_length=1)


class BodyConfig(StrictModel):
    """The request body: a {json_field: column} mapping, or a JSON template."""

    mapping: dict[str, str] | None = Field(
        None, description="JSON field (dotted for nesting) -> source column."
    )
    template: dict[str, Any] | list[Any] | None = Field(
        None, description="JSON with '{column}' placeholders; an exact '{column}' keeps its type."
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> BodyConfig:
        if (self.mapping is None) == (self.template is None):
            raise ValueError("give exactly one of body.mapping or body.template")
        return self

    def columns(self) -> set[str]:
        if self.mapping is not None:
            return set(self.mapping.values())
        return placeholders_in(self.template)


Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


class EndpointConfig(StrictModel):
    method: Method = "POST"
    base_url: str = Field(
        validation_alias=AliasChoices("base_url", "base_path"),
        pattern=r"^https?://",
        description="Scheme and host (and optional base path) of the API.",
    )
    path: str = Field(
        "",
        validation_alias=AliasChoices("path", "url_path"),
        description="Path template with {column} placeholders, or an absolute URL.",
    )
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str] = Field(
        default_factory=dict, description="Query parameters; values may hold {column}."
    )
    body: BodyConfig | None = None
    column_mapping: list[ColumnMapping] = Field(
        default_factory=list,
        description="Source column -> body field (POST/PUT/PATCH) or query parameter (GET/DELETE).",
    )
    idempotency_header: str | None = Field(
        None, description="Send each row's request_id in this header, e.g. Idempotency-Key."
    )

    @model_validator(mode="after")
    def _body_fits_method(self) -> EndpointConfig:
        if self.body is not None and self.method in ("GET", "DELETE"):
            raise ValueError(f"a {self.method} request cannot have endpoint.body")
        if self.body is not None and self.column_mapping and self.body.template is not None:
            raise ValueError("endpoint.column_mapping cannot be combined with body.template")
        return self

    @property
    def sends_body(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH")

    def body_mapping(self) -> dict[str, str] | None:
        """Body field -> column, merging ``column_mapping`` into ``body.mapping``."""
        if not self.sends_body:
            return None
        mapping = dict(self.body.mapping or {}) if self.body is not None else {}
        mapping.update({m.endpoint_param: m.source_column for m in self.column_mapping})
        return mapping or None

    def query_template(self) -> dict[str, str]:
        query = dict(self.query)
        if not self.sends_body:
            query.update({m.endpoint_param: "{" + m.source_column + "}" for m in self.column_mapping})
        return query

    def referenced_columns(self) -> dict[str, set[str]]:
        """Every column the request reads, keyed by the config field that names it."""
        refs = {
            "endpoint.path": placeholders_in(self.path),
            "endpoint.headers": placeholders_in(self.headers),
            "endpoint.query": placeholders_in(self.query),
            "endpoint.column_mapping": {m.source_column for m in self.column_mapping},
        }
        if self.body is not None:
            refs["endpoint.body"] = self.body.columns()
        return {k: v for k, v in refs.items() if v}
