"""Turn one source row into one :class:`~api_etl.engine.exchange.Exchange`.

A :class:`RequestTemplate` is built once on the driver (plain arguments, picklable) and
applied to every row on the workers. Placeholders are ``{column}`` where ``column`` is an
identifier (``[A-Za-z_][A-Za-z0-9_]*``); anything else in braces is literal text.

- path: values are percent-encoded (``/`` too); a null value is a build error.
- headers / query: ``{column}`` substituted as text; a value that is *exactly* one
  placeholder and whose column is null is left out.
- body: either ``body_mapping`` ``{json_field: column}`` (a dotted json_field nests:
  ``"patient.id"`` -> ``{"patient": {"id": ...}}``) or ``body_template``: any JSON value in
  which a string that is exactly ``"{column}"`` becomes the column's typed value and other
  placeholders inside strings are substituted as text (null -> empty string).

``request_id`` is the first 32 hex characters of sha256 over the id value, the method, the
full URL with its query sorted by name, and the canonical JSON body (sorted keys, compact),
so it is the same on every rerun of the same row and changes when the request changes.
Headers are not part of it.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import hashlib
import json
import math
import re
from collections.abc import Mapping
from functools import cached_property
from typing import Any
from urllib.parse import quote, urlencode

from api_etl.engine.errors import RequestBuildError
from api_etl.engine.exchange import Exchange, HttpRequest

try:
    # CPython's own SHA-256 (``_sha2`` from 3.12, ``_sha256`` before): the same digest as
    # ``hashlib.sha256``, which goes through OpenSSL 3 and its per-call digest lookup. Next
    # to the engine's socket work that lookup cost ~9 us per row (docs/performance.md).
    from _sha2 import sha256 as _sha256  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - depends on the interpreter
    try:
        from _sha256 import sha256 as _sha256  # type: ignore[import-not-found,no-redef]
    except ImportError:
        _sha256 = hashlib.sha256  # type: ignore[assignment]

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")

_MISSING = object()

# Text that percent-encoding leaves as it is (RFC 3986 unreserved characters).
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]+").fullmatch

# A compiled text template: literal strings and column names (wrapped in _Col) in order.
_Parts = tuple[Any, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class _Col:
    name: str


def _compile(text: str) -> _Parts:
    parts: list[Any] = []
    pos = 0
    for m in PLACEHOLDER.finditer(text):
        if m.start() > pos:
            parts.append(text[pos : m.start()])
        parts.append(_Col(m.group(1)))
        pos = m.end()
    if pos < len(text):
        parts.append(text[pos:])
    return tuple(parts)


def _exact_column(text: str) -> str | None:
    m = PLACEHOLDER.fullmatch(text)
    return m.group(1) if m else None


def to_text(value: Any) -> str:
    """How a row value is written into a URL, header or string template."""
    if type(value) is str:  # the common case first
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    return str(value)


def to_json_value(value: Any) -> Any:
    """A row value as a JSON-serialisable value (Spark types included)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return None
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    as_dict = getattr(value, "asDict", None)  # pyspark.sql.Row (a tuple subclass)
    if callable(as_dict):
        return {k: to_json_value(v) for k, v in as_dict().items()}
    if isinstance(value, Mapping):
        return {str(k): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json_value(v) for v in value]
    return str(value)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _quote_segment(text: str) -> str:
    """``text`` percent-encoded for one path segment (``/`` too), like ``quote(text, safe="")``."""
    # Ids are mostly unreserved characters already; quote() costs several times the check.
    return text if _UNRESERVED(text) else quote(text, safe="")


def _lookup(row: Mapping[str, Any], column: str, where: str) -> Any:
    value = row.get(column, _MISSING)
    if value is _MISSING:
        raise RequestBuildError(f"column {column!r} (used in {where}) is not in the row")
    return value


def _render(parts: _Parts, row: Mapping[str, Any], where: str, null: str = "") -> str:
    out = []
    for part in parts:
        if type(part) is _Col:
            value = _lookup(row, part.name, where)
            out.append(null if value is None else to_text(value))
        else:
            out.append(part)
    return "".join(out)


def _columns_in(value: Any) -> set[str]:
    if isinstance(value, str):
        return set(PLACEHOLDER.findall(value))
    if isinstance(value, Mapping):
        return set().union(*(_columns_in(v) for v in value.values())) if value else set()
    if isinstance(value, (list, tuple)):
        return set().union(*(_columns_in(v) for v in value)) if value else set()
    return set()


def _freeze(mapping: Mapping[str, str] | tuple | None) -> tuple[tuple[str, str], ...] | None:
    if mapping is None:
        return None
    items = mapping.items() if isinstance(mapping, Mapping) else mapping
    return tuple((str(k), str(v)) for k, v in items)


@dataclasses.dataclass(frozen=True)
class RequestTemplate:
    """How every row's request is built. Plain, picklable arguments.

    ``path`` may also be an absolute ``http(s)://`` URL, which then replaces ``base_url``.
    Mappings given to the constructor are stored as tuples of pairs.
    """

    method: str
    base_url: str
    path: str = ""
    headers: Mapping[str, str] | tuple[tuple[str, str], ...] = ()
    query: Mapping[str, str] | tuple[tuple[str, str], ...] = ()
    body_mapping: Mapping[str, str] | tuple[tuple[str, str], ...] | None = None
    body_template: Any = dataclasses.field(default=None, hash=False)
    id_column: str | None = None
    idempotency_header: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", self.method.upper())
        object.__setattr__(self, "headers", _freeze(self.headers) or ())
        object.__setattr__(self, "query", _freeze(self.query) or ())
        object.__setattr__(self, "body_mapping", _freeze(self.body_mapping))
        if self.body_template is not None:
            # A private deep copy, normalised to plain JSON types.
            copy = json.loads(canonical_json(self.body_template))
            object.__setattr__(self, "body_template", copy)
        if self.body_mapping is not None and self.body_template is not None:
            raise ValueError("give body_mapping or body_template, not both")
        if self.body_mapping is not None:
            _nest_plan(self.body_mapping)  # raises on conflicting fields

    # -- compiled parts (computed lazily on the worker, not pickled state) ---------------

    @cached_property
    def _url_parts(self) -> tuple[str, _Parts]:
        if self.path.startswith(("http://", "https://")):
            return "", _compile(self.path)
        base = self.base_url.rstrip("/")
        path = self.path
        if path and not path.startswith("/"):
            path = "/" + path
        return base, _compile(path)

    @cached_property
    def _header_parts(self) -> tuple[tuple[str, _Parts, str | None], ...]:
        return tuple((k, _compile(v), _exact_column(v)) for k, v in self.headers)

    @cached_property
    def _query_parts(self) -> tuple[tuple[str, _Parts, str | None], ...]:
        return tuple((k, _compile(v), _exact_column(v)) for k, v in self.query)

    @cached_property
    def _body_plan(self) -> Any:
        if self.body_mapping is not None:
            return ("mapping", _nest_plan(self.body_mapping))
        if self.body_template is not None:
            return ("template", _compile_json(self.body_template))
        return None

    def __getstate__(self) -> dict[str, Any]:
        # Ship only the fields; compiled parts are rebuilt on first use.
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        for k, v in state.items():
            object.__setattr__(self, k, v)

    # -- public -------------------------------------------------------------------------

    def placeholders(self) -> set[str]:
        """Every column the request reads (path, headers, query, body); not ``id_column``."""
        cols = _columns_in(self.path)
        cols |= _columns_in(dict(self.headers)) | _columns_in(dict(self.query))
        if self.body_mapping is not None:
            cols |= {c for _, c in self.body_mapping}
        if self.body_template is not None:
            cols |= _columns_in(self.body_template)
        return cols

    def referenced_columns(self) -> set[str]:
        """``placeholders()`` plus ``id_column``: what a row must contain."""
        return self.placeholders() | ({self.id_column} if self.id_column else set())

    def display_url(self) -> str:
        """The URL with its placeholders unfilled (for records of rows that failed to build)."""
        base, parts = self._url_parts
        return base + "".join(p if isinstance(p, str) else "{" + p.name + "}" for p in parts)

    def build(self, row: Mapping[str, Any]) -> Exchange:
        """The row's exchange; raises :class:`RequestBuildError` naming a missing column."""
        row_id: str | None = None
        if self.id_column is not None:
            id_value = _lookup(row, self.id_column, "id_column")
            if id_value is None:
                raise RequestBuildError(f"id column {self.id_column!r} is null")
            row_id = to_text(id_value)

        base, parts = self._url_parts
        url_out = [base]
        for part in parts:
            if type(part) is _Col:
                value = _lookup(row, part.name, "the URL path")
                if value is None:
                    raise RequestBuildError(f"column {part.name!r} (used in the URL path) is null")
                url_out.append(_quote_segment(to_text(value)))
            else:
                url_out.append(part)
        url = "".join(url_out)

        headers: dict[str, str] = {}
        for name, hparts, exact in self._header_parts:
            if exact is not None and _lookup(row, exact, f"header {name!r}") is None:
                continue
            headers[name] = _render(hparts, row, f"header {name!r}")

        params: dict[str, str] = {}
        for name, qparts, exact in self._query_parts:
            if exact is not None and _lookup(row, exact, f"query parameter {name!r}") is None:
                continue
            params[name] = _render(qparts, row, f"query parameter {name!r}")

        body = self._build_body(row)
        body_text = canonical_json(body) if body is not None else ""
        request_id = make_request_id(row_id, self.method, url, params, body_text)
        if self.idempotency_header:
            headers[self.idempotency_header] = request_id
        request = HttpRequest(self.method, url, headers, params, json_body=body)
        return Exchange(request=request, request_id=request_id, row_id=row_id, row=row)

    def _build_body(self, row: Mapping[str, Any]) -> Any:
        plan = self._body_plan
        if plan is None:
            return None
        kind, spec = plan
        if kind == "mapping":
            return _fill_nested(spec, row)
        return _fill_json(spec, row)

    def unbuilt_request_id(self, row: Mapping[str, Any]) -> str:
        """A deterministic id for a row whose request could not be built."""
        content = canonical_json({str(k): to_json_value(v) for k, v in row.items()})
        return _digest("unbuilt", self.method, self.display_url(), content)


def make_request_id(
    row_id: str | None, method: str, url: str, params: Mapping[str, str], body_text: str
) -> str:
    full_url = url + ("?" + urlencode(sorted(params.items())) if params else "")
    return _digest(row_id or "", method.upper(), full_url, body_text)


def _digest(*parts: str) -> str:
    return _sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


# -- body mapping: {"a.b": col} -> nested dicts ------------------------------------------


def _nest_plan(mapping: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """A tree of dicts whose leaves are _Col; raises on conflicting dotted fields."""
    root: dict[str, Any] = {}
    for field, column in mapping:
        keys = field.split(".")
        if any(not k for k in keys):
            raise ValueError(f"body field {field!r} has an empty segment")
        node = root
        for key in keys[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise ValueError(f"body field {field!r} conflicts with another mapped field")
            node = child
        if keys[-1] in node:
            raise ValueError(f"body field {field!r} conflicts with another mapped field")
        node[keys[-1]] = _Col(column)
    return root


def _fill_nested(node: dict[str, Any], row: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        if type(value) is _Col:
            out[key] = to_json_value(_lookup(row, value.name, "the body"))
        else:
            out[key] = _fill_nested(value, row)
    return out


# -- body template: JSON with placeholders -----------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class _Text:
    parts: _Parts


def _compile_json(value: Any) -> Any:
    if isinstance(value, str):
        exact = _exact_column(value)
        if exact is not None:
            return _Col(exact)
        parts = _compile(value)
        return _Text(parts) if any(type(p) is _Col for p in parts) else value
    if isinstance(value, dict):
        return {k: _compile_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_compile_json(v) for v in value]
    return value


def _fill_json(spec: Any, row: Mapping[str, Any]) -> Any:
    t = type(spec)
    if t is _Col:
        return to_json_value(_lookup(row, spec.name, "the body"))
    if t is _Text:
        return _render(spec.parts, row, "the body")
    if t is dict:
        return {k: _fill_json(v, row) for k, v in spec.items()}
    if t is list:
        return [_fill_json(v, row) for v in spec]
    return spec
