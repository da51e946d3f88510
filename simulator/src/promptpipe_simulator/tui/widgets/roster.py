"""The sidebar: each participant with their sub-state, unread count and last activity."""

from __future__ import annotations

from rich.markup import escape
from textual.binding import Binding
from textual.widgets import Label, ListItem, ListView

from promptpipe_simulator.core.clients import Participant
from promptpipe_simulator.core.roster import RosterEntry
from promptpipe_simulator.tui.stack_time import StackClock

BADGES = {"INTAKE": "[black on yellow] INTAKE [/]", "FEEDBACK": "[black on green] FEEDBACK [/]"}
# In a migration, the agent serving them (shown only when there is a candidate).
ARMS = {"primary": " [dim]primary[/]", "candidate": " [black on magenta] candidate [/]"}


def row_markup(entry: RosterEntry, clock: StackClock) -> str:
    p = entry.participant
    name = f"[b]{escape(p.name or p.phone_number)}[/]"
    unread = f" [b black on green] {entry.unread} [/]" if entry.unread else ""
    status = "" if p.status == "active" else f" [dim]({p.status})[/]"
    badge = BADGES.get(entry.sub_state or "", "[dim]new[/]")
    when = clock.day_and_time(entry.last_message_at)
    arm = ARMS.get(entry.arm or "", "")
    return f"{name}{unread}{status}\n{badge}{arm} [dim]{when or '+' + p.phone_number}[/]"


class ParticipantItem(ListItem):
    """One participant in the sidebar; `show` redraws it in place."""

    def __init__(self, entry: RosterEntry, clock: StackClock) -> None:
        self.clock = clock
        self.markup = row_markup(entry, clock)
        super().__init__(Label(self.markup, classes="participant"))
        self.entry = entry

    @property
    def participant(self) -> Participant:
        return self.entry.participant

    def show(self, entry: RosterEntry) -> None:
        self.entry = entry
        markup = row_markup(entry, self.clock)
        if markup != self.markup:
            self.markup = markup
            self.query_one(Label).update(markup)


class ParticipantList(ListView):
    """The participants; ↑/↓ and Enter here, alt+↑/↓ from anywhere."""

    BINDINGS = [
        Binding(
            "enter",
            "select_cursor",
            "Open",
            show=False,
            tooltip="On a participant in the sidebar: open their chat",
            id="participants.open",
        )
    ]
