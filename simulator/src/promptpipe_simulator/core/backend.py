"""One object the TUI (or a script) talks to: the stack as seen by a simulator user.

When recording (the TUI records), the simulator's own actions (clock jumps, pause,
resume, delete, faults) are noted in a `SessionLog` at their place in each watched
participant's chat, so that saving a conversation as a scenario replays them too.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from promptpipe_simulator.core.clients import (
    AgentClient,
    ChatMessage,
    DeliveryClient,
    MockWhatsAppClient,
    Participant,
    StackError,
)
from promptpipe_simulator.core.events import Event, EventFollower
from promptpipe_simulator.core.personas import Persona
from promptpipe_simulator.core.recorder import (
    SessionLog,
    clock_jump_step,
    earliest_job,
    scenario_from_chat,
    write_scenario,
)
from promptpipe_simulator.core.scenario import parse_duration
from promptpipe_simulator.core.worlds import WorldFolder, Worlds
from promptpipe_simulator.settings import Settings


class Backend:
    """Enroll, chat and inspect through the stack's public APIs only."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        self.http = httpx.AsyncClient(timeout=5, transport=transport)
        self.delivery = DeliveryClient(
            self.http, settings.delivery_url, settings.delivery_api_token.get_secret_value()
        )
        self.phones = MockWhatsAppClient(self.http, settings.mock_wa_url)
        self.mock_wa_url = settings.mock_wa_url
        self.agent = AgentClient(
            self.http, settings.agent_url, settings.agent_api_token.get_secret_value()
        )
        # Saved worlds: the whole stack's state, saved and loaded through its APIs.
        self.worlds = Worlds(
            self.delivery, self.agent, self.phones, WorldFolder(settings.worlds_dir)
        )
        self.session: SessionLog | None = None  # None: not recording
        self._phones_by_id: dict[str, str] = {}

    def start_recording(self) -> None:
        """From now on, note the simulator's actions for `recorded_scenario`."""
        if self.session is None:
            self.session = SessionLog()

    async def participants(self) -> list[Participant]:
        participants = await self.delivery.participants()
        self._phones_by_id.update({p.id: p.phone_number for p in participants})
        return participants

    async def enroll(self, persona: Persona, reads_when_opened: bool = False) -> Participant:
        """Enroll the persona at delivery and name their phone. `reads_when_opened`: the
        phone reads only when its chat is opened (`read_chat`), as a person's does; by
        default it reads everything at once (scenarios and load expect read ticks)."""
        participant = await self.delivery.enroll(**persona.enrollment())
        self._phones_by_id[participant.id] = participant.phone_number
        self._watch(participant.phone_number)
        # The profile name is cosmetic: without it the mock shows the number.
        with contextlib.suppress(StackError):
            await self.phones.name_phone(
                persona.phone_number,
                persona.name,
                auto_read=False if reads_when_opened else None,
            )
        return participant

    async def read_chat(self, phone: str) -> int:
        """The participant opens their chat: the coach's delivered messages turn read."""
        return await self.phones.read_chat(phone)

    async def set_status(self, participant_id: str, status: str) -> Participant:
        participant = await self.delivery.set_status(participant_id, status)
        step = "pause" if status == "paused" else "resume"
        await self._note(step, [participant.phone_number])
        return participant

    async def delete(self, participant_id: str) -> None:
        await self.delivery.delete(participant_id)
        phone = self._phones_by_id.get(participant_id)
        await self._note("delete", [phone] if phone else [])

    async def send_text(self, phone: str, text: str) -> ChatMessage:
        self._watch(phone)
        return await self.phones.send_text(phone, text)

    async def tap_button(self, phone: str, button: dict[str, str], context_id: str) -> ChatMessage:
        self._watch(phone)
        return await self.phones.tap_button(phone, button, context_id)

    async def tap_row(self, phone: str, row: dict[str, str], context_id: str) -> ChatMessage:
        self._watch(phone)
        return await self.phones.tap_row(phone, row, context_id)

    async def chat(self, phone: str) -> list[ChatMessage]:
        self._watch(phone)
        return await self.phones.chat(phone)

    async def webhook_deliveries(self) -> list[dict[str, Any]]:
        return await self.phones.webhook_deliveries()

    async def conversation(self, participant_id: str) -> dict[str, Any] | None:
        return await self.agent.conversation(participant_id)

    def follow_events(
        self,
        on_events: Callable[[list[Event]], None],
        on_trouble: Callable[[StackError], None] = lambda exc: None,
        on_recovered: Callable[[], None] = lambda: None,
    ) -> EventFollower:
        """A follower of mock_whatsapp's live events; `await follower.run()` to start it."""
        return EventFollower(
            self.http,
            self.mock_wa_url,
            on_events,
            on_trouble,
            on_recovered,
        )

    async def clock(self) -> dict[str, Any]:
        return await self.delivery.clock()

    async def advance_clock(self, duration: str) -> dict[str, Any]:
        if self.session is None:
            return await self.delivery.advance_clock(duration)
        # Where each watched participant is before the jump: jobs fire during it.
        places = await self._places(with_anchor=True)
        clock = await self.delivery.advance_clock(duration)
        landed = datetime.fromisoformat(str(clock["now"]).replace("Z", "+00:00"))
        seconds = parse_duration(duration)
        for phone, (position, anchor) in places.items():
            self.session.mark(phone, position, clock_jump_step(seconds, landed, anchor))
        return clock

    async def set_agent_fault(self, mode: str, delay_seconds: float = 0) -> dict[str, Any]:
        fault = await self.delivery.set_agent_fault(mode, delay_seconds)
        step: dict[str, Any] = {"agent": mode}
        if delay_seconds:
            step["delay"] = f"{delay_seconds:g}s"
        await self._note({"fault": step})
        return fault

    async def add_whatsapp_fault(self, fault: dict[str, Any]) -> dict[str, Any]:
        added = await self.phones.add_fault(fault)
        await self._note({"fault": {"whatsapp": fault}})
        return added

    async def clear_whatsapp_faults(self) -> None:
        await self.phones.clear_faults()
        await self._note({"fault": {"clear": "whatsapp"}})

    async def recorded_scenario(self, participant: Participant) -> dict[str, Any]:
        """The participant's conversation as a scenario, with the simulator's actions
        that this session noted in it."""
        chat = await self.chat(participant.phone_number)
        marks = self.session.marks.get(participant.phone_number, []) if self.session else []
        return scenario_from_chat(participant, chat, marks)

    async def save_scenario(self, participant: Participant, folder: Path) -> Path:
        """Write `recorded_scenario` to a new file in `folder`; returns its path."""
        return write_scenario(folder, participant, await self.recorded_scenario(participant))

    async def health(self) -> dict[str, bool]:
        return {
            "delivery": await self.delivery.healthy(),
            "mock_whatsapp": await self.phones.healthy(),
            "agent": await self.agent.healthy(),
        }

    async def close(self) -> None:
        await self.http.aclose()

    # --- recording -------------------------------------------------------------------

    def _watch(self, phone: str) -> None:
        if self.session is not None:
            self.session.watch(phone)

    async def _note(self, step: str | dict[str, Any], phones: list[str] | None = None) -> None:
        """Note a step at the current end of the chats of `phones` (default: everyone
        watched, for what affects the whole stack)."""
        if self.session is None:
            return
        places = await self._places(phones)
        for phone, (position, _) in places.items():
            self.session.mark(phone, position, step)

    async def _places(
        self, phones: list[str] | None = None, with_anchor: bool = False
    ) -> dict[str, tuple[int, tuple[str, datetime] | None]]:
        """For each phone: its chat's length and (with_anchor) its next pending job. A
        phone whose chat cannot be read now is left out: its recording misses the step."""
        assert self.session is not None
        wanted = list(self.session.watched) if phones is None else phones
        ids = {phone: pid for pid, phone in self._phones_by_id.items()}

        async def place(phone: str) -> tuple[int, tuple[str, datetime] | None]:
            length = len(await self.phones.chat(phone))
            anchor = None
            if with_anchor and phone in ids:
                with contextlib.suppress(StackError):  # deleted, say: nothing pending
                    anchor = earliest_job(await self.delivery.jobs(ids[phone]))
            return length, anchor

        found = await asyncio.gather(*(place(p) for p in wanted), return_exceptions=True)
        places = {}
        for phone, result in zip(wanted, found, strict=True):
            if isinstance(result, StackError):
                continue
            if isinstance(result, BaseException):
                raise result
            places[phone] = result
        return places
