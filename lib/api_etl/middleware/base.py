"""What a middleware factory receives on the worker, and the factory protocol.

Middleware objects are built on the worker, once per partition, by calling picklable
factories (frozen dataclasses shipped inside the :class:`~api_etl.engine.plan.WorkerPlan`)
with a :class:`MiddlewareContext` that carries the process-scoped resources a middleware
may need (the auth provider) and partition facts (redaction names, worker identity).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Protocol

from api_etl.engine.exchange import Middleware
from api_etl.engine.redaction import Redactor

if TYPE_CHECKING:
    from api_etl.auth.base import AuthProvider
    from api_etl.engine.identity import WorkerIdentity


@dataclasses.dataclass(frozen=True)
class MiddlewareContext:
    redactor: Redactor = Redactor()
    auth: AuthProvider | None = None
    identity: WorkerIdentity | None = None


class MiddlewareFactory(Protocol):
    """``factory(context) -> middleware``; must be picklable (ships to Spark workers)."""

    def __call__(self, context: MiddlewareContext) -> Middleware: ...
