"""The mock's time: real time plus an offset that delivery's virtual clock sets, so message
timestamps (and later the 24-hour window) follow the dev stack's time travel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def set(self, now: datetime) -> None:
        """Move to `now`; never backwards, as the stack's clock only moves forward."""
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        self.offset = max(self.offset, now - datetime.now(UTC))
