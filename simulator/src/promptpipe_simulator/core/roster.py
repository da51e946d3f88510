"""The participants as a sidebar lists them: each with their sub-state, how many of the
coach's messages their phone has not opened yet, and when their chat last moved.

Three services know a part of it (delivery the participants, the agent the sub-states,
the mock the chats and what each phone has read); one call to each gives the whole list,
however many participants there are. The unread counts are the mock's, so every terminal
and browser shows the same. A service that cannot answer leaves its part empty rather
than failing the list."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.clients import Participant, StackError
from promptpipe_simulator.core.migration import MigrationClient


@dataclass
class RosterEntry:
    participant: Participant
    sub_state: str | None = None  # None: the agent has not spoken with them yet
    received: int = 0  # messages the business sent to their phone
    last_message_at: str | None = None
    unread: int = 0  # delivered to the phone, not opened yet
    arm: str | None = None  # the agent serving them, in a migration (docs/migration.md)


async def load_roster(backend: Backend) -> list[RosterEntry]:
    """Delivery's participants with what the agent and the mock know of each. Raises
    StackError only when delivery cannot answer."""
    participants, states, phones, arms = await asyncio.gather(
        backend.participants(),
        _or_empty(backend.agent.conversations),
        _or_empty(backend.phones.phones),
        MigrationClient.beside(backend.delivery).arms(),
    )
    state_of = {c["participant_id"]: c.get("state") for c in states}
    chat_of = {p["phone"]: p for p in phones}
    roster = []
    for participant in participants:
        chat = chat_of.get(participant.phone_number, {})
        roster.append(
            RosterEntry(
                participant,
                sub_state=state_of.get(participant.id),
                received=int(chat.get("received") or 0),
                last_message_at=chat.get("last_message_at"),
                unread=int(chat.get("unread") or 0),
                arm=arms.get(participant.id),
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
