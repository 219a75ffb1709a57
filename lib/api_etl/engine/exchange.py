"""The objects that travel through the middleware chain for one source row.

An :class:`Exchange` is created by the engine for a row, carried through every middleware
before the request and back through them after it, and finally turned into one bronze
record. Middleware mutate it in place and return it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any


@dataclasses.dataclass(slots=True)
class HttpRequest:
    """One outgoing request. ``url`` is absolute; ``params`` are added as the query string."""

    method: str
    url: str
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    params: dict[str, str] = dataclasses.field(default_factory=dict)
    # Exactly one of json_body / data is used; json_body is serialised by the transport.
    json_body: Any = None
    data: bytes | str | None = None

    def copy(self) -> HttpRequest:
        return dataclasses.replace(self, headers=dict(self.headers), params=dict(self.params))


@dataclasses.dataclass(slots=True)
class HttpResponse:
    status: int
    headers: dict[str, str]
    body: bytes
    reason: str = ""
    # "1.1", "2" ... when the transport knows it (diagnostics middleware reports it).
    http_version: str | None = None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclasses.dataclass(slots=True, frozen=True)
class AttemptInfo:
    """What one HTTP attempt produced; appended by the engine's terminal send."""

    number: int
    status: int | None
    error_type: str | None
    latency_ms: float


@dataclasses.dataclass(slots=True)
class Exchange:
    """A row's request, its latest response or error, and what middleware recorded."""

    request: HttpRequest
    request_id: str
    row_id: str
    row: dict[str, Any]
    response: HttpResponse | None = None
    # Parsed response body (set by the json_body middleware); kept apart from the raw bytes.
    parsed_body: Any = None
    # The last exception raised while sending (connection error, timeout, ...), if any.
    error: BaseException | None = None
    # Set by middleware that decide the row failed although an HTTP response arrived.
    error_type: str | None = None
    error_message: str | None = None
    # HTTP attempts made for this row. Counted in ONE place: the terminal send
    # (api_etl.engine.terminal.TransportCall) adds 1 each time it calls the transport,
    # so retries and auth's resend-after-401 are both counted, and middleware never do.
    attempts: int = 0
    # Monotonic seconds, set by the engine around the whole chain.
    started_at: float | None = None
    finished_at: float | None = None
    # Free-form annotations from listener middleware (timing, identity, diagnostics).
    # Values are strings so the record has one stable map<string,string> column.
    metadata: dict[str, str] = dataclasses.field(default_factory=dict)
    # One entry per HTTP attempt, in order (written only by the terminal send, see
    # api_etl.engine.terminal). ``attempts`` above is always ``len(attempt_log)``.
    attempt_log: list[AttemptInfo] = dataclasses.field(default_factory=list)

    @property
    def status(self) -> int | None:
        return self.response.status if self.response is not None else None

    @property
    def ok(self) -> bool:
        return (
            self.error is None
            and self.error_type is None
            and self.response is not None
            and 200 <= self.response.status < 300
        )


NextCall = Callable[[Exchange], Awaitable[Exchange]]
"""The rest of the chain: call it to send the request, await it to get the exchange back."""

Middleware = Callable[[Exchange, NextCall], Awaitable[Exchange]]
"""``async (exchange, next_call) -> exchange``: runs before and after the rest of the chain."""
