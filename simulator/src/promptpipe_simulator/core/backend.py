"""One object the TUI (or a script) talks to: the stack as seen by a simulator user."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
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
        self.poll_seconds = settings.poll_seconds
        self.agent = AgentClient(self.http, settings.agent_url)

    async def participants(self) -> list[Participant]:
        return await self.delivery.participants()

    async def enroll(self, persona: Persona) -> Participant:
        participant = await self.delivery.enroll(**persona.enrollment())
        # The profile name is cosmetic: without it the mock shows the number.
        with contextlib.suppress(StackError):
            await self.phones.name_phone(persona.phone_number, persona.name)
        return participant

    async def set_status(self, participant_id: str, status: str) -> Participant:
        return await self.delivery.set_status(participant_id, status)

    async def delete(self, participant_id: str) -> None:
        await self.delivery.delete(participant_id)

    async def send_text(self, phone: str, text: str) -> ChatMessage:
        return await self.phones.send_text(phone, text)

    async def tap_button(self, phone: str, button: dict[str, str], context_id: str) -> ChatMessage:
        return await self.phones.tap_button(phone, button, context_id)

    async def chat(self, phone: str) -> list[ChatMessage]:
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
            poll_seconds=self.poll_seconds,
        )

    async def clock(self) -> dict[str, Any]:
        return await self.delivery.clock()

    async def advance_clock(self, duration: str) -> dict[str, Any]:
        return await self.delivery.advance_clock(duration)

    async def health(self) -> dict[str, bool]:
        return {
            "delivery": await self.delivery.healthy(),
            "mock_whatsapp": await self.phones.healthy(),
            "agent": await self.agent.healthy(),
        }

    async def close(self) -> None:
        await self.http.aclose()
