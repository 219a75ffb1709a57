"""Retry timing strategies: small, pure, injectable (tenacity style).

- :class:`FullJitterBackoff`: ``delay(n) = random() * min(max_delay, base_delay * 2**(n-1))``
  for the n-th retry (n = 1 after the first failed attempt) -- "full jitter", so
  concurrent clients spread out instead of retrying in lock-step.
- :func:`parse_retry_after`: a ``Retry-After`` header (delta-seconds or an HTTP-date) as
  seconds from ``now``; None when absent or unparseable; never negative.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import math
import random as _random
from collections.abc import Callable


@dataclasses.dataclass(frozen=True)
class FullJitterBackoff:
    base_delay: float = 0.2
    max_delay: float = 10.0

    def __post_init__(self) -> None:
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("base_delay and max_delay must be >= 0")

    def ceiling(self, retry_number: int) -> float:
        """The upper bound of the n-th retry's delay (before jitter)."""
        exponent = max(0, retry_number - 1)
        if exponent > 1023:  # 2**1024 overflows a float; the cap applies long before
            return self.max_delay
        return min(self.max_delay, self.base_delay * math.ldexp(1.0, exponent))

    def __call__(
        self, retry_number: int, random: Callable[[], float] = _random.random
    ) -> float:
        return random() * self.ceiling(retry_number)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait per a ``Retry-After`` value; ``now`` is epoch seconds (time.time())."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if math.isnan(seconds) or math.isinf(seconds):
            return None
        return max(0.0, seconds)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # HTTP-dates are GMT; "-0000" parses as naive
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, when.timestamp() - now)
