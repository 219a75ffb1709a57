"""User middleware named by a dotted import path.

``path`` is ``"package.module:attr"`` (``attr`` may be dotted, e.g. ``Class.create``) or
``"package.module.attr"``. The object it names is a *factory*: it is called with the
``options`` dict and must return the middleware, an async callable
``async (exchange, next_call) -> exchange`` (an ``async def`` function, or an object whose
``__call__`` is ``async def``). A class whose ``__init__`` takes the options dict and that
defines ``async def __call__`` is the usual shape::

    class AddTenant:
        def __init__(self, options): self.tenant = options["tenant"]
        async def __call__(self, exchange, next_call):
            exchange.request.headers["X-Tenant"] = self.tenant
            return await next_call(exchange)

Every failure (import, missing attribute, factory raising, wrong result) is a
:class:`~api_etl.engine.errors.MiddlewareConfigError` whose message names the path.
Call :meth:`CustomFactory.validate` on the driver to fail before the job starts.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
from collections.abc import Mapping
from typing import Any

from api_etl.engine.errors import MiddlewareConfigError
from api_etl.engine.exchange import Middleware
from api_etl.middleware.base import MiddlewareContext


def resolve_path(path: str) -> Any:
    """Import the object named by ``path``; MiddlewareConfigError naming the path if not."""
    if not isinstance(path, str) or not path.strip():
        raise MiddlewareConfigError(f"custom middleware path {path!r} is empty")
    path = path.strip()
    if ":" in path:
        module_name, _, attr_path = path.partition(":")
        candidates = [(module_name, attr_path)]
    else:
        pieces = path.split(".")
        candidates = [
            (".".join(pieces[:i]), ".".join(pieces[i:])) for i in range(len(pieces) - 1, 0, -1)
        ]
    if not all(m and a for m, a in candidates) or not candidates:
        raise MiddlewareConfigError(
            f"custom middleware path {path!r} must look like 'package.module:factory'"
        )
    last_error: BaseException | None = None
    for module_name, attr_path in candidates:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # Only "this module does not exist" moves on; errors inside the module are real.
            if exc.name and module_name.startswith(exc.name):
                last_error = exc
                continue
            raise MiddlewareConfigError(
                f"custom middleware {path!r}: importing {module_name!r} failed: {exc}"
            ) from exc
        except Exception as exc:  # noqa: BLE001 - user code at import time
            raise MiddlewareConfigError(
                f"custom middleware {path!r}: importing {module_name!r} failed:"
                f" {type(exc).__name__}: {exc}"
            ) from exc
        target: Any = module
        for name in attr_path.split("."):
            try:
                target = getattr(target, name)
            except AttributeError:
                raise MiddlewareConfigError(
                    f"custom middleware {path!r}: {module_name!r} has no attribute {attr_path!r}"
                ) from None
        return target
    raise MiddlewareConfigError(
        f"custom middleware {path!r}: module not found ({last_error})"
    ) from last_error


def is_async_callable(obj: Any) -> bool:
    if inspect.iscoroutinefunction(obj):
        return True
    call = getattr(obj, "__call__", None)  # noqa: B004 - we need the method itself
    return call is not None and inspect.iscoroutinefunction(call)


def build_custom(path: str, options: Mapping[str, Any] | None = None) -> Middleware:
    factory = resolve_path(path)
    if not callable(factory):
        raise MiddlewareConfigError(
            f"custom middleware {path!r} names a {type(factory).__name__}, not a factory"
        )
    if inspect.iscoroutinefunction(factory):
        raise MiddlewareConfigError(
            f"custom middleware {path!r} is an async function; the path must name a factory"
            " that takes the options dict and returns the async middleware"
        )
    try:
        middleware = factory(dict(options or {}))
    except Exception as exc:  # noqa: BLE001 - user code
        raise MiddlewareConfigError(
            f"custom middleware {path!r}: the factory raised {type(exc).__name__}: {exc}"
        ) from exc
    if not is_async_callable(middleware):
        raise MiddlewareConfigError(
            f"custom middleware {path!r}: the factory returned {type(middleware).__name__!r},"
            " which is not an async callable `async (exchange, next_call) -> exchange`"
        )
    return middleware


@dataclasses.dataclass(frozen=True)
class CustomFactory:
    path: str
    options: Mapping[str, Any] = dataclasses.field(default_factory=dict, hash=False)

    def validate(self) -> None:
        """Resolve and build once (driver side), raising MiddlewareConfigError on problems."""
        build_custom(self.path, self.options)

    def __call__(self, context: MiddlewareContext) -> Middleware:
        return build_custom(self.path, self.options)
