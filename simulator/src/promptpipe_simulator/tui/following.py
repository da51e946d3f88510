"""Keeping the screen in step with the stack: the mock's live events (the log, "typing…",
a message of the open chat shown at once), and a poll every `poll_seconds` of the rest
(the clock, the sidebar, the chat, the services' health, delivery's event feed, the
inspector)."""

from __future__ import annotations

import contextlib
from typing import Any

from textual import work
from textual.css.query import NoMatches
from textual.widgets import Static

from promptpipe_simulator.core.clients import Refused, StackError
from promptpipe_simulator.core.events import Event
from promptpipe_simulator.tui.base import SimulatorBase
from promptpipe_simulator.tui.widgets.inspector import inspector_markup


class Following(SimulatorBase):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.mock_events = self.backend.follow_events(
            self.mock_events_arrived,
            on_trouble=lambda exc: self.report_once("mock_whatsapp", exc),
            on_recovered=lambda: self._offline.discard("mock_whatsapp"),
        )
        # delivery's event feed: the id of the last event seen; None once it answered
        # 404 (its dev routes are off, DEV_CLOCK=false).
        self._delivery_events_after: int | None = 0

    def start_following(self) -> None:
        self.follow_mock_events()
        self.refresh_all()
        self.set_interval(self.poll_seconds, self.refresh_all)

    @work(group="mock-events")
    async def follow_mock_events(self) -> None:
        """Follow the mock's events for the app's life; it reconnects by itself."""
        await self.mock_events.run()

    def mock_events_arrived(self, events: list[Event]) -> None:
        with contextlib.suppress(NoMatches):  # the app is closing
            self.event_log.show_events(events)
            pane = self.pane
            pane.typing.apply(events)
            pane.show_typing()
            for event in events:
                if event.get("kind") == "clock.changed":
                    self.clock.update(event.get("data") or {})
                    self.sub_title = self.clock.headline()
            # A message, status or read receipt of the open chat: show it now rather
            # than at the next poll.
            if pane.phone is not None and any(
                (e.get("data") or {}).get("phone") == pane.phone
                and str(e.get("kind", "")).startswith("message.")
                for e in events
            ):
                self.reload_chat()

    @work(exclusive=True, group="refresh")
    async def refresh_all(self) -> None:
        try:
            await self.load_clock()
            await self.load_participants()
            await self.load_chat()
            await self.load_health()
            await self.load_delivery_events()
            if not self.inspector.has_class("hidden"):
                await self.load_inspector()
        except NoMatches:
            pass  # the app is closing and its widgets are gone: nothing left to refresh

    async def load_clock(self) -> None:
        with contextlib.suppress(StackError):  # the status line says delivery is down
            self.clock.update(await self.backend.clock())
        self.sub_title = self.clock.headline()

    async def load_health(self) -> None:
        health = await self.backend.health()
        parts = [f"{'[green]●[/]' if ok else '[red]●[/]'} {name}" for name, ok in health.items()]
        with contextlib.suppress(StackError):  # set by us, a scenario or someone else
            self.agent_fault = str((await self.backend.delivery.agent_fault()).get("mode", "ok"))
        if self.agent_fault != "ok":
            parts.append(f"[b red]agent {self.agent_fault}[/]")
        with contextlib.suppress(StackError):
            faults = (await self.backend.phones.faults()).get("faults") or []
            if faults:
                parts.append(f"[b red]{len(faults)} WhatsApp fault{'s' * (len(faults) > 1)}[/]")
        self.query_one("#status", Static).update("  ".join(parts) + "   [dim]F1 help[/]")

    async def load_delivery_events(self) -> None:
        """delivery's feed: lines of the log, and each turn's time for the inspector."""
        if self._delivery_events_after is None:
            return
        try:
            events = await self.backend.delivery.events(self._delivery_events_after)
        except Refused as exc:
            if exc.status == 404:
                self._delivery_events_after = None
                self.event_log.note("[dim]delivery's event feed is off (DEV_CLOCK=false)[/]")
            return
        except StackError:
            return  # the status line already says which service is down
        self.turn_times.record(events)
        shown = self.event_log.show_delivery_events(events)
        self._delivery_events_after = max(self._delivery_events_after, shown)

    async def load_inspector(self) -> None:
        participant = self.selected
        if participant is None:
            self.inspector.show("[dim]No participant open[/]")
            return
        try:
            state: dict[str, Any] | None = await self.backend.conversation(participant.id)
        except StackError:
            self.inspector.show("[b]Agent[/]\n[dim]unavailable[/]")
            return
        jobs: list[dict[str, Any]] | None
        try:
            jobs = await self.backend.delivery.jobs(participant.id)
        except StackError:
            jobs = None
        templates: list[dict[str, Any]] | None
        try:
            templates = await self.backend.phones.templates()
        except StackError:
            templates = None
        last_own = next(
            (
                row.message.id
                for row in reversed(self.pane.chat.rows.values())
                if row.message.direction == "inbound"
            ),
            None,
        )
        turn = self.turn_times.of(last_own)
        self.inspector.show(inspector_markup(state, jobs, self.clock, turn, templates))
