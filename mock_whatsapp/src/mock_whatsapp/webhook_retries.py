"""Meta's schedule for retrying a webhook, written once: the sender follows it and the
settings take their defaults from it."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetrySchedule:
    """When a webhook that failed (an answer other than 2xx, or no answer in time) is
    tried again. Meta's documentation says it keeps trying "with decreasing frequency
    until the request succeeds, for up to 7 days" (reference A.8). So: the first retry
    after `first` seconds, each wait twice the last, at most `ceiling`, with ±20 % jitter
    so that many failed webhooks do not retry in lockstep; given up once the next try
    would come more than `give_up_after` seconds after the first. The settings
    MOCK_WA_WEBHOOK_RETRY_FOR_SECONDS and MOCK_WA_WEBHOOK_MAX_BACKOFF_SECONDS shorten it
    (tests, crash drills); this is the one place the schedule is written."""

    first: float = 0.5
    ceiling: float = 300.0
    give_up_after: float = 7 * 24 * 3600.0

    def wait(self, retry: int) -> float:
        """Seconds before retry number `retry` (1 for the first retry)."""
        base: float = min(self.first * 2.0 ** (retry - 1), self.ceiling)
        return base * random.uniform(0.8, 1.2)
