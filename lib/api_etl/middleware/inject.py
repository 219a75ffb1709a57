"""Copy row values into request headers and query parameters.

``headers`` and ``query`` map a header / parameter name to a source column. A column
missing from the row raises :class:`~api_etl.engine.errors.RequestBuildError` naming it
(the row becomes an error record, no request is sent); a null value leaves the header /
parameter out. Values are written as text (see :func:`api_etl.engine.request_builder.to_text`).

Note: injected values are not part of ``request_id`` (which the request template computes
from the id column, method, URL, template query and body).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from api_etl.engine.errors import RequestBuildError
from api_etl.engine.exchange import Exchange, NextCall
from api_etl.engine.request_builder import to_text
from api_etl.middleware.base import MiddlewareContext

_MISSING = object()


class InjectMiddleware:
    def __init__(
        self, headers: Mapping[str, str] | None = None, query: Mapping[str, str] | None = None
    ) -> None:
        self.headers = dict(headers or {})
        self.query = dict(query or {})

    async def __call__(self, exchange: Exchange, next_call: NextCall) -> Exchange:
        row = exchange.row
        request = exchange.request
        for name, column in self.headers.items():
            value = _value(row, column, f"header {name!r}")
            if value is not None:
                request.headers[name] = to_text(value)
        for name, column in self.query.items():
            value = _value(row, column, f"query parameter {name!r}")
            if value is not None:
                request.params[name] = to_text(value)
        return await next_call(exchange)


def _value(row: Mapping[str, Any], column: str, where: str) -> Any:
    value = row.get(column, _MISSING)
    if value is _MISSING:
        raise RequestBuildError(f"column {column!r} (injected into {where}) is not in the row")
    return value


def _pairs(mapping: Mapping[str, str] | tuple | None) -> tuple[tuple[str, str], ...]:
    if not mapping:
        return ()
    items = mapping.items() if isinstance(mapping, Mapping) else mapping
    return tuple((str(k), str(v)) for k, v in items)


@dataclasses.dataclass(frozen=True)
class InjectFactory:
    headers: Mapping[str, str] | tuple[tuple[str, str], ...] = ()
    query: Mapping[str, str] | tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", _pairs(self.headers))
        object.__setattr__(self, "query", _pairs(self.query))

    def columns(self) -> set[str]:
        return {c for _, c in self.headers} | {c for _, c in self.query}

    def __call__(self, context: MiddlewareContext) -> InjectMiddleware:
        return InjectMiddleware(dict(self.headers), dict(self.query))
