"""Against a real local aiohttp server: in-flight requests never exceed ``concurrency``."""

import asyncio
import dataclasses
import threading

import aiohttp
import pytest
from aiohttp import web

from api_etl.engine.exchange import HttpRequest, HttpResponse
from api_etl.engine.partition import PartitionEngine
from api_etl.engine.plan import WorkerPlan
from api_etl.engine.record import RECORD_FIELD_NAMES
from api_etl.engine.request_builder import RequestTemplate
from api_etl.middleware.diagnostics import TransportDiagnosticsFactory
from api_etl.middleware.json_body import JsonBodyFactory
from api_etl.transport.process_scope import ProcessScope


class InFlightServer:
    """An aiohttp app on 127.0.0.1:<free port> in its own thread, counting concurrent requests."""

    def __init__(self, hold: float = 0.005) -> None:
        self.hold = hold
        self.in_flight = 0
        self.max_in_flight = 0
        self.total = 0
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    async def handle(self, request: web.Request) -> web.Response:
        self.in_flight += 1
        self.total += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.hold)
            return web.json_response({"item": request.match_info["item"]})
        finally:
            self.in_flight -= 1

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_get("/items/{item}", self.handle)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = site._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    def __enter__(self) -> "InFlightServer":
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


class AiohttpTestTransport:
    """A minimal aiohttp transport for this test (the real one lives in api_etl.transport)."""

    def __init__(self) -> None:
        # limit=0: no client-side pool cap, so only the engine bounds concurrency
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def send(self, request: HttpRequest) -> HttpResponse:
        async with self.session.request(
            request.method, request.url, params=request.params, headers=request.headers,
            json=request.json_body,
        ) as resp:
            body = await resp.read()
            version = f"{resp.version.major}.{resp.version.minor}" if resp.version else None
            return HttpResponse(resp.status, dict(resp.headers), body, resp.reason or "", version)

    async def close(self) -> None:
        await self.session.close()


@dataclasses.dataclass(frozen=True)
class AiohttpTestTransportFactory:
    async def __call__(self) -> AiohttpTestTransport:
        return AiohttpTestTransport()


@pytest.mark.parametrize("concurrency", [1, 6])
def test_in_flight_never_exceeds_concurrency(concurrency):
    scope = ProcessScope()
    try:
        with InFlightServer() as server:
            template = RequestTemplate("GET", f"http://127.0.0.1:{server.port}", "/items/{id}",
                                       id_column="id")
            plan = WorkerPlan(template=template, transport_factory=AiohttpTestTransportFactory(),
                              middleware=(JsonBodyFactory(required=True),
                                          TransportDiagnosticsFactory()),
                              concurrency=concurrency)
            engine = PartitionEngine(plan, scope=scope)
            records = [dict(zip(RECORD_FIELD_NAMES, r, strict=True))
                       for r in engine.run({"id": i} for i in range(60))]
        assert server.total == 60 and len(records) == 60
        assert all(r["ok"] and r["status"] == 200 for r in records), records[0]
        assert {r["metadata"]["http_version"] for r in records} == {"1.1"}
        assert server.max_in_flight <= concurrency
        assert engine.stats.max_in_flight <= concurrency
        if concurrency > 1:  # and the engine really does run requests concurrently
            assert server.max_in_flight >= 2
    finally:
        scope.close()
