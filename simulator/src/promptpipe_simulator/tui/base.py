"""What every part of the simulator app shares: the stack, its clock, the people in the
sidebar and the open chat. The parts (participants.py, chatting.py, time_travel.py,
faults.py, scenarios.py, following.py) each add one kind of behaviour on top of it, and
app.py puts them together."""

from __future__ import annotations

from textual.app import App

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.clients import Participant, StackError
from promptpipe_simulator.core.personas import PersonaFactory
from promptpipe_simulator.tui.stack_time import StackClock
from promptpipe_simulator.tui.widgets.conversation import ChatPane
from promptpipe_simulator.tui.widgets.events import EventLog
from promptpipe_simulator.tui.widgets.inspector import Inspector, TurnTimes


class SimulatorBase(App[None]):
    """The state the parts share; no behaviour of its own but naming things."""

    def __init__(
        self,
        backend: Backend,
        poll_seconds: float = 0.5,
        personas: PersonaFactory | None = None,
    ) -> None:
        super().__init__()
        self.backend = backend
        self.poll_seconds = poll_seconds
        self.personas = personas or PersonaFactory()
        self.clock = StackClock()  # the one clock every part shows
        self.participants: list[Participant] = []
        self.turn_times = TurnTimes()
        self.agent_fault = "ok"
        self._offline: set[str] = set()

    @property
    def pane(self) -> ChatPane:
        return self.query_one(ChatPane)

    @property
    def event_log(self) -> EventLog:
        return self.query_one(EventLog)

    @property
    def inspector(self) -> Inspector:
        return self.query_one(Inspector)

    @property
    def selected(self) -> Participant | None:
        """The participant whose chat is open."""
        return self.pane.participant

    def need_participant(self) -> Participant | None:
        """The open participant, or None after saying one is needed."""
        if self.selected is None:
            self.notify("Open a participant first (ctrl+n enrolls one)", severity="warning")
        return self.selected

    # The parts that others call; each is defined by the part named, which comes before
    # this class in SimulatorApp's bases.
    def refresh_all(self) -> object:
        """Reload everything on screen now (following.py)."""
        raise NotImplementedError

    async def open_participant(self, participant: Participant | None) -> None:
        """Open a participant's chat (participants.py)."""
        raise NotImplementedError

    def select(self, participant: Participant) -> object:
        """Open a participant's chat from anywhere (participants.py)."""
        raise NotImplementedError

    async def load_participants(self) -> None:
        """Reload the sidebar (participants.py)."""
        raise NotImplementedError

    async def load_chat(self) -> None:
        """Reload the open chat (chatting.py)."""
        raise NotImplementedError

    def reload_chat(self) -> object:
        """Reload the open chat, as a worker (chatting.py)."""
        raise NotImplementedError

    def report_once(self, service: str, exc: StackError) -> None:
        """Tell the user a service is unreachable once, not on every poll."""
        if service not in self._offline:
            self._offline.add(service)
            self.notify(f"{exc}. Retrying…", title="Connection problem", severity="warning")
