"""A question before doing something that cannot be undone. No letter answers it: the
safe choice has focus, so only Tab (or a click) then Enter does the deed."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label


class ConfirmScreen(ModalScreen[bool]):
    """Dismisses with True when the user picks the deed."""

    BINDINGS = [Binding("escape", "dismiss(False)", "Keep")]

    def __init__(self, question: str, deed: str = "Delete") -> None:
        super().__init__()
        self.question = question
        self.deed = deed

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm"):
            yield Label(self.question)
            with Horizontal():
                yield Button("Keep", id="keep")
                yield Button(self.deed, id="deed", variant="error")
            yield Label("[dim]Tab then Enter to choose, Esc to keep[/]")

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "deed")
