"""Test doubles shared by the engine and middleware tests (module-level, so picklable)."""

from __future__ import annotations

import asyncio
import dataclasses
import heapq
from collections.abc import Callable, Iterable
from typing import Any

from api_etl.engine.exchange import Exchange, HttpRequest, HttpResponse
from api_etl.engine.terminal import TransportCall


def response(status: int = 200, body: bytes = b"", headers: dict[str, str] | None = None,
             reason: str = "") -> HttpResponse:
    return HttpResponse(status, dict(headers or {}), body, reason)


class ScriptedTransport:
    """Returns (or raises) the scripted outcomes in order; repeats the last one."""

    def __init__(self, outcomes: Iterable[HttpResponse | BaseException] = ()) -> None:
        self.outcomes = list(outcomes) or [response(200, b"{}")]
        self.requests: list[HttpRequest] = []
        self.closed = False

    async def send(self, request: HttpRequest) -> HttpResponse:
        self.requests.append(request.copy())
        index = min(len(self.requests) - 1, len(self.outcomes) - 1)
        outcome = self.outcomes[index]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def close(self) -> None:
        self.closed = True


class EchoTransport:
    """200 with the request's URL as body; status taken from a ``status`` query param."""

    def __init__(self, yield_every: int = 0) -> None:
        self.sent = 0
        self.yield_every = yield_every
        self.closed = False

    async def send(self, request: HttpRequest) -> HttpResponse:
        self.sent += 1
        if self.yield_every and self.sent % self.yield_every == 0:
            await asyncio.sleep(0)
        status = int(request.params.get("status", "200"))
        return HttpResponse(status, {"Content-Type": "text/plain"}, request.url.encode())

    async def close(self) -> None:
        self.closed = True


@dataclasses.dataclass(frozen=True)
class EchoTransportFactory:
    """A picklable async transport factory (counts builds per process in BUILDS)."""

    yield_every: int = 1
    tag: str = "echo"

    async def __call__(self) -> EchoTransport:
        BUILDS.append(self.tag)
        return EchoTransport(self.yield_every)


BUILDS: list[str] = []


class FakeAuth:
    def __init__(self, tokens: Iterable[str] = ("t1", "t2", "t3")) -> None:
        self.tokens = list(tokens)
        self.index = 0
        self.authorized = 0
        self.invalidated = 0

    async def authorize(self, request: HttpRequest) -> None:
        self.authorized += 1
        request.headers["Authorization"] = f"Bearer {self.tokens[self.index]}"

    async def invalidate(self, request=None) -> None:
        self.invalidated += 1
        self.index = min(self.index + 1, len(self.tokens) - 1)

    def ssl_context(self) -> None:
        return None

    async def close(self) -> None:
        pass


class RecordingSleep:
    """An async sleep that only records the delays."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


class VirtualClock:
    """A fake monotonic clock whose sleep advances virtual time exactly."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        target = self.now + seconds
        await asyncio.sleep(0)
        self.now = max(self.now, target)


class EventClock:
    """Virtual time for many concurrent sleepers, in wake-up order.

    ``run(*coroutines)`` lets every coroutine run until all of them wait in :meth:`sleep`,
    then moves time to the earliest wake-up and wakes that sleeper; repeat. Unlike
    :class:`VirtualClock`, a sleeper wakes at its own time whatever the others do.
    """

    MAX_STEPS = 1_000_000

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._timers: list[tuple[float, int, asyncio.Future]] = []
        self._seq = 0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._timers, (self.now + max(seconds, 0.0), self._seq, future))
        self._seq += 1
        await future

    async def run(self, *coroutines: Any) -> list[Any]:
        tasks = [asyncio.ensure_future(c) for c in coroutines]
        for _ in range(self.MAX_STEPS):
            for _ in range(20):  # a woken coroutine reaches its next sleep in a few loop turns
                await asyncio.sleep(0)
            if all(t.done() for t in tasks):
                return await asyncio.gather(*tasks)
            if not self._timers:
                raise RuntimeError("every coroutine waits, but not on this clock")
            due, _, future = heapq.heappop(self._timers)
            self.now = max(self.now, due)
            future.set_result(None)
        raise RuntimeError(f"not done after {self.MAX_STEPS} wake-ups")


def exchange(method: str = "GET", url: str = "https://api.example.com/items/1",
             headers: dict[str, str] | None = None, params: dict[str, str] | None = None,
             row: dict[str, Any] | None = None) -> Exchange:
    request = HttpRequest(method, url, dict(headers or {}), dict(params or {}))
    return Exchange(request=request, request_id="rid", row_id="1", row=dict(row or {}))


def terminal(transport: Any) -> TransportCall:
    return TransportCall(transport)


def run(coro_fn: Callable[[], Any]) -> Any:
    return asyncio.run(coro_fn())
