"""Resources that live once per Python worker process and are reused across partitions.

Spark runs partition functions in long-lived Python worker processes. Creating an aiohttp
session (and its event loop, DNS cache, TLS sessions, OAuth2 token) per partition would
throw all of that away every time, so this module keeps one event loop per process and a
cache of async resources keyed by the factory that built them. Everything is closed on
that same loop when the process exits.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


def _new_event_loop() -> asyncio.AbstractEventLoop:
    try:  # uvloop is optional; it adds ~10-15% to the raw client on loopback.
        import uvloop  # type: ignore[import-not-found]

        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()


class ProcessScope:
    """One event loop and a keyed cache of closeable async resources, per process."""

    def __init__(self) -> None:
        self._pid: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._resources: dict[Hashable, Any] = {}
        self._lock = threading.Lock()
        self._atexit_registered = False

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            # A forked child inherits the parent's objects but not its running loop.
            if self._loop is None or self._loop.is_closed() or self._pid != os.getpid():
                self._loop = _new_event_loop()
                self._resources = {}
                self._pid = os.getpid()
                if not self._atexit_registered:
                    atexit.register(self.close)
                    self._atexit_registered = True
            return self._loop

    async def get_or_create(self, key: Hashable, factory: Callable[[], Awaitable[T]]) -> T:
        """Return the resource cached under ``key``, building it with ``factory`` once."""
        if key in self._resources:
            return self._resources[key]
        resource = await factory()
        # Another coroutine may have built it while we awaited; keep the first, close ours.
        if key in self._resources:
            await _close_quietly(resource)
            return self._resources[key]
        self._resources[key] = resource
        return resource

    def cached(self, key: Hashable) -> Any | None:
        return self._resources.get(key)

    def close(self) -> None:
        """Close every resource on the loop that created it, then the loop."""
        loop = self._loop
        if loop is None or loop.is_closed() or self._pid != os.getpid():
            return
        resources, self._resources = list(self._resources.values()), {}
        try:
            for resource in reversed(resources):
                loop.run_until_complete(_close_quietly(resource))
            # Let aiohttp's connector finish closing its transports before the loop goes.
            loop.run_until_complete(asyncio.sleep(0))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()
            self._loop = None


async def _close_quietly(resource: Any) -> None:
    close = getattr(resource, "close", None)
    if close is None:
        return
    try:
        result = close()
        if asyncio.iscoroutine(result):
            await result
    except Exception:  # noqa: BLE001 - closing must never mask the job's real outcome
        log.warning("closing %s failed", type(resource).__name__, exc_info=True)


process_scope = ProcessScope()
"""The process-wide scope. Worker code uses this one; tests may build their own."""
