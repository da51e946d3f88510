"""The chat pane: WhatsApp-like bubbles with times and ticks, reply buttons that show what
was answered, and a view that follows new messages unless the person scrolled up.

The view is kept in step with the phone's chat by `ChatView.show`, which is idempotent:
it is handed the whole chat each time and changes only what differs, keyed by message id
in its own table (never by the widgets it happens to hold at that moment, which lag
behind while Textual mounts and removes them). Calls are serialized by the caller
(ChatPane) and each awaits its mounts, so two loads in flight cannot interleave.
"""

from __future__ import annotations

from rich.markup import escape
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Button, Static

from promptpipe_simulator.core.clients import ChatMessage
from promptpipe_simulator.tui.stack_time import StackClock

# Only glyphs that common monospace fonts have (DejaVu Sans Mono, Menlo, Consolas), so
# that a browser (simulator serve) shows them too.
TICKS = {
    "accepted": "[dim]…[/]",
    "sent": "[dim]✓[/]",
    "delivered": "[dim]✓✓[/]",
    "read": "[b #34b7f1]✓✓[/]",
    "failed": "[b red]✗ failed[/]",
}


def bubble_markup(message: ChatMessage, clock: StackClock) -> str:
    meta = clock.time_of_day(message.timestamp)
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


def answers_by_message(messages: list[ChatMessage]) -> dict[str, str]:
    """Which choice (its title) the participant tapped for each message with buttons or
    rows: their interactive replies name the message they answer."""
    answers = {}
    for message in messages:
        tap = message.direction == "inbound" and message.type == "interactive"
        if tap and message.context_id and message.context_id not in answers:
            answers[message.context_id] = message.text
    return answers


class Bubble(Static):
    """One message; the participant's own on the right, the coach's on the left."""

    def __init__(self, message: ChatMessage, clock: StackClock) -> None:
        side = "mine" if message.direction == "inbound" else "theirs"
        super().__init__(bubble_markup(message, clock), classes=f"bubble {side}")
        self.message = message
        self.clock = clock
        self.shown = bubble_markup(message, clock)

    def show(self, message: ChatMessage) -> None:
        self.message = message
        markup = bubble_markup(message, self.clock)
        if markup != self.shown:
            self.shown = markup
            self.update(markup)


class ReplyButton(Button):
    """A reply button (or a list message's row) under a coach's message; pressing it, by
    mouse, Tab and Enter, or alt+1…3, taps it on the phone. Once the message is answered
    its buttons turn inert and the chosen one is marked."""

    BINDINGS = [
        Binding(
            "enter",
            "press",
            "Tap",
            show=False,
            tooltip="On a reply button: tap it",
            id="chat.tap-focused",
        )
    ]

    def __init__(self, message: ChatMessage, button: dict[str, str], row: bool = False) -> None:
        super().__init__(self.label_for(button, row), classes="reply-button", compact=True)
        self.message = message
        self.button = button
        self.row = row

    @staticmethod
    def label_for(button: dict[str, str], row: bool, chosen: bool = False) -> str:
        title = escape(button["title"])
        if chosen:
            return f"✓ {title}"
        return f"≡ {title}" if row else title

    class Tapped(Message):
        """The user tapped `choice` (a ReplyButton) under its message."""

        def __init__(self, choice: ReplyButton) -> None:
            super().__init__()
            self.choice = choice
            self.message = choice.message
            self.button = choice.button
            self.row = choice.row

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Tapped(self))

    def mark(self, answer: str | None) -> None:
        """Answered (with this button or another): inert, the chosen one marked."""
        chosen = answer is not None and answer == self.button["title"]
        self.disabled = answer is not None
        self.set_class(chosen, "chosen")
        self.label = self.label_for(self.button, self.row, chosen)


class BubbleRow(Horizontal):
    """A full-width row that pushes its bubble to the participant's or the coach's side;
    a message with reply buttons gets them underneath, as on a phone."""

    def __init__(self, message: ChatMessage, clock: StackClock) -> None:
        self.bubble = Bubble(message, clock)
        side = "mine" if message.direction == "inbound" else "theirs"
        self.choices = [ReplyButton(message, b) for b in message.buttons]
        if message.rows:  # a list message: its rows, one under the other
            self.choices = [ReplyButton(message, r, row=True) for r in message.rows]
        bar = Vertical if message.rows else Horizontal
        column = (
            Vertical(self.bubble, bar(*self.choices, classes="button-bar"), classes="bubble-column")
            if self.choices
            else self.bubble
        )
        super().__init__(column, classes=f"row {side}")
        self.answer: str | None = None

    @property
    def message(self) -> ChatMessage:
        return self.bubble.message

    def show(self, message: ChatMessage, answer: str | None) -> None:
        self.bubble.show(message)
        if answer != self.answer:
            self.answer = answer
            for choice in self.choices:
                choice.mark(answer)


class ChatView(VerticalScroll):
    """The conversation of the open participant. It follows the newest message (Textual's
    anchor, which holds through resizes) until the person scrolls up; then it counts the
    messages that arrive below (`unseen`) until they scroll back down."""

    class Unseen(Message):
        """How many messages arrived below the part of the chat the person is reading."""

        def __init__(self, count: int) -> None:
            super().__init__()
            self.count = count

    def __init__(self, clock: StackClock, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.clock = clock
        self.rows: dict[str, BubbleRow] = {}  # by message id, in the chat's order
        # Taps sent but not yet in the chat: their messages count as answered already,
        # so a second tap in the meantime is refused.
        self.tapped: dict[str, str] = {}
        self.following = True
        self.unseen = 0

    def on_mount(self) -> None:
        self.anchor()

    async def show(self, messages: list[ChatMessage]) -> None:
        """Make the view show `messages` (the whole chat, oldest first)."""
        answers = {**self.tapped, **answers_by_message(messages)}
        wanted = [m.id for m in messages]
        if list(self.rows) != wanted[: len(self.rows)]:
            await self.clear()  # not a continuation of what is shown: start over
        new = []
        for message in messages:
            row = self.rows.get(message.id)
            if row is None:
                row = BubbleRow(message, self.clock)
                self.rows[message.id] = row
                new.append(row)
            else:
                row.show(message, answers.get(message.id))
        if new:
            await self.mount_all(new)
            for row in new:
                row.show(row.message, answers.get(row.message.id))
            if not self.following:
                self.unseen += len(new)
                self.post_message(self.Unseen(self.unseen))

    def answer(self, row: BubbleRow, title: str | None) -> None:
        """Mark `row` answered with `title` before the chat says so (None: undo)."""
        if title is None:
            self.tapped.pop(row.message.id, None)
        else:
            self.tapped[row.message.id] = title
        row.show(row.message, title)

    async def clear(self) -> None:
        self.rows = {}
        self.tapped = {}
        await self.remove_children()
        self.follow()

    def latest_with_choices(self) -> BubbleRow | None:
        """The newest message of the coach's that offers buttons or rows."""
        for row in reversed(self.rows.values()):
            if row.choices:
                return row
        return None

    def follow(self) -> None:
        """Back to the newest message, following new ones again."""
        self.following = True
        self.anchor()
        if self.unseen:
            self.unseen = 0
            self.post_message(self.Unseen(0))

    def release_anchor(self) -> None:
        # Textual calls this when the person scrolls: stop following.
        super().release_anchor()
        self.following = False

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if not self.following and new_value >= self.max_scroll_y:
            self.follow()  # scrolled back to the bottom by hand
