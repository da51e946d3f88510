"""With a database (Postgres, or SQLite when the mock runs alone), a restart of the mock
keeps chats, phone states and subscribers, and finishes pending webhooks."""

from __future__ import annotations

import asyncio
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
    first = create_app(settings, webhook_client=receiver.client)
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
    second = create_app(settings, webhook_client=receiver.client)
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


async def test_restart_keeps_templates_their_reviews_and_deletions(
    database_url: str, receiver: Any
) -> None:
    """Created templates, review decisions, a deleted hello_world and a review still
    pending all survive a restart; the pending one is approved when it falls due."""
    settings = Settings(
        database_url=database_url,
        access_token="test-token",
        app_secret="test-secret",
        template_review_seconds=3600,
    )
    auth = {"Authorization": "Bearer test-token"}
    path = f"/v21.0/{settings.waba_id}/message_templates"

    def submission(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "language": "en",
            "category": "UTILITY",
            "components": [{"type": "BODY", "text": f"This is {name}."}],
        }

    async def run(steps: Callable[[httpx.AsyncClient], Any]) -> Any:
        app = create_app(settings, webhook_client=receiver.client)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://mock") as mock:
                return await steps(mock)

    async def before(mock: httpx.AsyncClient) -> None:
        rejected = (await mock.post(path, json=submission("rejected_one"), headers=auth)).json()
        await mock.post(
            f"/_mock/templates/{rejected['id']}/review",
            json={"status": "REJECTED", "reason": "SCAM"},
        )
        await mock.post(path, json=submission("waiting_one"), headers=auth)
        await mock.delete(path, params={"name": "hello_world"}, headers=auth)

    async def after(mock: httpx.AsyncClient) -> dict[str, Any]:
        kept = (await mock.get(path, params={"fields": "name,status"}, headers=auth)).json()
        await mock.put("/_mock/clock", json={"now": "2040-01-01T00:00:00Z"})
        for _ in range(200):  # the review decides in the background
            listed = (await mock.get(path, params={"name": "waiting_one"}, headers=auth)).json()
            if listed["data"][0]["status"] == "APPROVED":
                break
            await asyncio.sleep(0.01)
        return {
            "before": {t["name"]: t["status"] for t in kept["data"]},
            "after": listed["data"][0]["status"],
        }

    await run(before)
    seen = await run(after)
    assert seen["before"]["rejected_one"] == "REJECTED"
    assert seen["before"]["waiting_one"] == "PENDING"
    assert "hello_world" not in seen["before"] and "habit_checkin" in seen["before"]
    assert seen["after"] == "APPROVED"


async def test_a_message_priced_before_a_restart_is_not_priced_again(
    database_url: str, receiver: Any
) -> None:
    """`pricing` comes with `sent` and the first of delivered/read, once per message: a
    restart between `delivered` and `read` does not price the `read` again."""
    settings = Settings(
        database_url=database_url,
        access_token="test-token",
        app_secret="test-secret",
        phone_number_id="123456789",
        status_delay_seconds=0.01,
    )
    phone = "15557654321"

    async def run(steps: Callable[[httpx.AsyncClient], Any], app: Any) -> Any:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://mock") as mock:
                result = await steps(mock)
            await app.state.business.settled()
            return result

    async def before(mock: httpx.AsyncClient) -> str:
        await mock.put(f"/_mock/phones/{phone}", json={"auto_read": False})
        await mock.post(f"/_mock/phones/{phone}/messages", json={"text": "hi"})
        sent = await mock.post(
            "/v21.0/123456789/messages",
            json={"messaging_product": "whatsapp", "to": phone, "text": {"body": "Welcome!"}},
            headers={"Authorization": "Bearer test-token"},
        )
        return str(sent.json()["messages"][0]["id"])

    async def after(mock: httpx.AsyncClient) -> None:
        assert (await mock.post(f"/_mock/phones/{phone}/read")).json() == {"read": 1}

    wamid = await run(before, create_app(settings, webhook_client=receiver.client))
    await run(after, create_app(settings, webhook_client=receiver.client))
    statuses = {s["status"]: s for s in receiver.statuses() if s["id"] == wamid}
    assert set(statuses) == {"sent", "delivered", "read"}
    assert "pricing" in statuses["sent"] and "pricing" in statuses["delivered"]
    assert "pricing" not in statuses["read"] and "conversation" not in statuses["read"]
