"""Errors raised by the worker-side engine and middleware."""

from __future__ import annotations


class RequestBuildError(Exception):
    """A row could not be turned into a request (missing column, null path value...).

    The engine turns it into an error record with ``error_type == "RequestBuildError"``; the
    message names the column, never a value.
    """


class MiddlewareConfigError(Exception):
    """A middleware factory could not build its middleware (bad custom path, no auth...)."""
