"""The main screen: participants on the left, the open chat in the middle, the inspector
on the right, the event log below.

It holds the key rule for people who type: a printable key never acts. Whatever has the
focus (a reply button, the participant list, the log), the key is typed into the
composer, which takes the focus, so "a" in an answer is a letter, not an action."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Static

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.tui.stack_time import StackClock
from promptpipe_simulator.tui.widgets.conversation import ChatPane, Composer
from promptpipe_simulator.tui.widgets.events import EventLog
from promptpipe_simulator.tui.widgets.inspector import Inspector
from promptpipe_simulator.tui.widgets.roster import ParticipantList


class EnrollButton(Button):
    """For the mouse only: out of the Tab order, so Enter never enrolls by accident."""

    can_focus = False


class MainScreen(Screen[None]):
    def __init__(self, backend: Backend, clock: StackClock) -> None:
        super().__init__()
        self.backend = backend
        self.clock = clock

    def compose(self) -> ComposeResult:
        # "≡" rather than Textual's default icon, which browsers' fonts often lack.
        yield Header(icon="≡")
        with Horizontal(id="body"):
            with Vertical(id="sidebar"):
                yield ParticipantList(id="participants")
                yield EnrollButton("Enroll (ctrl+n)", id="enroll", variant="primary")
            yield ChatPane(self.backend, self.clock, id="conversation")
            yield Inspector(id="inspector", classes="hidden")
        yield EventLog(self.clock, id="events", classes="hidden")
        yield Static("connecting…", id="status")
        yield Footer()

    def on_key(self, event: events.Key) -> None:
        """A printable key that no input took: type it into the composer."""
        if not event.is_printable or not event.character or isinstance(self.focused, Input):
            return
        event.stop()
        event.prevent_default()
        composer = self.query_one(Composer)
        if composer.disabled:
            return  # nobody to type as yet; the composer's placeholder says what to do
        composer.focus()
        composer.insert_text_at_cursor(event.character)

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "enroll":
            await self.app.run_action("enroll")
