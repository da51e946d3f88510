"""Talking as the participant: sending what is typed, tapping reply buttons (with the
mouse, Tab and Enter, or alt+1…3 for the latest message), and keeping the chat current.

After a tap the focus goes back to the composer, so the next thing typed is a message,
never a key that acts."""

from __future__ import annotations

import contextlib

from textual import on, work
from textual.css.query import NoMatches
from textual.widgets import Input

from promptpipe_simulator.core.clients import StackError
from promptpipe_simulator.tui.base import SimulatorBase
from promptpipe_simulator.tui.widgets.chat import BubbleRow, ReplyButton


class Chatting(SimulatorBase):
    @on(Input.Submitted, "#composer")
    def send(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if not text or self.selected is None:
            return
        event.input.value = ""
        self.send_text(self.selected.phone_number, text)

    @work(group="send")
    async def send_text(self, phone: str, text: str) -> None:
        try:
            await self.backend.send_text(phone, text)
        except StackError as exc:
            self.notify(str(exc), title="Message not sent", severity="error")
            return
        self.pane.chat.follow()  # what one sends is what one wants to see
        await self.load_chat()

    @on(ReplyButton.Tapped)
    def button_tapped(self, event: ReplyButton.Tapped) -> None:
        row = next((r for r in event.choice.ancestors if isinstance(r, BubbleRow)), None)
        if row is not None:
            self.tap_choice(row, event.button, event.row)

    def action_tap(self, number: int) -> None:
        """Tap the `number`th button (or list row) of the latest message that has some."""
        row = self.pane.chat.latest_with_choices() if self.selected else None
        if row is None:
            self.notify("No message with buttons in this chat", severity="warning")
            return
        if number > len(row.choices):
            self.notify(f"The latest message has {len(row.choices)} choices", severity="warning")
            return
        choice = row.choices[number - 1]
        self.tap_choice(row, choice.button, choice.row)

    def tap_choice(self, row: BubbleRow, button: dict[str, str], is_row: bool) -> None:
        """Tap once: an answered message's buttons take no second tap."""
        self.pane.composer.focus()
        if row.answer is not None:
            self.notify(f"Already answered: {row.answer}", severity="warning")
            return
        if self.selected is None:
            return
        self.pane.chat.answer(row, button["title"])  # answered now, not at the next reload
        self.tap(self.selected.phone_number, button, row, is_row)

    @work(group="send")
    async def tap(
        self, phone: str, button: dict[str, str], row: BubbleRow, is_row: bool = False
    ) -> None:
        choice = {"id": button["id"], "title": button["title"]}
        try:
            if is_row:
                await self.backend.tap_row(phone, choice, row.message.id)
            else:
                await self.backend.tap_button(phone, choice, row.message.id)
        except StackError as exc:
            self.pane.chat.answer(row, None)
            self.notify(str(exc), title="Tap not sent", severity="error")
            return
        self.pane.chat.follow()
        await self.load_chat()

    def action_chat_bottom(self) -> None:
        self.pane.chat.follow()

    @work(group="chat")
    async def reload_chat(self) -> None:
        with contextlib.suppress(NoMatches):  # the app is closing
            await self.load_chat()

    async def load_chat(self) -> None:
        try:
            await self.pane.load()
        except StackError as exc:
            self.report_once("mock_whatsapp", exc)
            return
        self._offline.discard("mock_whatsapp")
