"""Picklable transport factory and the process-scoped accessor workers use.

The driver builds an :class:`AiohttpTransportFactory` (plain frozen data) and ships it to
the workers. Two ways to use it on a worker, both giving one transport per Python worker
process, reused across partitions and closed by the process scope at exit:

- Let the engine cache it: ``factory()`` takes no argument and returns a transport whose
  session opens (and sends the warm-up request) on the first ``send``. The engine keys it
  by ``("api_etl", "transport", factory)`` in ``process_scope``.
- Ask for it explicitly, on ``process_scope.loop``::

      transport = await get_transport(factory)                      # same cache entry
      transport = await get_transport(factory, ssl_context=ctx)     # external SSL context

For mTLS (alone or with OAuth2) set ``client_tls`` to the same
:class:`~api_etl.auth.factories.MTLSAuthFactory` the auth factory uses: the transport loads
its own client-certificate context from it, so it needs nothing from the auth provider.
"""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import Hashable
from typing import TYPE_CHECKING

from api_etl.transport.aiohttp_transport import AiohttpTransport
from api_etl.transport.process_scope import ProcessScope, process_scope
from api_etl.transport.settings import TransportSettings

if TYPE_CHECKING:
    from api_etl.auth.factories import MTLSAuthFactory


@dataclasses.dataclass(frozen=True, slots=True)
class AiohttpTransportFactory:
    """Builds an :class:`AiohttpTransport` from plain settings. Picklable and hashable."""

    settings: TransportSettings = dataclasses.field(default_factory=TransportSettings)
    # Client certificate presented to the API (mTLS); its secrets stay out of repr.
    client_tls: MTLSAuthFactory | None = None

    def __call__(self, ssl_context: ssl.SSLContext | None = None) -> AiohttpTransport:
        """A transport whose session is created by ``await transport.start()`` or on the
        first ``send``. ``ssl_context`` overrides ``client_tls``."""
        if ssl_context is None and self.client_tls is not None:
            ssl_context = self.client_tls.ssl_context()
        return AiohttpTransport(self.settings, ssl_context=ssl_context)

    async def create(self, ssl_context: ssl.SSLContext | None = None) -> AiohttpTransport:
        """A started transport (session open, warm-up sent)."""
        return await self(ssl_context).start()


def transport_key(
    factory: AiohttpTransportFactory, ssl_context: ssl.SSLContext | None = None
) -> Hashable:
    """The process-scope key: the engine's ``("api_etl", "transport", factory)``, plus the
    identity of an explicitly passed SSL context."""
    if ssl_context is None:
        return ("api_etl", "transport", factory)
    return ("api_etl", "transport", factory, id(ssl_context))


async def get_transport(
    factory: AiohttpTransportFactory,
    *,
    ssl_context: ssl.SSLContext | None = None,
    scope: ProcessScope | None = None,
) -> AiohttpTransport:
    """The process-scoped, started transport for ``factory`` (and ``ssl_context``).

    Run it on ``scope.loop``: the session is bound to the loop it was created on. With an
    explicit ``ssl_context`` (e.g. ``auth.ssl_context()`` of a process-scoped provider, the
    same object in every partition) the key includes the context's identity; the transport
    holds a reference to it, so that id cannot be reused while the entry exists.
    """
    scope = scope or process_scope
    transport: AiohttpTransport = await scope.get_or_create(
        transport_key(factory, ssl_context), lambda: factory.create(ssl_context)
    )
    # An entry the engine created holds a transport that opens on first send; open it now.
    return await transport.start()
