"""Errors the driver raises before any request is sent (exit code 2)."""

from __future__ import annotations


class InputError(Exception):
    """The source, the run state or the environment cannot be used as configured."""


class ConfigChangedError(InputError):
    """A run id was resumed with a config whose hash differs from the one it started with."""
