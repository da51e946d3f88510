"""The sidebar's participant rows: name, sub-state badge, unread count, last activity."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rich.markup import escape
from textual.widgets import Label, ListItem

from promptpipe_simulator.core.clients import Participant
from promptpipe_simulator.core.roster import RosterEntry

BADGES = {"INTAKE": "[black on yellow] INTAKE [/]", "FEEDBACK": "[black on green] FEEDBACK [/]"}


def last_activity(timestamp: str | None, timezone: str) -> str:
    """When the chat last moved, in the participant's time: "Tue 09:03"."""
    if not timestamp:
        return ""
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
        zone = ZoneInfo(timezone) if timezone else ZoneInfo("UTC")
    except (ValueError, ZoneInfoNotFoundError):
        return ""
    return moment.astimezone(zone).strftime("%a %H:%M")


def row_markup(entry: RosterEntry) -> str:
    p = entry.participant
    name = f"[b]{escape(p.name or p.phone_number)}[/]"
    unread = f" [b black on green] {entry.unread} [/]" if entry.unread else ""
    status = "" if p.status == "active" else f" [dim]({p.status})[/]"
    badge = BADGES.get(entry.sub_state or "", "[dim]new[/]")
    when = last_activity(entry.last_message_at, p.timezone)
    return f"{name}{unread}{status}\n{badge} [dim]{when or '+' + p.phone_number}[/]"


class ParticipantItem(ListItem):
    """One participant in the sidebar; `show` redraws it in place."""

    def __init__(self, entry: RosterEntry) -> None:
        super().__init__(Label(row_markup(entry), classes="participant"))
        self.entry = entry

    @property
    def participant(self) -> Participant:
        return self.entry.participant

    def show(self, entry: RosterEntry) -> None:
        if row_markup(entry) != row_markup(self.entry):
            self.query_one(Label).update(row_markup(entry))
        self.entry = entry
