"""The people in the simulation: enrolling personas, the sidebar, opening a chat,
switching between participants, pausing and deleting them."""

from __future__ import annotations

import asyncio

from rich.markup import escape
from textual import on, work
from textual.widgets import ListView

from promptpipe_simulator.core.clients import Participant, StackError
from promptpipe_simulator.core.roster import load_roster
from promptpipe_simulator.tui.base import SimulatorBase
from promptpipe_simulator.tui.screens.confirm import ConfirmScreen
from promptpipe_simulator.tui.widgets.roster import ParticipantItem, ParticipantList


class ParticipantActions(SimulatorBase):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        # Enrollments and polling refresh the sidebar concurrently; one at a time, or two
        # clear-and-refill passes interleave and list people twice.
        self._sidebar_lock = asyncio.Lock()

    # --- enrolling -------------------------------------------------------------------

    def action_enroll(self) -> None:
        self.enroll_persona()

    @work(group="enroll")
    async def enroll_persona(self, select: bool = True) -> None:
        persona = self.personas.make()
        try:
            participant = await self.backend.enroll(persona, reads_when_opened=True)
        except StackError as exc:
            self.notify(str(exc), title="Could not enroll", severity="error")
            return
        self.notify(
            f"{persona.name} (+{persona.phone_number}, {persona.timezone})", title="Enrolled"
        )
        await self.load_participants()
        # One enrolled by hand is opened; a batch keeps the chat that is open.
        if select or self.selected is None:
            await self.open_participant(participant)

    @work(group="enroll")
    async def action_enroll_batch(self, count: int = 5) -> None:
        """Enroll `count` personas at once; one notice for all of them."""
        personas = [self.personas.make() for _ in range(count)]
        results = await asyncio.gather(
            *(self.backend.enroll(p, reads_when_opened=True) for p in personas),
            return_exceptions=True,
        )
        enrolled = [p for p in results if isinstance(p, Participant)]
        failed = [r for r in results if isinstance(r, StackError)]
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, StackError):
                raise result
        if enrolled:
            names = ", ".join(p.name for p in enrolled)
            self.notify(names, title=f"Enrolled {len(enrolled)}")
        if failed:
            self.notify(str(failed[0]), title=f"{len(failed)} not enrolled", severity="error")
        await self.load_participants()
        if self.selected is None and enrolled:
            await self.open_participant(enrolled[0])

    # --- the sidebar -----------------------------------------------------------------

    async def load_participants(self) -> None:
        async with self._sidebar_lock:
            try:
                roster = await load_roster(self.backend)
            except StackError as exc:
                self.report_once("delivery", exc)
                return
            self._offline.discard("delivery")
            view = self.query_one(ParticipantList)
            participants = [entry.participant for entry in roster]
            if [p.id for p in participants] == [p.id for p in self.participants]:
                # Same people: redraw rows in place (badges, unread counts, times).
                for item, entry in zip(view.query(ParticipantItem), roster, strict=False):
                    item.show(entry)
            else:
                await view.clear()
                await view.extend([ParticipantItem(entry, self.clock) for entry in roster])
            self.participants = participants
            self._point_sidebar_at(self.selected)
            # The open participant's record may have changed (paused elsewhere, say).
            if self.selected is not None:
                fresh = {p.id: p for p in participants}.get(self.selected.id)
                if fresh is not None:
                    self.pane.participant = fresh

    def _point_sidebar_at(self, participant: Participant | None) -> None:
        view = self.query_one(ParticipantList)
        for index, p in enumerate(self.participants):
            if participant is not None and p.id == participant.id and view.index != index:
                view.index = index

    # --- opening a chat --------------------------------------------------------------

    @on(ListView.Selected, "#participants")
    def participant_chosen(self, event: ListView.Selected) -> None:
        if isinstance(event.item, ParticipantItem):
            self.select(event.item.participant)

    @work(group="open", exclusive=True)
    async def select(self, participant: Participant) -> None:
        """Open `participant`'s chat (from anywhere, as a worker)."""
        await self.open_participant(participant)

    async def open_participant(self, participant: Participant | None) -> None:
        await self.pane.open(participant)
        self.clock.zone = participant.timezone if participant else "UTC"
        self._point_sidebar_at(participant)
        log = self.event_log
        log.redraw()  # its times, now in this participant's zone
        if participant is not None and log.only is not None and log.only[1] != participant.id:
            log.narrow_to((participant.phone_number, participant.id), participant.name)
        self.pane.composer.focus()
        self.refresh_all()

    def action_switch(self, step: int) -> None:
        """Open the participant above (-1) or below (1) the open one, from anywhere."""
        if not self.participants:
            self.notify("Nobody enrolled yet (ctrl+n enrolls a persona)", severity="warning")
            return
        ids = [p.id for p in self.participants]
        here = ids.index(self.selected.id) if self.selected and self.selected.id in ids else -1
        if here == -1:
            target = 0 if step > 0 else len(ids) - 1
        else:
            target = max(0, min(len(ids) - 1, here + step))
        if target != here:
            self.select(self.participants[target])

    # --- pausing and deleting --------------------------------------------------------

    @work(group="status")
    async def action_toggle_pause(self) -> None:
        """Pause the participant (delivery then only acknowledges them and skips their
        prompts), or resume them."""
        participant = self.need_participant()
        if participant is None:
            return
        status = "active" if participant.status == "paused" else "paused"
        try:
            updated = await self.backend.set_status(participant.id, status)
        except StackError as exc:
            self.notify(str(exc), title="Status not changed", severity="error")
            return
        if self.selected is not None and self.selected.id == updated.id:
            self.pane.participant = updated
        self.notify(f"{escape(updated.name)} is {status}", title="Participant")
        await self.load_participants()

    def action_delete(self) -> None:
        """Delete the open participant, after asking."""
        participant = self.need_participant()
        if participant is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.delete_participant(participant)

        self.push_screen(
            ConfirmScreen(
                f"Delete {participant.name or participant.phone_number}? "
                "Their schedules are canceled and they get nothing more."
            ),
            answered,
        )

    @work(group="status")
    async def delete_participant(self, participant: Participant) -> None:
        try:
            await self.backend.delete(participant.id)
        except StackError as exc:
            self.notify(str(exc), title="Not deleted", severity="error")
            return
        self.notify(f"{escape(participant.name)} deleted", title="Participant")
        if self.selected is not None and self.selected.id == participant.id:
            await self.open_participant(None)
        await self.load_participants()
