"""The tweak agreed after a barrier shapes the next scheduled prompt once, then is used up;
a new barrier brings a new one. Through the API, for the offline and the OpenAI writer."""

from __future__ import annotations

import json
from typing import Any

import httpx
from caller import TRUSTED, serving
from fake_openai import FakeOpenAI, Running, message, tool_calls
from test_openai_provider import NOW, body
from test_process_message import event, intake, turn

from promptpipe_agent.main import create_app
from promptpipe_agent.settings import Settings


async def prompt(client: httpx.AsyncClient, pid: str, event_id: str) -> str:
    resp = await client.post("/process-event", json=event(pid, "daily_prompt", event_id))
    assert resp.status_code == 200, resp.text
    return str(resp.json()["response"])


async def barrier(client: httpx.AsyncClient, pid: str, what: str) -> None:
    await client.post("/process-message", json=turn(pid, "Next time"))
    reply = await client.post("/process-message", json=turn(pid, what))
    assert "tweak for next time" in reply.json()["response"]


async def test_a_tweak_shapes_the_next_prompt_only(client: httpx.AsyncClient) -> None:
    await intake(client, "p_t1")
    assert "tweak" not in await prompt(client, "p_t1", "t1")
    await barrier(client, "p_t1", "I was late for work")
    profile = (await client.get("/conversations/p_t1")).json()["profile"]
    tweak = profile["last_tweak"]
    assert profile["tweak_pending"] is True
    assert tweak in await prompt(client, "p_t1", "t2")
    later = await prompt(client, "p_t1", "t3")
    assert tweak not in later and "tweak" not in later
    profile = (await client.get("/conversations/p_t1")).json()["profile"]
    assert profile["tweak_pending"] is False and profile["last_tweak"] == tweak
    # A new barrier, even one that earns the same tweak, makes it due again, once.
    await barrier(client, "p_t1", "I was rushing again")
    assert tweak in await prompt(client, "p_t1", "t4")
    assert "tweak" not in await prompt(client, "p_t1", "t5")


async def test_a_repeated_prompt_event_does_not_lose_the_tweak(client: httpx.AsyncClient) -> None:
    await intake(client, "p_t2")
    await prompt(client, "p_t2", "u1")
    await barrier(client, "p_t2", "I forgot")
    first = await prompt(client, "p_t2", "u2")
    assert "sticky note" in first
    assert await prompt(client, "p_t2", "u2") == first  # delivery's retry: the same answer


async def test_the_openai_writer_gets_the_tweak_once(database_url: str, delivery: Any) -> None:
    save = {
        "prompt_anchor": "after breakfast",
        "preferred_time": "08:00",
        "last_barrier": "I forgot",
        "last_tweak": "put your shoes by the door",
    }
    fake = FakeOpenAI(
        script=[
            tool_calls(("save_user_profile", save)),
            message("Got it, a sticky reminder for next time."),
            message("After breakfast, put your shoes on and walk for a minute. Doable?"),
            message("After breakfast, walk for a minute. Doable?"),
        ]
    )
    with Running(fake):
        config = Settings(
            DATABASE_URL=database_url,
            LLM_PROVIDER="openai",
            OPENAI_BASE_URL=fake.base_url,
            OPENAI_MODEL="fake-model",
            OPENAI_API_KEY="sk-test-key",
            LLM_MAX_RETRIES=0,
            **TRUSTED,
        )
        app = create_app(config, delivery_transport=httpx.MockTransport(delivery.handle))
        async with serving(app) as client:
            said = await client.post("/process-message", json=body("p_t3", "I forgot"), headers=NOW)
            assert said.status_code == 200, said.text
            for event_id in ("w1", "w2"):
                resp = await client.post(
                    "/process-event", json=event("p_t3", "daily_prompt", event_id)
                )
                assert resp.status_code == 200, resp.text
    writer_requests = [json.loads(r["messages"][-1]["content"]) for r in fake.requests[2:]]
    assert writer_requests[0]["tweak"] == "put your shoes by the door"
    assert "tweak" not in writer_requests[1]
    assert "last_tweak" not in writer_requests[1]["profile"]
    assert "once" in fake.requests[2]["messages"][0]["content"]
