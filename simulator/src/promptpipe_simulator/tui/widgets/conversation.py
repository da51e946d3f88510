"""The middle of the screen: the open participant's chat, "coach is typing…", a note of
messages that arrived below while the person reads further up, and the composer.

Opening a chat is the participant's phone opening it, as on WhatsApp: the coach's
delivered messages turn read (the mock's `POST /_mock/phones/{phone}/read`), so the
sidebar's unread counts, which come from the mock, are the same in every terminal and
browser.
"""

from __future__ import annotations

import asyncio
import itertools

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import Input, Static

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.clients import Participant, StackError
from promptpipe_simulator.core.events import Typing
from promptpipe_simulator.tui.stack_time import StackClock
from promptpipe_simulator.tui.widgets.chat import ChatView

NOBODY = "Enroll a persona (ctrl+n) or pick a participant (alt+↓)"


class Composer(Input):
    """Where the person types as the participant; every printable key lands here."""

    BINDINGS = [
        Binding(
            "enter",
            "submit",
            "Send",
            show=False,
            tooltip="In the composer: send the message as the participant",
            id="chat.send",
        )
    ]


class UnseenNote(Static):
    """ "3 new messages ↓": a click goes down to them."""

    def on_click(self) -> None:
        self.app.query_one(ChatView).follow()


class ChatPane(Vertical):
    """Title, chat, typing line, "n new messages ↓" and the composer of one participant."""

    def __init__(self, backend: Backend, clock: StackClock, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.backend = backend
        self.clock = clock
        self.participant: Participant | None = None
        self.typing = Typing()
        # Loads fetch concurrently but show one at a time, and an answer older than the
        # one shown is dropped (tickets), so the chat never steps back.
        self._showing = asyncio.Lock()
        self._tickets = itertools.count(1)
        self._shown_ticket = 0
        self._reading = False

    def compose(self) -> ComposeResult:
        yield Static(NOBODY, id="chat-title")
        yield ChatView(self.clock, id="chat")
        yield Static("[i]coach is typing…[/]", id="typing", classes="hidden")
        yield UnseenNote("", id="unseen", classes="hidden")
        # Not select_on_focus: a key typed from elsewhere adds to the draft, never
        # replaces it.
        yield Composer(placeholder=NOBODY, id="composer", disabled=True, select_on_focus=False)

    @property
    def phone(self) -> str | None:
        return self.participant.phone_number if self.participant else None

    @property
    def chat(self) -> ChatView:
        return self.query_one(ChatView)

    @property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    async def open(self, participant: Participant | None) -> None:
        """Show `participant`'s chat (or nobody's); the composer is theirs."""
        same = participant is not None and participant.phone_number == self.phone
        self.participant = participant
        title = self.query_one("#chat-title", Static)
        composer = self.composer
        if participant is None:
            title.update(NOBODY)
            composer.placeholder, composer.disabled = NOBODY, True
        else:
            name = escape(participant.name or participant.phone_number)
            title.update(f"[b]{name}[/]  +{participant.phone_number}  {participant.timezone}")
            composer.placeholder = f"Type a message as {participant.name or 'them'}…"
            composer.disabled = False
        if not same:
            async with self._showing:
                self._shown_ticket = next(self._tickets)  # loads still in flight: stale
                await self.chat.clear()
            self.show_typing()

    async def load(self) -> None:
        """Fetch the open chat and show it; the phone reads what it was delivered."""
        phone, ticket = self.phone, next(self._tickets)
        if phone is None:
            return
        messages = await self.backend.chat(phone)
        async with self._showing:
            if phone != self.phone or ticket < self._shown_ticket:
                return  # another chat was opened, or a newer answer shown, meanwhile
            self._shown_ticket = ticket
            await self.chat.show(messages)
        self.show_typing()
        if any(m.direction == "outbound" and m.status == "delivered" for m in messages):
            await self._read(phone)

    async def _read(self, phone: str) -> None:
        if self._reading:
            return
        self._reading = True
        try:
            await self.backend.read_chat(phone)
        except StackError:
            pass  # the next load tries again; the status line says what is down
        finally:
            self._reading = False

    def show_typing(self) -> None:
        """ "typing…" while the business shows it to this phone (the mock's events)."""
        shown = self.phone is not None and self.typing.shows(self.phone)
        self.query_one("#typing", Static).set_class(not shown, "hidden")

    def on_chat_view_unseen(self, message: ChatView.Unseen) -> None:
        note = self.query_one("#unseen", Static)
        plural = "s" if message.count != 1 else ""
        note.update(f"{message.count} new message{plural} ↓  [dim](ctrl+End)[/]")
        note.set_class(message.count == 0, "hidden")
