"""Moving the stack's clock: by a fixed step (F6 to F9), to the next morning, or to a time
the person types. Due prompts and reminders fire on the way."""

from __future__ import annotations

from textual import work

from promptpipe_simulator.core.clients import StackError
from promptpipe_simulator.core.timetravel import seconds_until
from promptpipe_simulator.tui.base import SimulatorBase
from promptpipe_simulator.tui.screens.ask import AskScreen
from promptpipe_simulator.tui.stack_time import parse_moment

STEPS = {"10m": "+10 min", "1h": "+1 h", "5h": "+5 h", "24h": "+1 day"}


class TimeTravel(SimulatorBase):
    @work(group="clock")
    async def action_advance(self, duration: str) -> None:
        """Move the whole stack's clock on; one notice says where it landed."""
        try:
            clock = await self.backend.advance_clock(duration)
        except StackError as exc:
            self.notify(str(exc), title="Clock not moved", severity="error")
            return
        self.clock.update(clock)
        self.notify(f"Now {self.clock.headline()}", title=STEPS.get(duration, f"+{duration}"))
        self.refresh_all()

    def action_travel_to(self) -> None:
        """Ask where to go: a duration, the participant's next HH:MM, or a date-time."""

        def answered(spec: str | None) -> None:
            if spec:
                self.travel_to(spec)

        self.push_screen(
            AskScreen(
                "Travel to (a duration like 3h, 'next 08:00' on the participant's clock "
                f"({self.clock.zone}), or 2026-03-01T09:00):",
                placeholder="next 08:00",
            ),
            answered,
        )

    def action_travel_to_morning(self) -> None:
        self.travel_to("next 08:00")

    @work(group="clock")
    async def travel_to(self, spec: str) -> None:
        try:
            now = parse_moment((await self.backend.clock())["now"])
            if now is None:
                raise StackError("delivery's clock gave no time")
            seconds = seconds_until(spec, now, self.clock.zone)
        except (ValueError, StackError) as exc:
            self.notify(str(exc), title="Clock not moved", severity="error")
            return
        self.action_advance(f"{max(1, round(seconds))}s")
