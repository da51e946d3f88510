"""Token buckets for Meta's rate limits: messages per second per business number
(130429) and messages to one user per business number (131056)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Bucket:
    tokens: float
    updated: float


class Throttle:
    """One bucket per key, holding up to `burst` tokens, refilled at `rate` per second.
    Real (monotonic) time, not the mock's clock: a jump of the stack's clock must not
    hand out a day's worth of quota."""

    def __init__(
        self, rate: float, burst: float, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.burst, self.now = rate, burst, now
        self.buckets: dict[str, Bucket] = {}

    def take(self, key: str) -> bool:
        """Spend one token for `key`; False when its bucket is empty."""
        now = self.now()
        bucket = self.buckets.setdefault(key, Bucket(self.burst, now))
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens < 1:
            return False
        bucket.tokens -= 1
        return True

    def clear(self) -> None:
        self.buckets.clear()
