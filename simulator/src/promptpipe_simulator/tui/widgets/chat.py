"""The chat pane: WhatsApp-like bubbles with times and ticks."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.markup import escape
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Static

from promptpipe_simulator.core.clients import ChatMessage

TICKS = {
    "accepted": "[dim]🕓[/]",
    "sent": "[dim]✓[/]",
    "delivered": "[dim]✓✓[/]",
    "read": "[b #34b7f1]✓✓[/]",
    "failed": "[b red]✗ failed[/]",
}


def local_time(timestamp: str, timezone: str) -> str:
    """HH:MM in the participant's timezone (UTC when it is unknown)."""
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return ""
    try:
        zone = ZoneInfo(timezone) if timezone else ZoneInfo("UTC")
    except ZoneInfoNotFoundError:
        zone = ZoneInfo("UTC")
    return moment.astimezone(zone).strftime("%H:%M")


def bubble_markup(message: ChatMessage, timezone: str) -> str:
    meta = local_time(message.timestamp, timezone)
    if message.direction == "outbound":
        meta = f"{meta} {TICKS.get(message.status or '', '')}".strip()
    elif message.read_by_business is not None:
        # The participant's own message, as their phone shows it: grey ✓✓ once WhatsApp
        # has it, blue once the business marked it read.
        meta = f"{meta} {TICKS['read' if message.read_by_business else 'delivered']}"
    body = escape(message.text)
    if message.template:
        body = f"[dim]template {escape(message.template.get('name', ''))}[/]\n{body}"
    return f"{body}\n[dim]{meta}[/]"


class Bubble(Static):
    """One message; the participant's own on the right, the coach's on the left."""

    def __init__(self, message: ChatMessage, timezone: str) -> None:
        side = "mine" if message.direction == "inbound" else "theirs"
        super().__init__(bubble_markup(message, timezone), classes=f"bubble {side}")
        self.message = message
        self.timezone = timezone

    def update_message(self, message: ChatMessage) -> None:
        if message != self.message:
            self.message = message
            self.update(bubble_markup(message, self.timezone))


class ReplyButton(Button):
    """A reply button (or a list message's row) under a coach's message; pressing it, by
    mouse or with Tab and Enter, taps it on the phone."""

    def __init__(self, message: ChatMessage, button: dict[str, str], row: bool = False) -> None:
        label = f"☰ {button['title']}" if row else button["title"]
        super().__init__(label, classes="reply-button", compact=True)
        self.message = message
        self.button = button
        self.row = row

    class Tapped(Message):
        """The user tapped `button` of `message`."""

        def __init__(self, message: ChatMessage, button: dict[str, str], row: bool) -> None:
            super().__init__()
            self.message = message
            self.button = button
            self.row = row

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Tapped(self.message, self.button, self.row))


class BubbleRow(Horizontal):
    """A full-width row that pushes its bubble to the participant's or the coach's side;
    a message with reply buttons gets them underneath, as on a phone."""

    def __init__(self, bubble: Bubble) -> None:
        message = bubble.message
        side = "mine" if message.direction == "inbound" else "theirs"
        choices = [ReplyButton(message, b) for b in message.buttons]
        if message.rows:  # a list message: its rows, one under the other
            choices = [ReplyButton(message, r, row=True) for r in message.rows]
        bar = Vertical if message.rows else Horizontal
        column = (
            Vertical(bubble, bar(*choices, classes="button-bar"), classes="bubble-column")
            if choices
            else bubble
        )
        super().__init__(column, classes=f"row {side}")
        self.bubble = bubble


class ChatView(VerticalScroll):
    """The conversation of the selected participant, kept in step with the phone's chat."""

    def show(self, messages: list[ChatMessage], timezone: str) -> None:
        bubbles = [row.bubble for row in self.children if isinstance(row, BubbleRow)]
        known = {b.message.id: b for b in bubbles}
        if bubbles and any(m.id not in known for m in messages[: len(bubbles)]):
            self.remove_children()  # a different chat: start over
            known = {}
        at_bottom = self.scroll_offset.y >= self.max_scroll_y - 1
        new = []
        for message in messages:
            if message.id in known:
                known[message.id].update_message(message)
            else:
                new.append(BubbleRow(Bubble(message, timezone)))
        if new:
            self.mount_all(new)
            if at_bottom or len(new) == len(messages):
                self.call_after_refresh(self.scroll_end, animate=False)

    def clear(self) -> None:
        self.remove_children()
