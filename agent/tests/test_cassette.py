"""Cassettes: a session against a real (here: scripted) OpenAI-compatible server is recorded
to a readable JSON file, then replayed with no server at all; a changed prompt fails loudly."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from caller import TRUSTED, serving
from fake_openai import FakeOpenAI, Running, message, tool_calls
from langchain_core.messages import HumanMessage, SystemMessage

from promptpipe_agent.cassette import CassetteChatModel, CassetteMismatch
from promptpipe_agent.main import create_app
from promptpipe_agent.settings import Settings

NOW = {"X-PromptPipe-Now": "2030-01-02T09:00:00Z"}
SESSION = [
    message("Hi! I'm your habit coach. Want to try a tiny habit now, or personalize it first?"),
    tool_calls(("save_user_profile", {"habit_domain": "sleep"})),
    message("Sleep it is. Why does better sleep matter to you?"),
]


def body(text: str) -> dict[str, str]:
    return {"participant_id": "p_c1", "message": text, "phone_number": "+15551234567"}


@pytest.fixture
def agent_on(migrated_database: Callable[[str], str], delivery: Any) -> Callable[..., Any]:
    """A fresh agent (fresh database) with the given settings, as an async client."""

    @asynccontextmanager
    async def make(**settings: Any) -> AsyncIterator[httpx.AsyncClient]:
        config = Settings(
            DATABASE_URL=migrated_database("agent_cassette"),
            LLM_PROVIDER="openai",
            OPENAI_MODEL="fake-model",
            LLM_MAX_RETRIES=0,
            **TRUSTED,
            **settings,
        )
        app = create_app(config, delivery_transport=httpx.MockTransport(delivery.handle))
        async with serving(app) as c:
            yield c

    return make


async def converse(client: httpx.AsyncClient, *texts: str) -> list[httpx.Response]:
    return [await client.post("/process-message", json=body(t), headers=NOW) for t in texts]


async def test_record_then_replay_with_no_server(
    agent_on: Callable[..., Any], tmp_path: Path
) -> None:
    cassette = tmp_path / "session.json"
    fake = FakeOpenAI(script=list(SESSION))
    with Running(fake):
        async with agent_on(
            OPENAI_BASE_URL=fake.base_url, LLM_CASSETTE=str(cassette), LLM_CASSETTE_MODE="record"
        ) as client:
            recorded = await converse(client, "Hello", "personalize: better sleep")
    calls = json.loads(cassette.read_text())["calls"]
    assert len(calls) == len(fake.requests) == 3
    assert calls[1]["response"]["tool_calls"][0]["name"] == "save_user_profile"
    assert calls[2]["request"]["messages"][-1]["role"] == "tool"
    assert "\n  " in cassette.read_text()  # indented: a person can read and edit it

    # Replay: the server is gone, the endpoint unreachable; the cassette answers.
    async with agent_on(
        OPENAI_BASE_URL="http://127.0.0.1:9/v1",
        LLM_CASSETTE=str(cassette),
        LLM_CASSETTE_MODE="replay",
    ) as client:
        replayed = await converse(client, "Hello", "personalize: better sleep")
        view = (await client.get("/conversations/p_c1")).json()

    def said(responses: list[httpx.Response]) -> list[tuple[str, str, list[str]]]:
        return [
            (r.json()["response"], r.json()["state"], r.json()["metadata"]["tool_calls"])
            for r in responses
        ]

    assert said(replayed) == said(recorded)
    assert said(recorded)[1][2] == ["save_user_profile"]
    assert view["profile"]["habit_domain"] == "sleep"  # the tool really ran on replay
    assert view["last_turn"]["model"] == "fake-model (cassette replay)"


async def test_a_changed_prompt_fails_loudly(agent_on: Callable[..., Any], tmp_path: Path) -> None:
    cassette = tmp_path / "session.json"
    fake = FakeOpenAI(script=list(SESSION[:1]))
    with Running(fake):
        async with agent_on(
            OPENAI_BASE_URL=fake.base_url, LLM_CASSETTE=str(cassette), LLM_CASSETTE_MODE="record"
        ) as client:
            await converse(client, "Hello")
    async with agent_on(LLM_CASSETTE=str(cassette), LLM_CASSETTE_MODE="replay") as client:
        [resp] = await converse(client, "Good evening")
    assert resp.status_code == 503  # the participant would get delivery's apology
    assert resp.json()["error"]["code"] == "llm_unavailable"
    assert "Good evening" not in resp.text  # what changed goes to the log, not the wire
    assert "does not match" in resp.json()["error"]["message"]


async def test_mismatch_names_the_call_and_shows_the_change(tmp_path: Path) -> None:
    cassette = tmp_path / "c.json"
    recorded = {
        "request": {
            "messages": [
                {"role": "system", "content": "Be kind."},
                {"role": "human", "content": "Hello"},
            ],
            "tools": [],
        },
        "response": {"content": "Hi!", "tool_calls": [], "model_name": "m"},
    }
    cassette.write_text(json.dumps({"version": 1, "calls": [recorded]}))
    model = CassetteChatModel(path=cassette, mode="replay")
    same = await model.ainvoke([SystemMessage("Be kind."), HumanMessage("Hello")])
    assert same.content == "Hi!"
    with pytest.raises(CassetteMismatch) as caught:
        await model.ainvoke([SystemMessage("Be kind."), HumanMessage("Hello")])
    assert "Model call #2" in caught.value.message and "used up" in caught.value.message

    fresh = CassetteChatModel(path=cassette, mode="replay")
    with pytest.raises(CassetteMismatch) as caught:
        await fresh.ainvoke([SystemMessage("Be strict."), HumanMessage("Hello")])
    text = caught.value.message
    assert "Model call #1" in text and str(cassette) in text
    assert '-      "content": "Be kind.",' in text
    assert '+      "content": "Be strict.",' in text
