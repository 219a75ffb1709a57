"""Per-process OAuth2 token cache with single-flight refresh.

All partitions that run in one Python worker process share one token per
(token URL, client id, grant, scope, audience, ...) key: the cache is module-level
(:data:`token_cache`). When the cached token is missing or due for refresh, the first caller
starts one fetch and every concurrent caller awaits that same fetch ("single flight"), so N
consumers cause one token request. :meth:`TokenCache.invalidate` after a 401 drops the token
only if it is still the one that was rejected, so N concurrent 401s cause one refresh.

Tokens are plain data and survive across event loops; in-flight fetches are per event loop
(an asyncio future belongs to one loop).
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import weakref
from collections.abc import Awaitable, Callable, Hashable

from api_etl.auth.clock import Clock


@dataclasses.dataclass(frozen=True, slots=True)
class Token:
    access_token: str = dataclasses.field(repr=False)
    token_type: str = "Bearer"
    # Clock reading after which the token must be refreshed; None = until a 401.
    refresh_at: float | None = None

    def is_fresh(self, now: float) -> bool:
        return self.refresh_at is None or now < self.refresh_at


def refresh_deadline(
    obtained_at: float, expires_in: float | None, margin: float
) -> float | None:
    """When to refresh a token valid for ``expires_in`` seconds from ``obtained_at``.

    ``margin`` seconds before expiry; for tokens shorter-lived than twice the margin, at
    half their lifetime instead, so a short token is still used rather than refetched on
    every call.
    """
    if expires_in is None:
        return None
    lifetime = expires_in - margin if expires_in > 2 * margin else expires_in / 2
    return obtained_at + max(lifetime, 0.0)


class TokenCache:
    def __init__(self) -> None:
        self._tokens: dict[Hashable, Token] = {}
        self._lock = threading.Lock()
        self._flights: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[Hashable, asyncio.Task[Token]]
        ] = weakref.WeakKeyDictionary()
        # How many tokens were fetched per key (diagnostics and tests).
        self.fetch_counts: dict[Hashable, int] = {}

    def peek(self, key: Hashable) -> Token | None:
        return self._tokens.get(key)

    async def get(
        self, key: Hashable, fetch: Callable[[], Awaitable[Token]], clock: Clock
    ) -> Token:
        """The cached token for ``key`` if fresh, else the result of one shared ``fetch()``."""
        token = self._tokens.get(key)
        if token is not None and token.is_fresh(clock()):
            return token
        loop = asyncio.get_running_loop()
        with self._lock:
            flights = self._flights.setdefault(loop, {})
            task = flights.get(key)
            if task is None:
                task = loop.create_task(self._refresh(key, fetch))
                flights[key] = task
                task.add_done_callback(lambda t: self._landed(flights, key, t))
        # shield: a cancelled caller must not cancel the fetch other callers are awaiting.
        return await asyncio.shield(task)

    async def _refresh(self, key: Hashable, fetch: Callable[[], Awaitable[Token]]) -> Token:
        token = await fetch()
        self._tokens[key] = token
        self.fetch_counts[key] = self.fetch_counts.get(key, 0) + 1
        return token

    def _landed(self, flights: dict, key: Hashable, task: asyncio.Task[Token]) -> None:
        with self._lock:
            if flights.get(key) is task:
                del flights[key]
        if not task.cancelled():
            task.exception()  # mark retrieved: callers may all have gone away

    def invalidate(self, key: Hashable, access_token: str | None = None) -> bool:
        """Drop the token for ``key``; with ``access_token``, only if it is still that token
        (a concurrent caller may already have refreshed it). True if a token was dropped."""
        with self._lock:
            token = self._tokens.get(key)
            if token is None:
                return False
            if access_token is not None and token.access_token != access_token:
                return False
            del self._tokens[key]
            return True

    def clear(self) -> None:
        with self._lock:
            self._tokens.clear()
            self.fetch_counts.clear()


token_cache = TokenCache()
"""The process-wide cache every OAuth2 provider uses unless given another."""
