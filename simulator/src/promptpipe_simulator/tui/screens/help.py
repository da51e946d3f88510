"""The help screen, made from the key bindings themselves (tui/keys.py and the widgets'
own), grouped by task, with what the ticks and times mean. It scrolls."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from promptpipe_simulator.tui.keys import BINDINGS, by_task, documented, key_names
from promptpipe_simulator.tui.widgets.chat import TICKS, ReplyButton
from promptpipe_simulator.tui.widgets.conversation import Composer
from promptpipe_simulator.tui.widgets.events import EventDetailsScreen, EventLog
from promptpipe_simulator.tui.widgets.roster import ParticipantList

# Paragraphs as single lines: the screen wraps them to its width.
INTRO = "\n".join(
    [
        "[b]PromptPipe simulator[/]",
        "You play WhatsApp participants; the stack (delivery, agent, fake WhatsApp) answers.",
        "Letters always type: whatever has the focus, they go into the composer. Everything "
        "that changes the stack is on a function key, a ctrl or alt chord, or the palette "
        "(ctrl+p). Tab moves between the composer, the reply buttons, the participants and "
        "the log; the mouse works too. On a Mac, alt is Option (let it act as Meta in the "
        "terminal's settings) and the function keys may need fn.",
    ]
)

LEGEND = "\n".join(
    [
        "[b]Ticks[/]",
        f"{TICKS['accepted']} waiting · {TICKS['sent']} sent · {TICKS['delivered']} delivered"
        f" · {TICKS['read']} read · {TICKS['failed']}",
        "The participant's own messages: grey ✓✓ when WhatsApp has them, blue once the coach "
        "read them. Opening a chat is the participant reading it. Answered buttons turn grey, "
        "the one tapped marked ✓.",
        "",
        "[b]Time[/]",
        "Every time shown is the stack's clock (time travel moves it), in the open "
        "participant's timezone; the header says how far it is ahead of real time. An "
        "event's details also say when it arrived in real time.",
    ]
)


def help_bindings() -> list[Binding]:
    """The app's bindings, then the keys widgets handle themselves, once each."""
    sources: list[list[Binding]] = [
        BINDINGS,
        *(
            [b for b in cls.BINDINGS if isinstance(b, Binding)]
            for cls in (
                Composer,
                ReplyButton,
                ParticipantList,
                EventLog,
                HelpScreen,
                EventDetailsScreen,
            )
        ),
    ]
    seen: set[str] = set()
    found = []
    for bindings in sources:
        for binding in documented(bindings):
            if binding.id not in seen:
                seen.add(str(binding.id))
                found.append(binding)
    return found


def task_table(bindings: list[Binding]) -> Table:
    table = Table(box=None, show_header=False, padding=(0, 2, 0, 0), expand=True)
    table.add_column("keys", no_wrap=True, style="bold")
    table.add_column("what", ratio=1)
    for binding in bindings:
        table.add_row(key_names(binding), binding.tooltip)
    return table


class HelpScreen(ModalScreen[None]):
    """Every key, by task. ↑/↓, PgUp/PgDn, Home/End scroll; Esc or F1 closes."""

    BINDINGS = [
        Binding(
            "escape,f1",
            "dismiss",
            "Close",
            tooltip="Close this help, a dialog or an event's details",
            id="app.close",
        )
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(INTRO, classes="help-text")
            for title, bindings in by_task(help_bindings()).items():
                yield Static(f"[b]{title}[/]", classes="help-task")
                yield Static(task_table(bindings), classes="help-keys")
            yield Static(LEGEND, classes="help-text", id="help-legend")

    def on_mount(self) -> None:
        self.query_one("#help").focus()
