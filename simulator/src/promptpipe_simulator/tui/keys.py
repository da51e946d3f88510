"""Every key of the simulator, in one table: the app's bindings, its command palette and
its help screen are all made from it, so none of them can drift from the others.

The rule for people who type: printable keys always type (into the composer); anything
that changes the stack sits on a function key, a ctrl/alt chord or the palette, never on
a bare letter. A binding's `id` is "<task>.<name>": the help groups by the task (and the
ids let a keymap move a key), its `description` is the short label of the footer and the
palette's title, its `tooltip` the sentence of the help and the palette.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from textual import _ansi_sequences
from textual.binding import Binding

# The tasks, in the order the help shows them.
TASKS = {
    "chat": "Chat",
    "participants": "Participants",
    "time": "Time travel",
    "faults": "Faults",
    "panels": "Panels and the event log",
    "scenarios": "Scenarios",
    "worlds": "Worlds",
    "migration": "Migration between agents",
    "app": "App",
}


def key(
    keys: str, action: str, ident: str, label: str, sentence: str, footer: bool = False
) -> Binding:
    # Priority: the app sees its chords before a focused widget does, so that alt+1 taps
    # a button rather than typing "1" into the composer. SimulatorApp.check_action turns
    # them off while a dialog is open.
    return Binding(keys, action, label, show=footer, priority=True, tooltip=sentence, id=ident)


BINDINGS: list[Binding] = [
    key("f1", "help", "app.help", "Help", "This help: every key, by task", footer=True),
    key("ctrl+p", "command_palette", "app.palette", "Palette", "Every action, by name"),
    key("ctrl+q", "quit", "app.quit", "Quit", "Quit the simulator (the stack keeps running)"),
    key(
        "alt+1",
        "tap(1)",
        "chat.tap-1",
        "Tap 1st button",
        "Tap the 1st button (or list row) of the latest message",
    ),
    key(
        "alt+2",
        "tap(2)",
        "chat.tap-2",
        "Tap 2nd button",
        "Tap the 2nd button (or list row) of the latest message",
    ),
    key(
        "alt+3",
        "tap(3)",
        "chat.tap-3",
        "Tap 3rd button",
        "Tap the 3rd button (or list row) of the latest message",
    ),
    key(
        "ctrl+end,alt+end",
        "chat_bottom",
        "chat.bottom",
        "Newest message",
        "Back to the newest message (the chat follows new ones again)",
    ),
    key(
        "ctrl+n,alt+n",
        "enroll",
        "participants.enroll",
        "Enroll",
        "Enroll a generated persona (name, phone, timezone, background) and open their chat",
        footer=True,
    ),
    key(
        "f2",
        "toggle_inspector",
        "panels.inspector",
        "Inspector",
        "The agent's view: sub-state, profile, pending jobs, the last turn and its time",
        footer=True,
    ),
    key(
        "f5",
        "toggle_events",
        "panels.events",
        "Events",
        "The event log: webhooks, agent calls, sends, statuses, faults, with retries",
        footer=True,
    ),
    key(
        "ctrl+f",
        "filter_events",
        "panels.filter",
        "Event log: only this participant",
        "The event log: only the open participant's events, or everyone's again",
    ),
    key("f4", "enroll_batch", "participants.enroll-five", "Enroll five", "Enroll five personas"),
    key(
        "alt+up,ctrl+up",
        "switch(-1)",
        "participants.previous",
        "Previous participant",
        "Open the chat of the participant above",
    ),
    key(
        "alt+down,ctrl+down",
        "switch(1)",
        "participants.next",
        "Next participant",
        "Open the chat of the participant below",
    ),
    key(
        "f3",
        "toggle_pause",
        "participants.pause",
        "Pause/resume",
        "Pause the participant (delivery acknowledges them and skips their prompts), "
        "or resume them",
    ),
    key(
        "f10",
        "delete",
        "participants.delete",
        "Delete",
        "Delete the participant: schedules canceled, nothing more sent (asks first)",
    ),
    key("f6", "advance('10m')", "time.10m", "+10m", "Move the stack's clock 10 minutes on"),
    key("f7", "advance('1h')", "time.1h", "+1h", "Move the stack's clock 1 hour on"),
    key("f8", "advance('5h')", "time.5h", "+5h", "Move the stack's clock 5 hours on"),
    key(
        "f9",
        "advance('24h')",
        "time.1d",
        "+1d",
        "Move the stack's clock a day on: due prompts and reminders fire",
        footer=True,
    ),
    key(
        "ctrl+o",
        "travel_to_morning",
        "time.morning",
        "Next morning",
        "Travel to the next 08:00 on the participant's clock",
    ),
    key(
        "ctrl+t,alt+t",
        "travel_to",
        "time.to",
        "Time travel to…",
        "Travel to a duration (3h), a time on the participant's clock (next 08:00) or a date-time",
    ),
    key(
        "alt+a",
        "agent_fault",
        "faults.agent",
        "Agent fault",
        "Delivery's calls to the agent: OK → slow (5 s each) → down (retries, then "
        "delivery's fallback) → OK",
    ),
    key(
        "alt+w",
        "whatsapp_fault('errors')",
        "faults.whatsapp",
        "WhatsApp errors",
        "WhatsApp refuses half the sends (error 131000)",
    ),
    key(
        "alt+h",
        "whatsapp_fault('webhooks')",
        "faults.webhooks",
        "Lost webhooks",
        "Half the webhooks to delivery are lost (WhatsApp retries them)",
    ),
    key("alt+c", "clear_faults", "faults.clear", "Clear faults", "Agent OK, no WhatsApp faults"),
    key(
        "ctrl+r",
        "run_scenario",
        "scenarios.run",
        "Run scenario",
        "Run a scenario file, its steps shown live in the event log",
    ),
    key(
        "ctrl+s",
        "save_scenario",
        "scenarios.save",
        "Save as scenario",
        "Save the open conversation, with clock jumps, pauses and faults, under scenarios/",
    ),
]


@dataclass(frozen=True)
class Command:
    """An action reached only from the palette (ctrl+p), by name: rare, and heavy enough
    (it replaces the whole stack's state) to want no key of its own."""

    action: str
    id: str
    description: str
    tooltip: str
    key: str = "ctrl+p"  # how the help names the way to it


# Palette-only commands, shown by the palette and the help like the keys above.
COMMANDS: list[Command] = [
    Command(
        "world_save",
        "worlds.save",
        "World: save",
        "Save the whole stack's state (every service) under a name, in worlds/",
    ),
    Command(
        "world_load",
        "worlds.load",
        "World: load",
        "Replace the whole stack's state with a saved world (generated from worlds/NAME.yaml "
        "the first time)",
    ),
    Command(
        "world_list", "worlds.list", "World: list", "The saved worlds, with their time and size"
    ),
    Command(
        "world_delete", "worlds.delete", "World: delete", "Delete a saved world's file (asks first)"
    ),
]

# The migration's controls (docs/migration.md): on the main screen, and the same bindings
# on the migration screen (screens/migration.py), whose actions call the same methods.
MIGRATION_CONTROLS: list[Binding] = [
    key(
        "alt+s",
        "toggle_shadow",
        "migration.shadow",
        "Shadow on/off",
        "Shadow mode: the candidate also answers each of the primary's turns, saving "
        "nothing, and the two answers are compared",
    ),
    key(
        "alt+r",
        "start_rollout",
        "migration.rollout",
        "Start rollout",
        "Start a rollout: the candidate takes 25 % more participants each hour of the "
        "stack's clock (F7), and everyone goes back to the primary if it breaks",
    ),
    key(
        "alt+p",
        "promote",
        "migration.promote",
        "Promote",
        "Promote the candidate: it serves every participant",
    ),
    key(
        "alt+b",
        "rollback",
        "migration.rollback",
        "Roll back",
        "Roll back: every participant back on the primary",
    ),
    key(
        "alt+k",
        "candidate_fault",
        "migration.fault",
        "Break candidate",
        "Break the candidate agent (its calls fail, so a rollout rolls back), or mend it",
    ),
]

BINDINGS += [
    key(
        "f11",
        "migration",
        "migration.screen",
        "Migration",
        "The migration screen: rollout, each arm's figures, shadow agreement, the latest "
        "differences side by side",
    ),
    key(
        "f12",
        "dashboard",
        "migration.dashboard",
        "Dashboard",
        "The metrics dashboard: turns, errors and p99 per arm, rollout, agreement, "
        "sub-states, as live charts",
    ),
    *MIGRATION_CONTROLS,
]

# The clock jumps, which the migration screen offers too (a rollout steps on the clock).
TIME_JUMPS = [b for b in BINDINGS if (b.id or "").startswith("time.") and "advance" in b.action]

KEY_NAMES = {
    "up": "↑",
    "down": "↓",
    "end": "End",
    "enter": "Enter",
    "escape": "Esc",
    "tab": "Tab",
}


def key_names(binding: Binding | Command) -> str:
    """How the help writes a binding's keys: "F4", "ctrl+n / alt+n", "alt+↑"."""
    shown = []
    for one in binding.key.split(","):
        *modifiers, name = one.strip().split("+")
        if name.startswith("f") and name[1:].isdigit():
            name = name.upper()
        name = KEY_NAMES.get(name, name)
        shown.append("+".join([*modifiers, name]))
    return " / ".join(shown)


def documented(bindings: Iterable[object]) -> list[Binding]:
    """The bindings of a BINDINGS list that the help shows: those with an id."""
    return [b for b in bindings if isinstance(b, Binding) and b.id and b.tooltip]


def by_task(bindings: Iterable[Binding | Command]) -> dict[str, list[Binding | Command]]:
    """Bindings grouped under their task's title, tasks in the help's order."""
    grouped: dict[str, list[Binding | Command]] = {title: [] for title in TASKS.values()}
    for binding in bindings:
        task = (binding.id or "app.").split(".", 1)[0]
        grouped[TASKS.get(task, "App")].append(binding)
    return {title: found for title, found in grouped.items() if found}


def read_alt_digits_as_chords() -> None:
    """Make alt+1…3 reach the app as alt+1…3 from every terminal.

    Most terminals (xterm, tmux, the browser's xterm.js behind `simulator serve`) send
    alt+1 as ESC 1. Textual reads ESC 1 as "¡" (and ESC 2, ESC 3 as "™", "£"), the
    characters WezTerm on macOS means by it; that would type "¡" where the person asked
    to tap a button. Without those three entries of Textual's table, ESC 1 is alt+1. A
    test (test_app.py) parses ESC 1, so a Textual that changes this is noticed."""
    table = _ansi_sequences.ANSI_SEQUENCES_KEYS
    assert isinstance(table, dict)  # typed as a Mapping, built as a dict
    for digit in "123":
        table.pop(f"\x1b{digit}", None)
