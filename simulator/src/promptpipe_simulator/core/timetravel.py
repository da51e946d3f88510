"""What "go to" means for the clock: a duration, a participant's local time, or a moment."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from promptpipe_simulator.core.scenario import parse_duration, parse_local_time


def zone_of(timezone: str) -> ZoneInfo:
    """The IANA zone (UTC when empty); ValueError when this machine does not know it."""
    try:
        return ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{timezone!r} is not a timezone this machine knows") from None


def next_local(now: datetime, timezone: str, hour: int, minute: int) -> datetime:
    """The next moment the participant's wall clock shows hour:minute."""
    zone = zone_of(timezone)
    local = now.astimezone(zone)
    target = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if target <= local:
        target = (local + timedelta(days=1)).replace(hour=hour, minute=minute)
    return target


def seconds_until(spec: str, now: datetime, timezone: str) -> float:
    """How far to move the clock for `spec`: "3h" / "2h30m", "next 08:00" (the
    participant's wall clock), "08:00" (the same), or an ISO time ("2026-03-01T09:00Z").
    Raises ValueError with a reason for anything else, or for a moment in the past."""
    text = spec.strip()
    if not text:
        raise ValueError("give a duration (3h), a local time (next 08:00) or a date-time")
    if text[:2].isdigit() and len(text) <= 5 and ":" in text:
        text = f"next {text}"
    if text.startswith("next "):
        target = next_local(now, timezone, *parse_local_time(text))
        return (target - now).total_seconds()
    try:
        return parse_duration(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{spec!r} is neither a duration (3h), a local time (next 08:00) nor a date-time"
        ) from None
    if moment.tzinfo is None:  # a wall-clock time: the participant's
        moment = moment.replace(tzinfo=zone_of(timezone))
    seconds = (moment - now).total_seconds()
    if seconds <= 0:
        raise ValueError("the clock only moves forward")
    return seconds
