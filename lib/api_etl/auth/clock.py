"""The clock the token cache uses for expiry: monotonic seconds, injectable in tests."""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]
"""A zero-argument callable returning seconds; only differences between readings matter."""

monotonic: Clock = time.monotonic


class FakeClock:
    """A manual clock for tests: ``clock()`` returns ``now``; ``advance(s)`` moves it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
