"""The simulator app: participants on the left, their WhatsApp chat in the middle.

SimulatorApp only puts the parts together; each part is one kind of behaviour:
participants.py (enroll, open, switch, pause, delete), chatting.py (send, tap),
time_travel.py, faults.py, scenarios.py, worlds.py, following.py (live events and polling). Its
keys come from keys.py, which also makes the palette and the help.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual import on
from textual.app import SystemCommand
from textual.content import Content
from textual.screen import Screen
from textual.widgets import OptionList

from promptpipe_simulator.tui import keys
from promptpipe_simulator.tui.chatting import Chatting
from promptpipe_simulator.tui.faults import FaultSwitches
from promptpipe_simulator.tui.following import Following
from promptpipe_simulator.tui.migration import MigrationActions
from promptpipe_simulator.tui.participants import ParticipantActions
from promptpipe_simulator.tui.scenarios import ScenarioActions
from promptpipe_simulator.tui.screens.help import HelpScreen
from promptpipe_simulator.tui.screens.main import MainScreen
from promptpipe_simulator.tui.time_travel import TimeTravel
from promptpipe_simulator.tui.widgets.events import EventDetailsScreen
from promptpipe_simulator.tui.worlds import WorldActions

keys.read_alt_digits_as_chords()

# The app's own actions (from its key table), and those of them that still work while
# a dialog, the help or an event's details is open.
OWN_ACTIONS = {binding.action.split("(")[0] for binding in keys.BINDINGS}
ANYWHERE = {"quit", "command_palette"}


class SimulatorApp(
    ParticipantActions,
    Chatting,
    TimeTravel,
    FaultSwitches,
    ScenarioActions,
    WorldActions,
    Following,
    MigrationActions,
):
    """Chat as simulated participants with the PromptPipe stack."""

    TITLE = "PromptPipe"
    CSS_PATH = "app.tcss"
    # Narrow and short terminals (80x24) get slimmer side panels and a shorter log.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    BINDINGS = keys.BINDINGS  # type: ignore[assignment]

    def format_title(self, title: str, sub_title: str) -> Content:
        """The header: the stack's clock, with the app's name where there is room."""
        if sub_title and self.size.width < 100:
            return Content(sub_title)
        return super().format_title(title, sub_title)

    def get_default_screen(self) -> Screen[Any]:
        return MainScreen(self.backend, self.clock)

    def on_mount(self) -> None:
        # Clock jumps, pauses and faults are noted, so ctrl+s can save them in a scenario.
        self.backend.start_recording()
        self.start_following()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The app's keys act on the main screen only; a dialog has its own."""
        if action not in OWN_ACTIONS or action in ANYWHERE:
            return True  # Textual's own (focus_next for Tab, say), or quit and the palette
        return isinstance(self.screen, MainScreen)

    # --- panels ----------------------------------------------------------------------

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_toggle_inspector(self) -> None:
        self._toggle_panel("#inspector")

    def action_toggle_events(self) -> None:
        self._toggle_panel("#events")

    def _toggle_panel(self, selector: str) -> None:
        # The chat keeps following its newest message (Textual's anchor) while a panel
        # takes room from it.
        panel = self.query_one(selector)
        panel.toggle_class("hidden")
        if panel is self.event_log and not panel.has_class("hidden"):
            # It filled up while hidden, where it could not scroll: show the newest.
            self.call_after_refresh(self.event_log.scroll_end, animate=False)
        self.refresh_all()

    def action_filter_events(self) -> None:
        """Narrow the event log to the open participant's events, or widen it again."""
        log = self.event_log
        if log.only is not None:
            log.narrow_to(None)
        else:
            participant = self.need_participant()
            if participant is None:
                return
            log.narrow_to((participant.phone_number, participant.id), participant.name)
        log.remove_class("hidden")

    @on(OptionList.OptionSelected, "#events")
    def event_chosen(self, event: OptionList.OptionSelected) -> None:
        """Enter or a click on a line of the log: the event in full."""
        entry = self.event_log.entries.get(event.option.id or "")
        if entry is not None:
            self.push_screen(EventDetailsScreen(entry, self.clock))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every action of the simulator in the command palette (ctrl+p), from the same
        table as the keys."""
        yield from super().get_system_commands(screen)
        for binding in keys.BINDINGS:
            if binding.action in ANYWHERE:
                continue
            yield SystemCommand(
                binding.description,
                f"{binding.tooltip} ({keys.key_names(binding)})",
                lambda action=binding.action: self.run_action(action),
            )
        for command in keys.COMMANDS:
            yield SystemCommand(
                command.description,
                command.tooltip,
                lambda action=command.action: self.run_action(action),
            )

    async def on_unmount(self) -> None:
        await self.backend.close()
