"""A real aiohttp server on 127.0.0.1, for tests, in a background thread with its own loop.

Tests (sync or async, any event loop, including ``process_scope.loop``) talk to it over real
sockets, so the client side under test runs exactly as in production::

    from aiohttp import web
    from tests.helpers.http_server import ServerThread

    async def hello(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/hello", hello)
    with ServerThread(app) as server:          # binds 127.0.0.1 on a free port
        url = server.url("/hello")             # "http://127.0.0.1:<port>/hello"

Pass ``ssl_context=`` (see :func:`server_ssl_context`, built from a ``trustme.CA``) for
HTTPS / mTLS. Handlers run on the server thread's loop; state they record (lists, counters)
is safe to read from the test once the client's requests have completed. Handlers that
block on purpose should wait on ``server.released`` (an ``asyncio.Event`` on the server loop,
set when the server stops) so shutdown is immediate. Start and stop are bounded.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from typing import Any

from aiohttp import web

__all__ = ["ServerThread", "server_ssl_context", "unused_port"]


class ServerThread:
    """Serve ``app`` on ``host`` (127.0.0.1) at a free port until :meth:`stop`."""

    def __init__(
        self,
        app: web.Application,
        *,
        ssl_context: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
        start_timeout: float = 10.0,
    ) -> None:
        self.app = app
        self.host = host
        self.port: int = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self.released: asyncio.Event | None = None
        self._ssl_context = ssl_context
        self._start_timeout = start_timeout
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="test-http-server", daemon=True)

    @property
    def base_url(self) -> str:
        scheme = "https" if self._ssl_context is not None else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def start(self) -> ServerThread:
        self._thread.start()
        if not self._ready.wait(self._start_timeout):
            raise TimeoutError("test server did not start in time")
        if self._error is not None:
            raise RuntimeError("test server failed to start") from self._error
        return self

    def stop(self, timeout: float = 10.0) -> None:
        loop = self.loop
        if loop is not None and not loop.is_closed() and self._thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=0.5)
        try:
            self.released = asyncio.Event()
            loop.run_until_complete(runner.setup())
            site = web.TCPSite(runner, self.host, 0, ssl_context=self._ssl_context)
            loop.run_until_complete(site.start())
            self.port = runner.addresses[0][1]
            self.loop = loop
        except BaseException as exc:  # noqa: BLE001 - reported by start()
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self.released.set()
            loop.run_until_complete(runner.cleanup())
            loop.close()


def server_ssl_context(ca: Any, *, require_client_cert: bool = False) -> ssl.SSLContext:
    """A server context with a certificate for 127.0.0.1/localhost issued by the
    ``trustme.CA`` ``ca``; with ``require_client_cert``, clients must present a certificate
    issued by the same CA (mTLS)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    if require_client_cert:
        ca.configure_trust(context)
        context.verify_mode = ssl.CERT_REQUIRED
    return context


def unused_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on (bound, then released), for connection-refused tests."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
