"""The simulator app: participants on the left, their WhatsApp chat in the middle."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.markup import escape
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Footer, Header, Input, ListView, OptionList, Static

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.clients import Participant, Refused, StackError
from promptpipe_simulator.core.events import Event, Typing
from promptpipe_simulator.core.personas import PersonaFactory
from promptpipe_simulator.core.roster import UnreadCounter, load_roster
from promptpipe_simulator.core.runner import Actor as ScenarioActor
from promptpipe_simulator.core.runner import ScenarioResult, ScenarioRunner, StepOutcome
from promptpipe_simulator.core.scenario import Scenario, ScenarioError, Step, load
from promptpipe_simulator.core.stack_control import controller_or_reason
from promptpipe_simulator.core.timetravel import seconds_until
from promptpipe_simulator.settings import Settings
from promptpipe_simulator.tui.screens.ask import AskScreen
from promptpipe_simulator.tui.screens.confirm import ConfirmScreen
from promptpipe_simulator.tui.screens.help import HelpScreen
from promptpipe_simulator.tui.widgets.chat import ChatView, ReplyButton
from promptpipe_simulator.tui.widgets.events import EventDetailsScreen, EventLog
from promptpipe_simulator.tui.widgets.inspector import inspector_markup
from promptpipe_simulator.tui.widgets.roster import ParticipantItem

# What the WhatsApp fault toggles ask of mock_whatsapp's faults API.
WHATSAPP_FAULTS = {
    "errors": {"target": "messages", "error_code": 131000, "probability": 0.5},
    "webhooks": {"target": "webhooks", "webhook": "drop", "probability": 0.5},
}


class LiveReporter:
    """Shows a scenario run in the event log as it happens."""

    def __init__(self, app: SimulatorApp) -> None:
        self.app = app

    def scenario_started(self, scenario: Scenario, actors: dict[str, ScenarioActor]) -> None:
        self.app.note(f"[b]▶ scenario {escape(scenario.name)}[/]")
        self.app.scenario_cast([a.participant for a in actors.values() if a.participant])

    def step_started(self, step: Step) -> None:
        pass

    def step_finished(self, outcome: StepOutcome) -> None:
        mark = "[green]✓[/]" if outcome.ok else "[red]✗[/]"
        self.app.note(f"  {outcome.step.number:>3} {mark} {escape(outcome.step.describe())}")
        for line in outcome.failure.splitlines():
            self.app.note(f"        [red]{escape(line)}[/]")

    def scenario_finished(self, result: ScenarioResult) -> None:
        verdict = "[green]PASS[/]" if result.passed else "[red]FAIL[/]"
        self.app.note(f"{verdict} {escape(result.scenario.name)} {escape(result.error)}")


class SimulatorApp(App[None]):
    """Chat as simulated participants with the PromptPipe stack."""

    TITLE = "PromptPipe simulator"
    CSS_PATH = "app.tcss"
    # Narrow and short terminals (80x24) get slimmer side panels and a shorter log.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
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
        # The participant's next 08:00: where daily prompts usually wait.
        Binding("ctrl+o", "travel_to_morning", "Next morning", show=False),
        Binding("t", "travel_to", "Time travel to…", show=False),
        Binding("ctrl+t", "travel_to", "Go to time", show=False),
        Binding("a", "agent_fault", "Agent fault", show=False),
        Binding("w", "whatsapp_fault('errors')", "WhatsApp errors", show=False),
        Binding("ctrl+r", "run_scenario", "Run scenario", show=False),
        Binding("ctrl+s", "save_scenario", "Save as scenario", show=False),
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
        # Clock jumps, pauses and faults are noted, so ctrl+s can save them in a scenario.
        self.backend.start_recording()
        self.poll_seconds = poll_seconds
        self.personas = personas or PersonaFactory()
        self.participants: list[Participant] = []
        self.unread = UnreadCounter()
        self.selected: Participant | None = None
        self._offline: set[str] = set()
        # Enrollments and polling refresh the sidebar concurrently; one at a time, or two
        # clear-and-refill passes interleave and list people twice.
        self._sidebar_lock = asyncio.Lock()
        self.agent_fault = "ok"
        # mock_whatsapp's live events: the log shows them, the chat takes "typing…" and
        # read receipts from them. Its mode turns "none" with an older mock that has no
        # events: the log then shows its webhook deliveries instead.
        self.mock_events = backend.follow_events(
            self.mock_events_arrived,
            on_trouble=lambda exc: self.report_once("mock_whatsapp", exc),
            on_recovered=lambda: self._offline.discard("mock_whatsapp"),
        )
        self.typing = Typing()
        # delivery's event feed, likewise None once it answered 404 (DEV_CLOCK off).
        self._delivery_events_after: int | None = 0
        # Without typing events (an older mock), "typing…" is guessed: shown while the
        # participant's last message waits for its answer.
        self._typing_for: str | None = None  # the unanswered message "typing…" is for
        self._typing_since = 0.0
        self._unanswered: str | None = None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=self.show_clock)
        with Horizontal(id="body"):
            with Vertical(id="sidebar"):
                yield ListView(id="participants")
                yield Button("Enroll persona (n)", id="enroll", variant="primary")
            with Vertical(id="conversation"):
                yield Static("Enroll or pick a participant", id="chat-title")
                yield ChatView(id="chat")
                yield Static("[i]coach is typing…[/]", id="typing", classes="hidden")
                yield Input(
                    placeholder="Type a message as this participant…", id="composer", disabled=True
                )
            yield Static("", id="inspector", classes="hidden")
        yield EventLog(id="events", classes="hidden")
        yield Static("connecting…", id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.follow_mock_events()
        self.refresh_all()
        self.set_interval(self.poll_seconds, self.refresh_all)

    @work(group="mock-events")
    async def follow_mock_events(self) -> None:
        """Follow the mock's events for the app's life; it reconnects by itself."""
        await self.mock_events.run()

    def mock_events_arrived(self, events: list[Event]) -> None:
        with contextlib.suppress(NoMatches):  # the app is closing
            self.query_one(EventLog).show_events(events)
            self.typing.apply(events)
            phone = self.selected.phone_number if self.selected else None
            if phone is None:
                return
            self._show_typing()
            # A message, status or read receipt of the open chat: show it now rather than
            # at the next poll.
            if any(
                (e.get("data") or {}).get("phone") == phone
                and str(e.get("kind", "")).startswith("message.")
                for e in events
            ):
                self.reload_chat()

    @work(group="chat", exclusive=True)
    async def reload_chat(self) -> None:
        with contextlib.suppress(NoMatches):
            await self.load_chat()

    # --- actions ---------------------------------------------------------------------

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_toggle_inspector(self) -> None:
        self._toggle_panel(self.query_one("#inspector"))

    def action_toggle_events(self) -> None:
        self._toggle_panel(self.query_one(EventLog))

    def action_filter_events(self) -> None:
        """Narrow the event log to the selected participant's events, or widen it again."""
        log = self.query_one(EventLog)
        if log.only is not None:
            log.narrow_to(None)
        elif self.selected is None:
            self.notify("Pick a participant first", severity="warning")
            return
        else:
            log.narrow_to((self.selected.phone_number, self.selected.id), self.selected.name)
        log.remove_class("hidden")

    @on(OptionList.OptionSelected, "#events")
    def event_chosen(self, event: OptionList.OptionSelected) -> None:
        """Enter or a click on a line of the log: the event in full."""
        entry = self.query_one(EventLog).entries.get(event.option.id or "")
        if entry is not None:
            self.push_screen(EventDetailsScreen(entry))

    def _toggle_panel(self, panel: Widget) -> None:
        """Show or hide a panel; it takes room from the chat, so keep the chat's latest
        message in view if it was."""
        chat = self.query_one(ChatView)
        at_bottom = chat.scroll_offset.y >= chat.max_scroll_y - 1
        panel.toggle_class("hidden")
        if at_bottom:
            self.call_after_refresh(chat.scroll_end, animate=False)
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
        await self.load_participants()
        # One enrolled by hand is opened; a batch keeps the chat that is open.
        if select or self.selected is None:
            self.select(participant)

    @on(ListView.Selected, "#participants")
    def participant_chosen(self, event: ListView.Selected) -> None:
        if isinstance(event.item, ParticipantItem):
            self.select(event.item.participant)

    def select(self, participant: Participant) -> None:
        self.selected = participant
        title = f"{participant.name}  +{participant.phone_number}  {participant.timezone}"
        self.query_one("#chat-title", Static).update(escape(title))
        view = self.query_one("#participants", ListView)
        for index, p in enumerate(self.participants):
            if p.id == participant.id and view.index != index:
                view.index = index
        self.query_one(ChatView).clear()
        log = self.query_one(EventLog)
        if log.only is not None and log.only[1] != participant.id:
            log.narrow_to((participant.phone_number, participant.id), participant.name)
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
            self.tap(self.selected.phone_number, event.button, event.message.id, event.row)

    @work(group="send")
    async def tap(
        self, phone: str, button: dict[str, str], context_id: str, row: bool = False
    ) -> None:
        choice = {"id": button["id"], "title": button["title"]}
        try:
            if row:
                await self.backend.tap_row(phone, choice, context_id)
            else:
                await self.backend.tap_button(phone, choice, context_id)
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

    def action_travel_to(self) -> None:
        """Ask where to go: a duration, the participant's next HH:MM, or a date-time."""

        def answered(spec: str | None) -> None:
            if spec:
                self.travel_to(spec)

        zone = self.selected.timezone if self.selected else "UTC"
        self.push_screen(
            AskScreen(
                f"Travel to (durations like 3h, 'next 08:00' in {zone}, or 2026-03-01T09:00):",
                placeholder="next 08:00",
            ),
            answered,
        )

    def action_travel_to_morning(self) -> None:
        self.travel_to("next 08:00")

    @work(group="clock")
    async def travel_to(self, spec: str) -> None:
        try:
            clock = await self.backend.clock()
            now = datetime.fromisoformat(str(clock["now"]).replace("Z", "+00:00"))
            zone = self.selected.timezone if self.selected else "UTC"
            seconds = seconds_until(spec, now, zone)
        except ValueError as exc:
            self.notify(str(exc), title="Clock not moved", severity="error")
            return
        except StackError as exc:
            self.notify(str(exc), title="Clock not moved", severity="error")
            return
        self.action_advance(f"{max(1, round(seconds))}s")

    @work(group="faults")
    async def action_agent_fault(self, mode: str = "") -> None:
        """Make delivery's calls to the agent fail or lag; without a mode, cycle
        ok → slow → down → ok."""
        mode = mode or {"ok": "slow", "slow": "down"}.get(self.agent_fault, "ok")
        try:
            await self.backend.set_agent_fault(mode, 5 if mode == "slow" else 0)
        except StackError as exc:
            self._fault_not_set(
                exc, "delivery has no agent fault switch here (needs DEV_CLOCK=true)"
            )
            return
        self.agent_fault = mode
        what = {"ok": "calls go through", "slow": "each call waits 5 s", "down": "calls fail"}
        self.notify(f"Agent {mode}: {what[mode]}", title="Fault")

    @work(group="faults")
    async def action_whatsapp_fault(self, kind: str) -> None:
        """WhatsApp errors on half the sends, or half the webhooks lost."""
        try:
            fault = await self.backend.add_whatsapp_fault(dict(WHATSAPP_FAULTS[kind]))
        except StackError as exc:
            self._fault_not_set(exc, "mock_whatsapp has no faults API in this version")
            return
        self.notify(f"WhatsApp {kind}: fault {fault.get('id', '')} on", title="Fault")

    def _fault_not_set(self, exc: StackError, missing: str) -> None:
        """An older service without the fault API gets a warning that says so (it is not
        broken); any other refusal is an error."""
        if isinstance(exc, Refused) and exc.status in (404, 405):
            self.notify(missing, title="Fault not set", severity="warning")
        else:
            self.notify(str(exc), title="Fault not set", severity="error")

    @work(group="faults")
    async def action_clear_faults(self) -> None:
        problems = []
        try:
            await self.backend.set_agent_fault("ok")
            self.agent_fault = "ok"
        except StackError as exc:
            problems.append(str(exc))
        try:
            await self.backend.clear_whatsapp_faults()
        except Refused as exc:
            if exc.status not in (404, 405):
                problems.append(str(exc))
        except StackError as exc:
            problems.append(str(exc))
        if problems:
            self.notify("; ".join(problems), title="Faults", severity="warning")
        else:
            self.notify("No faults", title="Faults")

    def action_run_scenario(self) -> None:
        def answered(path: str | None) -> None:
            if path:
                self.run_scenario(Path(path))

        self.push_screen(
            AskScreen("Run the scenario file:", value="simulator/scenarios/"), answered
        )

    @work(group="scenario", exclusive=True)
    async def run_scenario(self, path: Path) -> None:
        """Run a scenario against the stack, its steps shown live in the event log."""
        try:
            scenario = load(path)
        except ScenarioError as exc:
            self.notify(str(exc), title="Scenario not run", severity="error")
            return
        self.query_one(EventLog).remove_class("hidden")
        controller, reason = None, ""
        if scenario.needs_controller():  # restart steps: the stack ./scripts/up started
            controller, reason = controller_or_reason(Settings())
        runner = ScenarioRunner(
            self.backend, controller, self.personas, no_controller_reason=reason
        )
        result = await runner.run(scenario, LiveReporter(self))
        self.notify(
            f"{scenario.name}: {'passed' if result.passed else 'failed'}",
            title="Scenario",
            severity="information" if result.passed else "error",
        )

    def note(self, line: str) -> None:
        self.query_one(EventLog).note(line)

    def scenario_cast(self, participants: list[Participant]) -> None:
        """Follow a running scenario's first participant in the chat."""
        if participants:
            self.select(participants[0])

    @work(group="scenario")
    async def action_save_scenario(self) -> None:
        """Save the selected participant's conversation, with the clock jumps, pauses and
        faults made meanwhile, as a scenario file."""
        participant = self.selected
        if participant is None:
            self.notify("Pick a participant first", severity="warning")
            return
        try:
            path = await self.backend.save_scenario(participant, Path("scenarios"))
        except StackError as exc:
            self.notify(str(exc), title="Not saved", severity="error")
            return
        self.notify(f"Saved {path}", title="Scenario")

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every action of the simulator, in the command palette (ctrl+p)."""
        yield from super().get_system_commands(screen)
        commands: list[tuple[str, str, Callable[[], Any]]] = [
            ("Enroll a persona", "A generated participant", self.action_enroll),
            ("Enroll five personas", "A batch of participants", self.action_enroll_batch),
            ("Pause or resume", "The selected participant", self.action_toggle_pause),
            ("Delete participant", "The selected one, after asking", self.action_delete),
            ("Time travel +10 min", "Move the stack's clock", lambda: self.action_advance("10m")),
            ("Time travel +1 h", "Move the stack's clock", lambda: self.action_advance("1h")),
            ("Time travel +5 h", "Move the stack's clock", lambda: self.action_advance("5h")),
            ("Time travel +1 day", "Move the stack's clock", lambda: self.action_advance("24h")),
            (
                "Time travel to next morning",
                "08:00 on the participant's clock",
                self.action_travel_to_morning,
            ),
            ("Time travel to…", "A duration, a local time or a date", self.action_travel_to),
            (
                "Agent slow",
                "Each call to the agent waits 5 s",
                lambda: self.action_agent_fault("slow"),
            ),
            (
                "Agent down",
                "Calls fail: retries, then the apology",
                lambda: self.action_agent_fault("down"),
            ),
            ("Agent OK", "Calls go through again", lambda: self.action_agent_fault("ok")),
            (
                "WhatsApp errors",
                "Half the sends fail (mock faults API)",
                lambda: self.action_whatsapp_fault("errors"),
            ),
            (
                "Webhook failures",
                "Half the webhooks are lost (mock faults API)",
                lambda: self.action_whatsapp_fault("webhooks"),
            ),
            ("Clear faults", "Agent OK, no WhatsApp faults", self.action_clear_faults),
            (
                "Run a scenario",
                "A YAML file, shown live in the event log",
                self.action_run_scenario,
            ),
            (
                "Save as scenario",
                "The selected participant's conversation",
                self.action_save_scenario,
            ),
            ("Toggle inspector", "Agent state, profile, jobs", self.action_toggle_inspector),
            ("Toggle event log", "Webhooks, statuses, faults", self.action_toggle_events),
            (
                "Event log: only this participant",
                "Or everyone's again (f in the log)",
                self.action_filter_events,
            ),
        ]
        for title, help_text, callback in commands:
            yield SystemCommand(title, help_text, callback)

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
        open_phone = self.selected.phone_number if self.selected else None
        try:
            roster = await load_roster(self.backend, self.unread, open_phone)
        except StackError as exc:
            self.report_once("delivery", exc)
            return
        self._offline.discard("delivery")
        participants = [entry.participant for entry in roster]
        view = self.query_one("#participants", ListView)
        if [p.id for p in participants] == [p.id for p in self.participants]:
            # Same people: redraw rows in place (badges, unread counts, times), no flicker.
            for item, entry in zip(view.query(ParticipantItem), roster, strict=False):
                item.show(entry)
            self.participants = participants
            return
        self.participants = participants
        await view.clear()
        await view.extend([ParticipantItem(entry) for entry in roster])
        if self.selected is not None:
            for index, p in enumerate(participants):
                if p.id == self.selected.id:
                    view.index = index

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
        last = messages[-1] if messages else None
        self._unanswered = last.id if last and last.direction == "inbound" else None
        self._show_typing()

    def _show_typing(self) -> None:
        """Show "typing…" while the business shows it to the selected phone (the mock's
        typing events). With a mock that has none, guess: while the participant's last
        message waits for its answer, giving up after a while, since some messages get
        no answer at all."""
        phone = self.selected.phone_number if self.selected else ""
        if self.typing.seen:
            shown = self.typing.shows(phone)
        else:
            if self._unanswered != self._typing_for:
                self._typing_for, self._typing_since = self._unanswered, time.monotonic()
            shown = self._unanswered is not None and time.monotonic() - self._typing_since < 30
        self.query_one("#typing", Static).set_class(not shown, "hidden")

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
        with contextlib.suppress(StackError):  # set by us, a scenario or someone else
            self.agent_fault = str((await self.backend.delivery.agent_fault()).get("mode", "ok"))
        if self.agent_fault != "ok":
            parts.append(f"[b red]agent {self.agent_fault}[/]")
        self.query_one("#status", Static).update("  ".join(parts) + "   [dim]F1 help[/]")

    async def load_events(self) -> None:
        log = self.query_one(EventLog)
        if self._delivery_events_after is not None:
            try:
                events = await self.backend.delivery.events(self._delivery_events_after)
            except Refused as exc:
                if exc.status in (404, 405):
                    self._delivery_events_after = None
            except StackError:
                pass  # the status line already says which service is down
            else:
                shown = log.show_delivery_events(events)
                self._delivery_events_after = max(self._delivery_events_after, shown)
        if self.mock_events.mode != "none":
            return  # the mock's events come live, see mock_events_arrived
        try:
            deliveries = await self.backend.webhook_deliveries()
        except StackError:
            return
        log.show(deliveries)

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
        jobs: list[dict[str, Any]] | None
        try:
            jobs = await self.backend.delivery.jobs(self.selected.id)
        except StackError:
            jobs = None
        templates: list[dict[str, Any]] | None
        try:
            templates = await self.backend.phones.templates()
        except StackError:
            templates = None  # a mock without templates, or one that is down
        panel.update(inspector_markup(state, jobs, self.selected.timezone, templates))

    def report_once(self, service: str, exc: StackError) -> None:
        """Tell the user a service is unreachable once, not on every poll."""
        if service not in self._offline:
            self._offline.add(service)
            self.notify(f"{exc}. Retrying…", title="Connection problem", severity="warning")

    async def on_unmount(self) -> None:
        await self.backend.close()
