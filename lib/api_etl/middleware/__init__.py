"""Middleware: ``async (exchange, next_call) -> exchange`` callables composed in order.

Modules, one concern each: :mod:`.chain` (composition), :mod:`.base` (factory context),
:mod:`.backoff` (retry timing), :mod:`.retry`, :mod:`.json_body`, :mod:`.request_logging`,
:mod:`.timing`, :mod:`.identity`, :mod:`.diagnostics`, :mod:`.inject`, :mod:`.auth`,
:mod:`.custom`, and :mod:`.registry` (factory by config type name).
"""
