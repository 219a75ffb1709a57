"""Keep secrets out of records and log lines.

One :class:`Redactor` knows which header and query-parameter names are sensitive (a fixed
default set plus configured names, compared case-insensitively) and replaces their values
with ``'***'``. :meth:`Redactor.scrub` removes header and sensitive parameter *values* from
free text such as exception messages before they go into a record or a log line.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from functools import cached_property
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from api_etl.engine.exchange import HttpRequest

MASK = "***"

DEFAULT_SENSITIVE_HEADERS: frozenset[str] = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)
DEFAULT_SENSITIVE_PARAMS: frozenset[str] = frozenset(
    {"access_token", "api_key", "apikey", "client_secret", "password", "token"}
)

# Non-sensitive header values shorter than this are not scrubbed from free text: values
# like "1" or "gzip" would mangle messages and are not secrets.
_MIN_SCRUB_LEN = 4


def _lower_set(names: Iterable[str]) -> frozenset[str]:
    return frozenset(n.lower() for n in names)


@dataclasses.dataclass(frozen=True)
class Redactor:
    """Masks sensitive header / query values. Picklable; extra names add to the defaults."""

    sensitive_headers: tuple[str, ...] = ()
    sensitive_params: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "sensitive_headers", tuple(self.sensitive_headers))
        object.__setattr__(self, "sensitive_params", tuple(self.sensitive_params))

    @cached_property
    def _headers(self) -> frozenset[str]:
        return DEFAULT_SENSITIVE_HEADERS | _lower_set(self.sensitive_headers)

    @cached_property
    def _params(self) -> frozenset[str]:
        return DEFAULT_SENSITIVE_PARAMS | _lower_set(self.sensitive_params)

    def merged(self, headers: Iterable[str] = (), params: Iterable[str] = ()) -> Redactor:
        return Redactor(
            self.sensitive_headers + tuple(headers), self.sensitive_params + tuple(params)
        )

    def is_sensitive_header(self, name: str) -> bool:
        return name.lower() in self._headers

    def is_sensitive_param(self, name: str) -> bool:
        return name.lower() in self._params

    def headers(self, headers: Mapping[str, str] | None) -> dict[str, str]:
        if not headers:
            return {}
        sensitive = self._headers
        return {str(k): (MASK if k.lower() in sensitive else str(v)) for k, v in headers.items()}

    def params(self, params: Mapping[str, str] | None) -> dict[str, str]:
        if not params:
            return {}
        sensitive = self._params
        return {k: (MASK if k.lower() in sensitive else str(v)) for k, v in params.items()}

    def url(self, url: str, params: Mapping[str, str] | None = None) -> str:
        """``url`` plus ``params`` as its query string, sensitive values masked.

        A query already present in ``url`` is masked too; ``params`` are appended after it.
        """
        if "?" not in url and "#" not in url:  # the common case: no query in the URL itself
            if not params:
                return url
            sensitive = self._params
            pairs = [(k, MASK if k.lower() in sensitive else str(v)) for k, v in params.items()]
            return url + "?" + urlencode(pairs, safe="*")
        parts = urlsplit(url)
        pairs = parse_qsl(parts.query, keep_blank_values=True) if parts.query else []
        if params:
            pairs.extend((k, str(v)) for k, v in params.items())
        if not pairs:
            return url
        sensitive = self._params
        query = urlencode(
            [(k, MASK if k.lower() in sensitive else v) for k, v in pairs], safe="*"
        )
        return urlunsplit(parts._replace(query=query))

    def secret_values(self, request: HttpRequest | None) -> list[str]:
        """Values that must never appear in free text, longest first."""
        if request is None:
            return []
        values: set[str] = set()
        for name, value in request.headers.items():
            value = str(value)
            if self.is_sensitive_header(name):
                values.add(value)
                # "Bearer abc..." -> also the credential alone
                values.update(p for p in value.split() if len(p) >= _MIN_SCRUB_LEN)
            elif len(value) >= _MIN_SCRUB_LEN:
                values.add(value)
        for name, value in request.params.items():
            if self.is_sensitive_param(name):
                values.add(str(value))
        for name, value in parse_qsl(urlsplit(request.url).query, keep_blank_values=True):
            if self.is_sensitive_param(name):
                values.add(value)
        values.discard("")
        return sorted(values, key=len, reverse=True)

    def scrub(self, text: str | None, request: HttpRequest | None) -> str | None:
        """``text`` with every header value and sensitive parameter value replaced by ***."""
        if not text:
            return text
        for value in self.secret_values(request):
            if value in text:
                text = text.replace(value, MASK)
        return text
