"""Running the mock API: async start/stop, and ``MockApi`` (a background thread with its own loop)."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from .app import MockState, build_app
from .config import MockApiConfig, TlsConfig, coerce_config
from .stats import wall_clock

# How long stopping waits for in-flight requests (hanging "timeout" faults are released
# at once by the shutdown event, so this only bounds pathological cases).
SHUTDOWN_TIMEOUT = 2.0


def make_ssl_context(tls: TlsConfig) -> ssl.SSLContext:
    """Server TLS context; with ``client_ca_file`` the client must present a cert it signed."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tls.certfile, tls.keyfile)
    if tls.client_ca_file:
        ctx.load_verify_locations(cafile=tls.client_ca_file)
        ctx.verify_mode = ssl.CERT_REQUIRED if tls.require_client_cert else ssl.CERT_OPTIONAL
    return ctx


@dataclass
class RunningServer:
    state: MockState
    runner: web.AppRunner
    host: str
    port: int
    scheme: str

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


async def start_server(
    config: MockApiConfig,
    *,
    clock: Callable[[], float] | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> RunningServer:
    state = MockState(config, clock or wall_clock())
    state.shutdown_event = asyncio.Event()
    app = build_app(state)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=SHUTDOWN_TIMEOUT)
    await runner.setup()
    if ssl_context is None and config.tls is not None:
        ssl_context = make_ssl_context(config.tls)
    site = web.TCPSite(
        runner, config.host, config.port, ssl_context=ssl_context, backlog=config.backlog, reuse_address=True
    )
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    port = runner.addresses[0][1]
    return RunningServer(state, runner, config.host, port, "https" if ssl_context else "http")


async def stop_server(rs: RunningServer) -> None:
    if rs.state.shutdown_event is not None:
        rs.state.shutdown_event.set()
    await rs.runner.cleanup()


def new_event_loop(loop_impl: str = "asyncio") -> asyncio.AbstractEventLoop:
    """``asyncio``, ``uvloop``, or ``auto`` (uvloop when installed)."""
    if loop_impl in ("uvloop", "auto"):
        try:
            import uvloop

            return uvloop.new_event_loop()
        except ImportError:
            if loop_impl == "uvloop":
                raise
    return asyncio.new_event_loop()


class MockApi:
    """The mock API in a background thread with its own event loop.

    >>> with MockApi({"rate_limit": {"rps": 50}}) as api:
    ...     requests.post(api.url + "/v1/patients", json={...})
    ...     api.stats()["max_1s_window"]

    ``clock`` (seconds, float) replaces the server's clock: token expiry, rate limit and
    window stats all read it, so tests can move time by hand.
    """

    def __init__(
        self,
        config: MockApiConfig | dict[str, Any] | str | Path | None = None,
        *,
        clock: Callable[[], float] | None = None,
        ssl_context: ssl.SSLContext | None = None,
        loop_impl: str = "asyncio",
        start_timeout: float = 10.0,
    ) -> None:
        self.config_at_start = coerce_config(config)
        self._clock = clock
        self._ssl_context = ssl_context
        self._loop_impl = loop_impl
        self._start_timeout = start_timeout
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: RunningServer | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    # ----- lifecycle -----
    def start(self) -> MockApi:
        if self._thread is not None:
            raise RuntimeError("MockApi already started")
        self._thread = threading.Thread(target=self._run, name="mock-api", daemon=True)
        self._thread.start()
        if not self._started.wait(self._start_timeout):
            raise TimeoutError("mock API did not start in time")
        if self._error is not None:
            self._thread.join(1)
            raise self._error
        return self

    def _run(self) -> None:
        loop = new_event_loop(self._loop_impl)
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            try:
                self._server = loop.run_until_complete(
                    start_server(self.config_at_start, clock=self._clock, ssl_context=self._ssl_context)
                )
            except BaseException as e:  # reported to start()
                self._error = e
                return
            finally:
                self._started.set()
            loop.run_forever()
            loop.run_until_complete(stop_server(self._server))
            # Anything still pending (should be nothing) is cancelled.
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in pending:
                t.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    def stop(self, timeout: float = 10.0) -> None:
        if self._thread is None:
            return
        loop = self._loop
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError("mock API thread did not stop in time")
        self._thread = None

    def __enter__(self) -> MockApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ----- addresses -----
    @property
    def _rs(self) -> RunningServer:
        if self._server is None:
            raise RuntimeError("mock API is not running")
        return self._server

    @property
    def host(self) -> str:
        return self._rs.host

    @property
    def port(self) -> int:
        return self._rs.port

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:41234`` (no trailing slash)."""
        return self._rs.url

    @property
    def token_url(self) -> str:
        return self.url + self.config.auth.oauth2.token_path

    # ----- control (run on the server's loop, thread-safe) -----
    def call(self, fn: Callable[[MockState], Any], timeout: float = 10.0) -> Any:
        """Run ``fn(state)`` on the server's loop thread and return its result."""
        state = self._rs.state

        async def _c() -> Any:
            return fn(state)

        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(_c(), self._loop).result(timeout)

    @property
    def state(self) -> MockState:
        """The live state (read it only through ``call`` while the server runs)."""
        return self._rs.state

    @property
    def config(self) -> MockApiConfig:
        return self.call(lambda s: s.config)

    def stats(self, include_ids: bool = False, include_timeline: bool = False) -> dict[str, Any]:
        """The same dict ``GET /_stats`` returns."""
        return self.call(lambda s: s.snapshot(include_ids, include_timeline))

    def reset(self, *, tokens: bool = False, config: bool = False) -> None:
        self.call(lambda s: s.reset(tokens=tokens, config=config))

    def update_config(self, patch: dict[str, Any] | None = None, **sections: Any) -> MockApiConfig:
        """Deep-merge a partial config (runtime sections only), e.g. ``faults={"error_ratio": .1}``."""
        p = dict(patch or {})
        p.update(sections)
        return self.call(lambda s: s.update_config(p))

    def expire_tokens(self) -> int:
        return self.call(lambda s: s.auth.expire_all())
