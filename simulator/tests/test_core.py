"""The headless core: clients, personas, and its independence from Textual."""

from __future__ import annotations

import subprocess
import sys
from zoneinfo import ZoneInfo

import httpx
import pytest

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.clients import (
    DeliveryClient,
    MockWhatsAppClient,
    Refused,
    Unreachable,
)
from promptpipe_simulator.core.personas import PersonaFactory
from promptpipe_simulator.settings import Settings


def delivery(handler: httpx.MockTransport) -> DeliveryClient:
    return DeliveryClient(httpx.AsyncClient(transport=handler), "http://delivery", token="t")


async def test_envelope_is_unwrapped_and_token_sent() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer t"
        return httpx.Response(
            200,
            json={
                "status": "ok",
                "result": [
                    {"id": "p_1", "phone_number": "15551234567", "name": "Ada", "status": "active"}
                ],
            },
        )

    [p] = await delivery(httpx.MockTransport(handler)).participants()
    assert (p.id, p.phone_number, p.name) == ("p_1", "15551234567", "Ada")


async def test_a_chat_reads_what_the_mock_says_and_defaults_what_it_leaves_out() -> None:
    listed = {
        "id": "wamid.2",
        "direction": "outbound",
        "type": "interactive",
        "text": "Pick one",
        "timestamp": "2026-01-01T08:00:00Z",
        "status": "read",
        "interactive": {
            "type": "list",
            "sections": [
                {"rows": [{"id": "a", "title": "A"}]},
                {"rows": [{"id": "b", "title": "B"}]},
            ],
        },
        "phone": "15551234567",  # a field the simulator does not use is ignored
    }
    chat = [{"id": "wamid.1", "direction": "inbound"}, listed]
    mock = MockWhatsAppClient(
        httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, json=chat))),
        "http://mock",
    )

    sent, offered = await mock.chat("15551234567")
    assert (sent.type, sent.text, sent.status, sent.errors, sent.buttons) == (
        "text",
        "",
        None,
        [],
        [],
    )
    assert [row["title"] for row in offered.rows] == ["A", "B"]
    assert (offered.status, offered.timestamp) == ("read", "2026-01-01T08:00:00Z")


async def test_the_agent_is_read_with_its_token() -> None:
    seen: list[str | None] = []

    def agent(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("Authorization"))
        if request.url.path == "/conversations":
            return httpx.Response(200, json={"conversations": []})
        return httpx.Response(200, json={"state": "INTAKE"})

    settings = Settings(AGENT_API_TOKEN="agent-t")
    backend = Backend(settings, transport=httpx.MockTransport(agent))
    assert await backend.agent.conversations() == []
    assert await backend.agent.conversation("p_1") == {"state": "INTAKE"}
    assert seen == ["Bearer agent-t", "Bearer agent-t"]


async def test_errors_become_typed_exceptions_with_the_service_message() -> None:
    conflict = httpx.MockTransport(
        lambda r: httpx.Response(
            409,
            json={
                "status": "error",
                "message": "Participant with this phone number already enrolled",
            },
        )
    )
    with pytest.raises(Refused) as refused:
        await delivery(conflict).enroll(phone_number="15551234567")
    assert refused.value.status == 409
    assert "already enrolled" in str(refused.value)

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(Unreachable):
        await delivery(httpx.MockTransport(down)).participants()


def test_personas_are_deterministic_unique_and_plausible() -> None:
    a = [PersonaFactory(seed=3).make() for _ in range(1)]
    b = [PersonaFactory(seed=3).make() for _ in range(1)]
    assert a == b
    factory = PersonaFactory(seed=5)
    personas = [factory.make() for _ in range(200)]
    phones = [p.phone_number for p in personas]
    assert len(set(phones)) == 200
    assert all(len(p) == 11 and p.startswith("1555") and p.isdigit() for p in phones)
    for p in personas:
        ZoneInfo(p.timezone)
        assert p.name and p.background


def test_core_never_imports_textual() -> None:
    code = (
        "import sys, promptpipe_simulator.core.backend, promptpipe_simulator.core.clients, "
        "promptpipe_simulator.core.personas, promptpipe_simulator.core.events, "
        "promptpipe_simulator.core.runner, promptpipe_simulator.core.load_run, "
        "promptpipe_simulator.core.participant, promptpipe_simulator.core.locustfile; "
        "sys.exit('textual' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
