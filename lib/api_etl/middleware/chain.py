"""Compose middleware around a terminal call.

The first middleware in the list is the outermost: it runs first before the request and
last after it::

    compose([a, b, c], send)(exchange)
      a before -> b before -> c before -> send -> c after -> b after -> a after

Each middleware is ``async (exchange, next_call) -> exchange``; ``next_call`` is the rest of
the chain. A middleware may call ``next_call`` zero times (short-circuit), once, or several
times (retry). The terminal is normally :class:`api_etl.engine.terminal.TransportCall`,
which is where attempts are counted.
"""

from __future__ import annotations

from collections.abc import Sequence

from api_etl.engine.exchange import Exchange, Middleware, NextCall


def _bind(middleware: Middleware, next_call: NextCall) -> NextCall:
    async def call(exchange: Exchange) -> Exchange:
        return await middleware(exchange, next_call)

    call.__qualname__ = f"chain[{getattr(middleware, '__qualname__', type(middleware).__name__)}]"
    return call


def compose(middlewares: Sequence[Middleware], terminal: NextCall) -> NextCall:
    """One callable running ``middlewares`` (first = outermost) around ``terminal``."""
    call = terminal
    for middleware in reversed(list(middlewares)):
        if not callable(middleware):
            raise TypeError(f"middleware {middleware!r} is not callable")
        call = _bind(middleware, call)
    return call
