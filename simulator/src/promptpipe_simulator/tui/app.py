"""The simulator app: participants on the left, their WhatsApp chat in the middle."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.markup import escape
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widgets import Button, Footer, Header, Input, Label, ListItem, ListView, Static

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.clients import Participant, StackError
from promptpipe_simulator.core.personas import PersonaFactory
from promptpipe_simulator.tui.screens.confirm import ConfirmScreen
from promptpipe_simulator.tui.screens.help import HelpScreen
from promptpipe_simulator.tui.widgets.chat import ChatView, ReplyButton
from promptpipe_simulator.tui.widgets.events import EventLog


class ParticipantItem(ListItem):
    def __init__(self, participant: Participant) -> None:
        super().__init__(Label(self.label(participant), classes="participant"))
        self.participant = participant

    @staticmethod
    def label(p: Participant) -> str:
        badge = "" if p.status == "active" else f" [dim]({p.status})[/]"
        return f"[b]{escape(p.name or p.phone_number)}[/]{badge}\n[dim]+{p.phone_number}[/]"


class SimulatorApp(App[None]):
    """Chat as simulated participants with the PromptPipe stack."""

    TITLE = "PromptPipe simulator"
    CSS_PATH = "app.tcss"
    BINDINGS = [
        # Letters serve when the composer is not focused; F-keys and ctrl work everywhere.
        Binding("n", "enroll", "Enroll persona", show=False),
        Binding("ctrl+n", "enroll", "Enroll"),
        Binding("i", "toggle_inspector", "Inspector", show=False),
        Binding("f2", "toggle_inspector", "Inspector"),
        Binding("f3", "toggle_pause", "Pause/resume"),
        Binding("f4", "enroll_batch", "Enroll 5"),
        Binding("f10", "delete", "Delete", show=False),
        Binding("f5", "toggle_events", "Events"),
        Binding("r", "refresh", "Refresh", show=False),
        Binding("f1", "help", "Help", show=False),
        Binding("f6", "advance('10m')", "+10m"),
        Binding("f7", "advance('1h')", "+1h"),
        Binding("f8", "advance('5h')", "+5h"),
        Binding("f9", "advance('24h')", "+1 day"),
        Binding("question_mark", "help", "Help", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        backend: Backend,
        poll_seconds: float = 0.5,
        personas: PersonaFactory | None = None,
        show_clock: bool = True,  # off in snapshot tests, whose screens must not change
    ) -> None:
        super().__init__()
        self.show_clock = show_clock
        self.backend = backend
        self.poll_seconds = poll_seconds
        self.personas = personas or PersonaFactory()
        self.participants: list[Participant] = []
        self.selected: Participant | None = None
        self._offline: set[str] = set()
        # Enrollments and polling refresh the sidebar concurrently; one at a time, or two
        # clear-and-refill passes interleave and list people twice.
        self._sidebar_lock = asyncio.Lock()

    def compose(self) -> ComposeResult:
        yield Header(show_clock=self.show_clock)
        with Horizontal(id="body"):
            with Vertical(id="sidebar"):
                yield ListView(id="participants")
                yield Button("Enroll persona (n)", id="enroll", variant="primary")
            with Vertical(id="conversation"):
                yield Static("Enroll or pick a participant", id="chat-title")
                yield ChatView(id="chat")
                yield Input(
                    placeholder="Type a message as this participant…", id="composer", disabled=True
                )
            yield Static("", id="inspector", classes="hidden")
        yield EventLog(id="events", classes="hidden")
        yield Static("connecting…", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_all()
        self.set_interval(self.poll_seconds, self.refresh_all)

    # --- actions ---------------------------------------------------------------------

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_toggle_inspector(self) -> None:
        self.query_one("#inspector").toggle_class("hidden")
        self.refresh_all()

    def action_toggle_events(self) -> None:
        self.query_one(EventLog).toggle_class("hidden")
        self.refresh_all()

    def action_refresh(self) -> None:
        self.refresh_all()

    @work(group="clock")
    async def action_advance(self, duration: str) -> None:
        """Time travel: move the whole stack's clock; due prompts and reminders fire."""
        try:
            clock = await self.backend.advance_clock(duration)
        except StackError as exc:
            self.notify(str(exc), title="Clock not moved", severity="error")
            return
        self.notify(f"Now {self._clock_text(clock)}", title=f"+{duration}")
        self.refresh_all()

    def _clock_text(self, clock: dict[str, Any]) -> str:
        now = datetime.fromisoformat(str(clock["now"]).replace("Z", "+00:00"))
        zone = "UTC"
        if self.selected is not None and self.selected.timezone:
            zone = self.selected.timezone
        try:
            local = now.astimezone(ZoneInfo(zone))
        except ZoneInfoNotFoundError:
            local, zone = now, "UTC"
        return f"{local:%a %d %b %H:%M} {zone}"

    @on(Button.Pressed, "#enroll")
    def action_enroll(self) -> None:
        self.enroll_persona()

    def action_delete(self) -> None:
        """Delete the selected participant, after asking."""
        participant = self.selected
        if participant is None:
            self.notify("Pick a participant first", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.delete_participant(participant)

        self.push_screen(
            ConfirmScreen(
                f"Delete {participant.name or participant.phone_number}? "
                "Their schedules are canceled and they get nothing more."
            ),
            answered,
        )

    @work(group="status")
    async def delete_participant(self, participant: Participant) -> None:
        try:
            await self.backend.delete(participant.id)
        except StackError as exc:
            self.notify(str(exc), title="Not deleted", severity="error")
            return
        self.notify(f"{participant.name} deleted", title="Participant")
        self.selected = None
        self.query_one("#chat-title", Static).update("Enroll or pick a participant")
        self.query_one(ChatView).clear()
        self.query_one("#composer", Input).disabled = True
        await self.load_participants()

    def action_enroll_batch(self) -> None:
        for _ in range(5):
            self.enroll_persona(select=False)

    @work(group="status")
    async def action_toggle_pause(self) -> None:
        """Pause the selected participant (delivery then only acknowledges them and skips
        their prompts), or resume them."""
        if self.selected is None:
            self.notify("Pick a participant first", severity="warning")
            return
        status = "active" if self.selected.status == "paused" else "paused"
        try:
            self.selected = await self.backend.set_status(self.selected.id, status)
        except StackError as exc:
            self.notify(str(exc), title="Status not changed", severity="error")
            return
        self.notify(f"{self.selected.name} is {status}", title="Participant")
        await self.load_participants()

    @work(exclusive=False, group="enroll")
    async def enroll_persona(self, select: bool = True) -> None:
        persona = self.personas.make()
        try:
            participant = await self.backend.enroll(persona)
        except StackError as exc:
            self.notify(str(exc), title="Could not enroll", severity="error")
            return
        self.notify(
            f"{persona.name} (+{persona.phone_number}, {persona.timezone})", title="Enrolled"
        )
        self.selected = participant
        await self.load_participants()

    @on(ListView.Selected, "#participants")
    def participant_chosen(self, event: ListView.Selected) -> None:
        if isinstance(event.item, ParticipantItem):
            self.select(event.item.participant)

    def select(self, participant: Participant) -> None:
        self.selected = participant
        title = f"{participant.name}  +{participant.phone_number}  {participant.timezone}"
        self.query_one("#chat-title", Static).update(escape(title))
        self.query_one(ChatView).clear()
        composer = self.query_one("#composer", Input)
        composer.disabled = False
        composer.focus()
        self.refresh_all()

    @on(Input.Submitted, "#composer")
    def send(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text or self.selected is None:
            return
        event.input.value = ""
        self.send_text(self.selected.phone_number, text)

    @on(ReplyButton.Tapped)
    def button_tapped(self, event: ReplyButton.Tapped) -> None:
        if self.selected is not None:
            self.tap(self.selected.phone_number, event.button, event.message.id)

    @work(group="send")
    async def tap(self, phone: str, button: dict[str, str], context_id: str) -> None:
        try:
            await self.backend.tap_button(
                phone, {"id": button["id"], "title": button["title"]}, context_id
            )
        except StackError as exc:
            self.notify(str(exc), title="Tap not sent", severity="error")
            return
        await self.load_chat()

    @work(group="send")
    async def send_text(self, phone: str, text: str) -> None:
        try:
            await self.backend.send_text(phone, text)
        except StackError as exc:
            self.notify(str(exc), title="Message not sent", severity="error")
            return
        await self.load_chat()

    # --- polling ---------------------------------------------------------------------

    @work(exclusive=True, group="refresh")
    async def refresh_all(self) -> None:
        try:
            await self.load_participants()
            await self.load_chat()
            await self.load_health()
            if not self.query_one("#inspector").has_class("hidden"):
                await self.load_inspector()
            if not self.query_one(EventLog).has_class("hidden"):
                await self.load_events()
        except NoMatches:
            pass  # the app is closing and its widgets are gone: nothing left to refresh

    async def load_participants(self) -> None:
        async with self._sidebar_lock:
            await self._load_participants()

    async def _load_participants(self) -> None:
        try:
            participants = await self.backend.participants()
        except StackError as exc:
            self.report_once("delivery", exc)
            return
        self._offline.discard("delivery")
        if [(p.id, p.status, p.name) for p in participants] == [
            (p.id, p.status, p.name) for p in self.participants
        ]:
            return
        self.participants = participants
        view = self.query_one("#participants", ListView)
        await view.clear()
        await view.extend([ParticipantItem(p) for p in participants])
        if self.selected is not None:
            for index, p in enumerate(participants):
                if p.id == self.selected.id:
                    view.index = index
                    if self.query_one("#composer", Input).disabled:
                        self.select(p)

    async def load_chat(self) -> None:
        if self.selected is None:
            return
        try:
            messages = await self.backend.chat(self.selected.phone_number)
        except StackError as exc:
            self.report_once("mock_whatsapp", exc)
            return
        self._offline.discard("mock_whatsapp")
        self.query_one(ChatView).show(messages, self.selected.timezone)

    async def load_health(self) -> None:
        health = await self.backend.health()
        parts = [f"{'[green]●[/]' if ok else '[red]●[/]'} {name}" for name, ok in health.items()]
        try:
            clock = await self.backend.clock()
            offset = float(clock.get("offset_seconds", 0))
            ahead = f" [b yellow](+{offset / 3600:.1f}h)[/]" if offset else ""
            parts.insert(0, f"🕓 {self._clock_text(clock)}{ahead}")
        except StackError:
            pass  # a real clock (DEV_CLOCK off) has no /dev/clock; nothing to show
        self.query_one("#status", Static).update("  ".join(parts) + "   [dim]F1 help[/]")

    async def load_events(self) -> None:
        try:
            deliveries = await self.backend.webhook_deliveries()
        except StackError:
            return  # the status line already says which service is down
        self.query_one(EventLog).show(deliveries)

    async def load_inspector(self) -> None:
        panel = self.query_one("#inspector", Static)
        if self.selected is None:
            panel.update("[dim]No participant selected[/]")
            return
        try:
            state: dict[str, Any] | None = await self.backend.conversation(self.selected.id)
        except StackError:
            panel.update("[b]Agent[/]\n[dim]unavailable[/]")
            return
        if state is None:
            panel.update("[b]Agent[/]\n[dim]no conversation yet[/]")
            return
        profile = json.dumps(state.get("profile", {}), indent=1, ensure_ascii=False)
        panel.update(
            f"[b]Agent[/]\nstate: [b]{escape(str(state.get('state')))}[/]\n"
            f"turns: {state.get('turns')}\n\n[b]Profile[/]\n{escape(profile)}"
        )

    def report_once(self, service: str, exc: StackError) -> None:
        """Tell the user a service is unreachable once, not on every poll."""
        if service not in self._offline:
            self._offline.add(service)
            self.notify(f"{exc}. Retrying…", title="Connection problem", severity="warning")

    async def on_unmount(self) -> None:
        await self.backend.close()
