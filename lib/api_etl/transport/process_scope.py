"""Resources that live once per Python worker process and are reused across partitions.

Spark runs partition functions in long-lived Python worker processes. Creating an aiohttp
session (and its event loop, DNS cache, TLS sessions, OAuth2 token) per partition would
throw all of that away every time, so this module keeps one event loop per process and a
cache of async resources keyed by the factory that built them. Everything is closed on
that same loop when the process exits.

:meth:`ProcessScope.run` runs a coroutine on that loop from the calling thread. With
``in_thread=True`` the loop instead runs on a daemon thread of its own, started once per
process and kept for the next partitions: the caller only waits for the coroutine's result,
and the loop keeps sending while the caller blocks (writing records to Spark, for one).
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
        self._thread: threading.Thread | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            # A forked child inherits the parent's objects but not its running loop.
            if self._loop is None or self._loop.is_closed() or self._pid != os.getpid():
                self._loop = _new_event_loop()
                self._resources = {}
                self._thread = None
                self._pid = os.getpid()
                if not self._atexit_registered:
                    atexit.register(self.close)
                    self._atexit_registered = True
            return self._loop

    def run(self, coro: Awaitable[T], *, in_thread: bool = False) -> T:
        """Run ``coro`` on the scope's loop and return its result.

        ``in_thread``: on the loop's own thread (started here if needed), which keeps
        running between calls. Once that thread runs, every call goes through it.
        """
        loop = self.loop
        if in_thread or self._thread is not None:
            self._ensure_thread(loop)
            return asyncio.run_coroutine_threadsafe(coro, loop).result()  # type: ignore[arg-type]
        return loop.run_until_complete(coro)

    def _ensure_thread(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            started = threading.Event()

            def serve() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(started.set)
                loop.run_forever()

            self._thread = threading.Thread(target=serve, name="api-etl-event-loop", daemon=True)
            self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the event loop thread did not start within 10 s")

    def _stop_thread(self) -> None:
        thread, self._thread = self._thread, None
        loop = self._loop
        if thread is None or loop is None or loop.is_closed():
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)

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
        self._stop_thread()  # then close everything here, on the stopped loop
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
