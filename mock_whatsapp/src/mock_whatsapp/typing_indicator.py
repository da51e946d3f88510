"""The business's "typing…" on a phone: shown by a read receipt with a typing indicator,
hidden by the business's next message or after Meta's 25 s (of the mock's time)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from mock_whatsapp.chats import Chats
from mock_whatsapp.clock import Clock
from mock_whatsapp.events import TYPING, iso
from mock_whatsapp.scheduler import Job, Scheduler

TYPING_FOR = timedelta(seconds=25)  # Meta hides "typing…" after 25 s without a reply


class TypingIndicator:
    """Shows and hides "typing…". It is told on the event bus, not kept in the journal:
    a restart ends it anyway."""

    def __init__(
        self,
        chats: Chats,
        clock: Clock,
        scheduler: Scheduler,
        publish: Callable[[str, dict[str, Any]], Any],
    ) -> None:
        self.chats, self.clock, self.scheduler, self.publish = chats, clock, scheduler, publish
        # The timer that hides each phone's "typing…" (a job of the mock's one scheduler).
        self.timers: dict[str, Job] = {}

    def showing(self, number: str) -> bool:
        """Whether the phone shows "typing…" from the business right now."""
        until = self.chats.phone(number).typing_until
        return until is not None and self.clock.now() < until

    def show(self, number: str) -> None:
        """Show "typing…" on the phone for 25 s of mock time (a repeat starts them again)."""
        until = self.clock.now() + TYPING_FOR
        self.chats.phone(number).typing_until = until
        self.publish(TYPING, {"phone": number, "typing": True, "until": iso(until)})
        self._stop_timer(number)
        # The mock's clock runs at real speed between jumps, and a jump is handled by
        # `clock_moved`, so waiting the remaining real seconds is enough.
        wait = (until - self.clock.now()).total_seconds()
        self.timers[number] = self.scheduler.later(wait, lambda: self._fade(number), "typing")

    def _fade(self, number: str) -> None:
        self.timers.pop(number, None)
        self.timed_out(number)

    def _stop_timer(self, number: str) -> None:
        timer = self.timers.pop(number, None)
        if timer is not None:
            timer.cancel()

    def timed_out(self, number: str) -> None:
        phone = self.chats.phones.get(number)  # None after a reset: nothing to hide
        if phone and phone.typing_until is not None and self.clock.now() >= phone.typing_until:
            self.hide(number, "timeout")

    def clock_moved(self) -> None:
        for number in list(self.chats.phones):
            self.timed_out(number)  # a jump past the 25 s ends "typing…" at once

    def hide(self, number: str, reason: str) -> None:
        """End "typing…" on the phone: the business's message came (`message`) or Meta's
        25 s ran out (`timeout`). Nothing is published when it was not showing."""
        phone = self.chats.phones.get(number)
        if phone is None or phone.typing_until is None:
            return
        phone.typing_until = None
        self._stop_timer(number)
        self.publish(TYPING, {"phone": number, "typing": False, "until": None, "reason": reason})

    def forget(self) -> None:
        for number in list(self.timers):
            self._stop_timer(number)
