"""The stack's virtual time as people read it: one clock for the whole screen.

Delivery owns the stack's clock and the mock follows it, so every time the simulator
shows (the header, the chat, the event log, the inspector) is virtual time, in one zone:
the open participant's (UTC when nobody is open). How far the clock is ahead of real
time is said once, in the header.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def parse_moment(value: object) -> datetime | None:
    """An ISO 8601 time from one of the services (UTC when it names no zone)."""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone, or UTC for an empty or unknown name (a display must not fail)."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def span(seconds: float) -> str:
    """A duration in the largest two units that matter: "2 d 3 h", "5 h 20 min", "14 s"."""
    seconds = abs(seconds)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


@dataclass
class StackClock:
    """What the stack's clock said at the last look, and the zone the screen shows."""

    now: datetime | None = None  # virtual; None until delivery has answered
    offset_seconds: float = 0.0  # virtual minus real
    zone: str = "UTC"

    def update(self, clock: dict[str, object]) -> None:
        """Take delivery's `GET /dev/clock` answer ({"now", "offset_seconds"})."""
        self.now = parse_moment(clock.get("now"))
        try:
            self.offset_seconds = float(str(clock.get("offset_seconds") or 0))
        except ValueError:
            self.offset_seconds = 0.0

    @property
    def tz(self) -> ZoneInfo:
        return zone_named(self.zone)

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def time_of_day(self, value: object, seconds: bool = False) -> str:
        """HH:MM (or HH:MM:SS) of a service's timestamp, in the screen's zone."""
        moment = parse_moment(value)
        if moment is None:
            return ""
        return f"{self.local(moment):%H:%M:%S}" if seconds else f"{self.local(moment):%H:%M}"

    def day_and_time(self, value: object) -> str:
        """ "Tue 09:03" of a service's timestamp, in the screen's zone."""
        moment = parse_moment(value)
        return f"{self.local(moment):%a %H:%M}" if moment else ""

    def relative(self, value: object) -> str:
        """How far a moment is from the stack's now: "in 5 h 20 min", "3 min ago"."""
        moment = parse_moment(value)
        if moment is None or self.now is None:
            return str(value)
        seconds = (moment - self.now).total_seconds()
        if abs(seconds) < 30:
            return "now"
        return f"in {span(seconds)}" if seconds > 0 else f"{span(seconds)} ago"

    def headline(self) -> str:
        """The header's clock: the virtual now in the zone, and the offset from real time."""
        if self.now is None:
            return "clock unknown"
        text = f"{self.local(self.now):%a %d %b %H:%M} {self.zone}"
        if abs(self.offset_seconds) >= 60:
            ahead = "ahead of" if self.offset_seconds > 0 else "behind"
            text += f" · {span(self.offset_seconds)} {ahead} real time"
        return text
