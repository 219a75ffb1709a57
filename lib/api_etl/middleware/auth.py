"""Add credentials before sending; on a 401, drop cached credentials and resend once.

The provider comes from the :class:`~api_etl.middleware.base.MiddlewareContext` (built
once per worker process by the engine). When the plan has an auth factory but no
``auth`` middleware is configured, the engine adds this middleware innermost (just
before the send), so every retry is re-authorised. The resend after a 401 goes through
the terminal send again and is counted as an attempt; ``metadata["auth_refreshed"]`` is
set to ``"true"`` when it happened. Providers whose ``refreshable`` is false (static
credentials) get no resend: a 401 there is final.
"""

from __future__ import annotations

import dataclasses

from api_etl.auth.base import AuthProvider
from api_etl.engine.errors import MiddlewareConfigError
from api_etl.engine.exchange import Exchange, NextCall
from api_etl.middleware.base import MiddlewareContext


class AuthMiddleware:
    def __init__(self, provider: AuthProvider, refresh_on_401: bool = True) -> None:
        self.provider = provider
        self.refresh_on_401 = refresh_on_401

    async def __call__(self, exchange: Exchange, next_call: NextCall) -> Exchange:
        await self.provider.authorize(exchange.request)
        exchange = await next_call(exchange)
        if (
            self.refresh_on_401
            # A static credential (basic, bearer, API key) would only be rejected again.
            and getattr(self.provider, "refreshable", True)
            and exchange.response is not None
            and exchange.response.status == 401
        ):
            await self.provider.invalidate(exchange.request)
            await self.provider.authorize(exchange.request)
            exchange.metadata["auth_refreshed"] = "true"
            exchange = await next_call(exchange)
        return exchange


@dataclasses.dataclass(frozen=True)
class AuthFactory:
    refresh_on_401: bool = True

    def __call__(self, context: MiddlewareContext) -> AuthMiddleware:
        if context.auth is None:
            raise MiddlewareConfigError(
                "the 'auth' middleware is configured but the plan has no auth provider"
            )
        return AuthMiddleware(context.auth, self.refresh_on_401)
