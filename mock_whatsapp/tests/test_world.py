"""/_mock/world: the mock's part of a saved world: round trip, pending webhooks going on
after a load, the journal replaced too, refusals."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from mock_whatsapp.main import create_app
from mock_whatsapp.settings import Settings

AUTH = {"Authorization": "Bearer test-token"}
SEND = "/v21.0/123456789/messages"


def text(to: str, body: str) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": body}}


async def export(mock: httpx.AsyncClient) -> dict[str, Any]:
    resp = await mock.get("/_mock/world")
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def without_now(world: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in world.items() if k != "now"}


async def test_round_trip_restores_chats_statuses_and_the_clock(
    mock: httpx.AsyncClient, drain: Callable[[], Any]
) -> None:
    await mock.post("/_mock/phones/15551230001/messages", json={"text": "Hello"})
    resp = await mock.post(SEND, json=text("15551230001", "Hi, I am your coach"), headers=AUTH)
    assert resp.status_code == 200
    await drain()
    saved = await export(mock)
    tables = saved["tables"]
    assert saved["service"] == "mock_whatsapp" and saved["format"] == 1
    assert [m["direction"] for m in tables["messages"]] == ["inbound", "outbound"]
    assert tables["messages"][1]["status"] == "read"
    assert len(tables["deliveries"]) >= 4  # the message and three statuses
    assert any(t["name"] == "hello_world" for t in saved["templates"])

    # The world moves on: another phone, a day later.
    await mock.post("/_mock/phones/15551230002/messages", json={"text": "Me too"})
    await mock.put("/_mock/clock", json={"now": "2031-01-01T00:00:00Z"})
    await drain()
    resp = await mock.put("/_mock/world", json=saved)
    assert resp.status_code == 200, resp.text
    assert resp.json()["rows"]["messages"] == 2
    back = await export(mock)
    assert without_now(back) == without_now(saved)
    assert abs(_seconds(back["now"]) - _seconds(saved["now"])) < 5  # the clock went back
    chat = (await mock.get("/_mock/phones/15551230002/messages")).json()
    assert chat == []


async def test_a_pending_webhook_is_posted_after_the_load(
    mock: httpx.AsyncClient, receiver: Any
) -> None:
    receiver.failures_left = 10_000  # delivery is away: the webhook stays pending
    await mock.post("/_mock/phones/15551230003/messages", json={"text": "Are you there?"})
    assert (await mock.post("/_mock/world/pause", json={"limit_seconds": 30})).status_code == 200
    saved = await export(mock)
    await mock.post("/_mock/world/resume")
    assert [d["state"] for d in saved["tables"]["deliveries"]] == ["pending"]

    receiver.failures_left = 0
    assert (await mock.put("/_mock/world", json=saved)).status_code == 200
    for _ in range(200):
        if receiver.messages():
            break
        await asyncio.sleep(0.02)
    assert [m["text"]["body"] for m in receiver.messages()] == ["Are you there?"]


@pytest.mark.parametrize("settings_overrides", [{"status_delay_seconds": 0.2}])
async def test_pause_holds_status_timelines_until_resumed(
    mock: httpx.AsyncClient, drain: Callable[[], Any], receiver: Any
) -> None:
    await mock.post("/_mock/phones/15551230004/messages", json={"text": "Hi"})
    await drain()
    await mock.post(SEND, json=text("15551230004", "Reply"), headers=AUTH)
    await mock.post("/_mock/world/pause", json={"limit_seconds": 30})
    await asyncio.sleep(0.8)  # three status steps of 0.2 s: it would be read by now
    assert (await export(mock))["tables"]["messages"][-1]["status"] != "read"
    await mock.post("/_mock/world/resume")
    await drain()
    assert (await export(mock))["tables"]["messages"][-1]["status"] == "read"


@pytest.mark.parametrize("settings_overrides", [{"status_delay_seconds": 0.2}])
async def test_a_message_paused_before_its_first_status_keeps_the_window_of_its_send(
    mock: httpx.AsyncClient, drain: Callable[[], Any]
) -> None:
    """A clock jump sends a prompt at 12:20 (inside the window) and lands hours later
    (outside it); a pause then (a world's capture) must not judge the prompt by the
    landing time: Meta judged it at the send."""
    await mock.post("/_mock/phones/15551230006/messages", json={"text": "Hi"})
    await drain()
    wrote = datetime.fromisoformat((await mock.get("/_mock/clock")).json()["now"])
    await mock.put("/_mock/clock", json={"now": (wrote + timedelta(hours=23)).isoformat()})
    await mock.post(SEND, json=text("15551230006", "Your daily prompt"), headers=AUTH)
    await mock.post("/_mock/world/pause", json={"limit_seconds": 30})  # still `accepted`
    await mock.put("/_mock/clock", json={"now": (wrote + timedelta(hours=30)).isoformat()})
    await mock.post("/_mock/world/resume")
    await drain()
    sent = (await export(mock))["tables"]["messages"][-1]
    assert (sent["text"], sent["status"], sent["errors"]) == ("Your daily prompt", "read", [])

    # And a message sent once the window has closed fails however long it waited.
    await mock.post(SEND, json=text("15551230006", "Too late"), headers=AUTH)
    await drain()
    late = (await export(mock))["tables"]["messages"][-1]
    assert late["status"] == "failed" and late["errors"][0]["code"] == 131047


async def test_a_world_that_does_not_fit_is_refused_and_changes_nothing(
    mock: httpx.AsyncClient, drain: Callable[[], Any]
) -> None:
    await mock.post("/_mock/phones/15551230005/messages", json={"text": "Hi"})
    await drain()
    before = await export(mock)
    cases = {
        "format 0": lambda w: w.update(format=0),
        "not the mock": lambda w: w.update(service="agent"),
        "messages": lambda w: w["tables"]["messages"][0].pop("phone"),
        "tables": lambda w: w["tables"].update(sessions=[]),
    }
    for says, change in cases.items():
        world = copy.deepcopy(before)
        change(world)
        for dry in ("false", "true"):
            resp = await mock.put(f"/_mock/world?dry_run={dry}", json=world)
            assert resp.status_code == 400, (says, resp.text)
            assert resp.json()["error"]["code"] == "world_mismatch"
            assert says in resp.json()["error"]["message"]
    resp = await mock.put("/_mock/world", content=b"{not json")
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_json"
    assert without_now(await export(mock)) == without_now(before)


async def test_a_load_is_kept_by_the_journal_across_a_restart(
    create_database: Callable[[str], str], receiver: Any
) -> None:
    settings = Settings(
        database_url=create_database("mock"),
        app_secret="test-secret",
        access_token="test-token",
        phone_number_id="123456789",
        status_delay_seconds=0.01,
    )

    async def run(work: Callable[[httpx.AsyncClient], Any]) -> Any:
        app = create_app(settings, webhook_client=receiver.client)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://mock") as c:
                result = await work(c)
                await app.state.business.webhooks.drain()
                return result

    async def make_world(c: httpx.AsyncClient) -> dict[str, Any]:
        await c.post("/_mock/phones/15551230006/messages", json={"text": "Saved"})
        await asyncio.sleep(0.1)
        return await export(c)

    saved = await run(make_world)

    async def change_then_load(c: httpx.AsyncClient) -> None:
        await c.post("/_mock/phones/15551230007/messages", json={"text": "Not in the world"})
        assert (await c.put("/_mock/world", json=saved)).status_code == 200

    await run(change_then_load)
    after_restart = await run(export)
    assert without_now(after_restart) == without_now(saved)


async def test_a_webhook_waiting_for_its_retry_is_posted_once_after_a_resume(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    await mock.post("/_mock/world/pause", json={"limit_seconds": 30})
    receiver.failures_left = 1  # the first post fails: its retry waits in the scheduler
    await mock.post("/_mock/phones/15551230008/messages", json={"text": "Once"})
    for _ in range(200):
        if receiver.attempts:
            break
        await asyncio.sleep(0.01)
    await mock.post("/_mock/world/resume")  # must not post it a second time beside the retry
    await drain()
    assert [m["text"]["body"] for m in receiver.messages()] == ["Once"]
    assert receiver.attempts == 2


async def test_webhooks_after_a_load_take_ids_of_their_own(receiver: Any) -> None:
    """A world loaded into a mock that numbered fewer webhooks: the next one does not take
    the id of a loaded one (the journal keeps deliveries by id)."""
    settings = Settings(
        app_secret="test-secret", access_token="test-token", status_delay_seconds=0.01
    )

    async def run(work: Callable[[httpx.AsyncClient], Any]) -> Any:
        app = create_app(settings, webhook_client=receiver.client)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://mock") as c:
                result = await work(c)
                await app.state.business.settled()
                return result

    async def make_world(c: httpx.AsyncClient) -> dict[str, Any]:
        for n in range(3):
            await c.post(f"/_mock/phones/1555123001{n}/messages", json={"text": "Saved"})
        return await export(c)

    async def load_then_write(c: httpx.AsyncClient) -> list[int]:
        assert (await c.put("/_mock/world", json=saved)).status_code == 200
        await c.post("/_mock/phones/15551230019/messages", json={"text": "After the load"})
        return [d["id"] for d in (await c.get("/_mock/webhooks/deliveries")).json()]

    saved = await run(make_world)
    ids = await run(load_then_write)
    assert len(ids) == 4 and len(set(ids)) == 4, ids


def _seconds(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()
