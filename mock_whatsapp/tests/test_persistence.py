"""With a database (Postgres, or SQLite when the mock runs alone), a restart of the mock
keeps chats, phone states and subscribers, and finishes pending webhooks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from mock_whatsapp.main import create_app
from mock_whatsapp.settings import Settings


@pytest.fixture(params=["postgres", "sqlite"])
def database_url(
    request: pytest.FixtureRequest, create_database: Callable[[str], str], tmp_path: Path
) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/mock.db"
    return create_database("mock")


async def test_restart_keeps_chats_and_delivers_pending_webhooks(
    database_url: str, receiver: Any
) -> None:
    settings = Settings(
        database_url=database_url,
        app_secret="test-secret",
        access_token="test-token",
        phone_number_id="123456789",
        status_delay_seconds=0.01,
        webhook_retry_for_seconds=30,
    )
    receiver.failures_left = 1000  # delivery is down while the phone writes
    first = create_app(settings, webhook_transport=httpx.MockTransport(receiver.handle))
    async with first.router.lifespan_context(first):
        first.state.business.webhooks.first_backoff = 0.01
        transport = httpx.ASGITransport(app=first)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as mock:
            await mock.put("/_mock/phones/15551234567", json={"name": "Ada"})
            sent = await mock.post("/_mock/phones/15551234567/messages", json={"text": "Hello!"})
            wamid = sent.json()["id"]
            await mock.put("/_mock/clock", json={"now": "2031-01-01T00:00:00Z"})
            await mock.put("/_mock/phones/15557654321", json={"online": False})
            joined = await mock.post(
                "/_mock/webhooks/subscribers",
                json={"url": "http://localhost:9/hook", "verify_token": "good-token"},
            )
            assert joined.status_code == 201
            upload = await mock.post(
                "/v21.0/123456789/media",
                data={"messaging_product": "whatsapp", "type": "image/png"},
                files={"file": ("a.png", b"\x89PNG kept", "image/png")},
                headers={"Authorization": "Bearer test-token"},
            )
            media_id = upload.json()["id"]
    assert receiver.payloads == []  # nothing got through before the restart

    receiver.failures_left = 0  # delivery is back
    second = create_app(settings, webhook_transport=httpx.MockTransport(receiver.handle))
    async with second.router.lifespan_context(second):
        business = second.state.business
        await business.webhooks.drain()
        transport = httpx.ASGITransport(app=second)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as mock:
            chat = (await mock.get("/_mock/phones/15551234567/messages")).json()
            clock = (await mock.get("/_mock/clock")).json()
            phones = {p["phone"]: p for p in (await mock.get("/_mock/phones")).json()}
            subscribers = (await mock.get("/_mock/webhooks/subscribers")).json()["subscribers"]
            auth = {"Authorization": "Bearer test-token"}
            info = (await mock.get(f"/v21.0/{media_id}", headers=auth)).json()
            kept = await mock.get(info["url"].removeprefix("http://mock"), headers=auth)
    assert kept.content == b"\x89PNG kept"
    assert phones["15557654321"]["online"] is False
    assert [s["url"] for s in subscribers] == [settings.webhook_url, "http://localhost:9/hook"]
    assert [m["id"] for m in chat] == [wamid]
    assert clock["now"].startswith("2031-01-01")
    [message] = receiver.messages()
    assert message["id"] == wamid
    assert receiver.payloads[0]["entry"][0]["changes"][0]["value"]["contacts"][0]["profile"] == {
        "name": "Ada"
    }
