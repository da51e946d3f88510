"""The participants as a sidebar lists them: each with their sub-state, how many of the
coach's messages they have not looked at yet, and when their chat last moved.

Three services know a part of it (delivery the participants, the agent the sub-states,
the mock the chats); one call to each gives the whole list, however many participants
there are. A service that cannot answer leaves its part empty rather than failing the
list."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.clients import Participant, StackError


@dataclass
class RosterEntry:
    participant: Participant
    sub_state: str | None = None  # None: the agent has not spoken with them yet
    received: int = 0  # messages the business sent to their phone
    last_message_at: str | None = None
    unread: int = 0


class UnreadCounter:
    """Counts, per phone, the business's messages that arrived since the user last had
    that participant's chat open. A participant never opened starts with all unread."""

    def __init__(self) -> None:
        self.seen: dict[str, int] = {}

    def mark_seen(self, phone: str, received: int) -> None:
        self.seen[phone] = received

    def unread(self, phone: str, received: int) -> int:
        return max(0, received - self.seen.get(phone, 0))


async def load_roster(
    backend: Backend, counter: UnreadCounter, open_phone: str | None = None
) -> list[RosterEntry]:
    """Delivery's participants with what the agent and the mock know of each; the chat
    that is open counts as read. Raises StackError only when delivery cannot answer."""
    participants, states, phones = await asyncio.gather(
        backend.participants(),
        _or_empty(backend.agent.conversations),
        _or_empty(backend.phones.phones),
    )
    state_of = {c["participant_id"]: c.get("state") for c in states}
    chat_of = {p["phone"]: p for p in phones}
    roster = []
    for participant in participants:
        chat = chat_of.get(participant.phone_number, {})
        received = int(chat.get("received") or 0)
        if open_phone is not None and participant.phone_number == open_phone:
            counter.mark_seen(open_phone, received)
        roster.append(
            RosterEntry(
                participant,
                sub_state=state_of.get(participant.id),
                received=received,
                last_message_at=chat.get("last_message_at"),
                unread=counter.unread(participant.phone_number, received),
            )
        )
    return roster


async def _or_empty(
    fetch: Callable[[], Awaitable[list[dict[str, Any]]]],
) -> list[dict[str, Any]]:
    # Called here, not by the caller, so a list canceled before it starts leaves no
    # coroutine behind that was never awaited.
    try:
        return list(await fetch())
    except StackError:
        return []
