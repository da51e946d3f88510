"""GET and PUT /dev/world: the agent's part of a saved world, round trip and refusals."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from caller import TRUSTED, serving

from promptpipe_agent.main import create_app
from promptpipe_agent.settings import Settings


@pytest.fixture
def dev_client(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The agent of the dev stack (DEV_CLOCK=true), called with its token."""
    return client


@pytest.fixture
async def production(database_url: str, delivery: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An agent without the dev stack's clock."""
    app = create_app(
        Settings(DATABASE_URL=database_url, **{**TRUSTED, "DEV_CLOCK": False}),
        delivery_transport=httpx.MockTransport(delivery.handle),
    )
    async with serving(app) as c:
        yield c


async def say(client: httpx.AsyncClient, pid: str, text: str, message_id: str) -> None:
    body = {"participant_id": pid, "message": text, "phone_number": "+15551234567"}
    resp = await client.post("/process-message", json={**body, "message_id": message_id})
    assert resp.status_code == 200, resp.text


async def export(client: httpx.AsyncClient) -> dict[str, Any]:
    resp = await client.get("/dev/world")
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


async def test_world_routes_exist_only_in_the_dev_stack_and_want_the_token(
    production: httpx.AsyncClient, dev_client: httpx.AsyncClient
) -> None:
    assert (await production.get("/dev/world")).status_code == 404
    resp = await dev_client.get("/dev/world", headers={"Authorization": "Bearer wrong"})
    assert resp.status_code == 401


async def test_a_world_larger_than_a_turns_body_cap_loads(dev_client: httpx.AsyncClient) -> None:
    await say(dev_client, "p_1", "Hello!", "wamid.1")
    world = await export(dev_client)
    world["tables"]["history"][0]["content"] = "x" * (3 * 2**20)  # over the 1 MiB cap
    resp = await dev_client.put("/dev/world", json=world)
    assert resp.status_code == 200, resp.text
    assert (await export(dev_client)) == world


async def test_round_trip_restores_every_row_and_new_rows_follow(
    dev_client: httpx.AsyncClient,
) -> None:
    await say(dev_client, "p_1", "Hello!", "wamid.1")
    await say(dev_client, "p_1", "personalize", "wamid.2")
    saved = await export(dev_client)
    assert saved["service"] == "agent" and saved["format"] == 1
    assert saved["schema_version"].startswith("0003")
    tables = saved["tables"]
    assert [c["participant_id"] for c in tables["conversations"]] == ["p_1"]
    assert len(tables["history"]) == 4 and len(tables["processed_messages"]) == 2

    # The world moves on: another participant, more turns.
    await say(dev_client, "p_1", "moving more", "wamid.3")
    await say(dev_client, "p_2", "Hello!", "wamid.4")
    assert await export(dev_client) != saved

    resp = await dev_client.put("/dev/world", json=saved)
    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "loaded": True,
        "rows": {"conversations": 1, "history": 4, "processed_messages": 2},
    }
    assert await export(dev_client) == saved
    view = (await dev_client.get("/conversations/p_1")).json()
    assert len(view["history"]) == 4
    assert (await dev_client.get("/conversations/p_2")).status_code == 404

    # The conversation goes on from the saved moment; history ids continue after it.
    await say(dev_client, "p_1", "moving more", "wamid.3")
    after = await export(dev_client)
    ids = [h["id"] for h in after["tables"]["history"]]
    assert len(ids) == 6 and ids == sorted(ids) and len(set(ids)) == 6


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda w: w.update(format=0), "format 0"),
        (lambda w: w.update(schema_version="0001_conversations"), "0001_conversations"),
        (lambda w: w.update(service="delivery"), "not of the agent"),
        (lambda w: w["tables"].update(sessions=[]), "sessions"),
        (
            lambda w: w["tables"].update(
                conversations=[{"participant_id": "p_9", "phone_number": "1", "sub_state": "X"}]
            ),
            "conversations",
        ),
    ],
)
async def test_a_world_that_does_not_fit_is_refused_and_changes_nothing(
    dev_client: httpx.AsyncClient, change: Any, says: str
) -> None:
    await say(dev_client, "p_1", "Hello!", "wamid.1")
    before = await export(dev_client)
    world = copy.deepcopy(before)
    change(world)
    for dry in ("false", "true"):
        resp = await dev_client.put(f"/dev/world?dry_run={dry}", json=world)
        assert resp.status_code == 422, resp.text
        error = resp.json()["error"]
        assert error["code"] == "world_mismatch" and says in error["message"]
    assert await export(dev_client) == before


async def test_a_dry_run_changes_nothing(dev_client: httpx.AsyncClient) -> None:
    await say(dev_client, "p_1", "Hello!", "wamid.1")
    saved = await export(dev_client)
    await say(dev_client, "p_2", "Hello!", "wamid.2")
    now = await export(dev_client)
    resp = await dev_client.put("/dev/world?dry_run=true", json=saved)
    assert resp.status_code == 200 and resp.json()["loaded"] is False
    assert await export(dev_client) == now


async def test_a_body_that_is_not_json_or_another_method_is_refused(
    dev_client: httpx.AsyncClient,
) -> None:
    resp = await dev_client.put("/dev/world", content=b"\x00{not json")
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_json"
    resp = await dev_client.put("/dev/world", json=[1, 2])
    assert resp.status_code == 422
    resp = await dev_client.request("OPTIONS", "/dev/world")
    assert resp.status_code == 405
    assert set(resp.headers["allow"].replace(" ", "").split(",")) == {"GET", "PUT"}
