"""Shadow turns (X-PromptPipe-Shadow) change nothing anywhere; comparisons
(X-PromptPipe-Compare) return the state before the turn; the candidate's settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import psycopg
import pytest
from caller import TRUSTED, serving

from promptpipe_agent.main import create_app
from promptpipe_agent.settings import Settings

SHADOW = {"X-PromptPipe-Shadow": "true"}
COMPARE = {"X-PromptPipe-Compare": "true"}
NOW = {"X-PromptPipe-Now": "2025-03-03T09:00:00Z"}


def say(pid: str, text: str, message_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"participant_id": pid, "message": text, "phone_number": "+15551234567"}
    if message_id:
        body["message_id"] = message_id
    return body


def event(pid: str, kind: str, event_id: str) -> dict[str, Any]:
    return {
        "participant_id": pid,
        "phone_number": "+15551234567",
        "event_id": event_id,
        "kind": kind,
        "payload": {},
    }


def everything(database_url: str, schema: str = "agent") -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table in the agent's schema."""
    with psycopg.connect(database_url) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (schema,),
            )
        ]
        return {
            t: sorted(
                (tuple(str(v) for v in row) for row in conn.execute(f"SELECT * FROM {schema}.{t}")),
            )
            for t in tables
        }


def delivery_state(delivery: Any) -> tuple[Any, ...]:
    return (
        delivery.requests,
        repr(delivery.schedules),
        repr(delivery.events),
        list(delivery.canceled),
    )


PERSONALIZE = [
    "Hello!",
    "personalize",
    "moving more",
    "I want more energy",
    "my morning coffee",
    "7:30am",
    "no",
]


async def test_a_shadow_turn_changes_nothing_anywhere(
    client: httpx.AsyncClient, delivery: Any, database_url: str
) -> None:
    for i, text in enumerate(PERSONALIZE):
        await client.post("/process-message", json=say("p_s1", text, f"wamid.{i}"), headers=NOW)
    tables, at_delivery = everything(database_url), delivery_state(delivery)

    # The next answer would schedule the daily prompt at delivery: in shadow it only says
    # so. A message id a real turn had must not be answered from that turn's record.
    resp = await client.post(
        "/process-message", json=say("p_s1", "yes", "wamid.6"), headers={**SHADOW, **NOW}
    )
    assert resp.status_code == 200, resp.text
    meta = resp.json()["metadata"]
    assert meta["shadow"] is True
    # The daily prompt, and the check-in on the habit tried now.
    assert [c["action"] for c in meta["would_schedule"]] == ["create_daily", "schedule_event"]
    assert meta["would_schedule"][0]["local_time"] == "07:20"
    assert meta["compare"]["tool_calls"][0]["name"] == "scheduler"

    # A due event in shadow: the prompt would set its reminder and its switch to FEEDBACK.
    resp = await client.post(
        "/process-event", json=event("p_s1", "daily_prompt", "job_1@t"), headers={**SHADOW, **NOW}
    )
    assert resp.status_code == 200, resp.text
    kinds = [c.get("kind") for c in resp.json()["metadata"]["would_schedule"]]
    assert kinds == ["reminder", "auto_feedback"]

    # A participant the agent has never seen: nothing is created for them either.
    resp = await client.post("/process-message", json=say("p_new", "Hello!"), headers=SHADOW)
    assert resp.status_code == 200 and "habit coach" in resp.json()["response"]

    assert everything(database_url) == tables
    assert delivery_state(delivery) == at_delivery
    # And the real turn that follows is not answered from a shadow's record.
    real = await client.post("/process-message", json=say("p_s1", "yes", "wamid.7"))
    assert [j["local_time"] for j in delivery.schedules] == ["07:20"]
    assert "07:20" in real.json()["response"]


async def test_a_comparison_returns_the_state_before_the_turn_and_is_not_recorded(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/process-message", json=say("p_c1", "Hello!", "wamid.c0"))
    resp = await client.post(
        "/process-message", json=say("p_c1", "personalize", "wamid.c1"), headers=COMPARE
    )
    compare = resp.json()["metadata"]["compare"]
    before = compare["state_before"]
    assert before["sub_state"] == "INTAKE" and before["turns"] == 1
    assert [h["role"] for h in before["history"]] == ["user", "assistant"]
    assert before["history"][0]["content"] == "Hello!"
    assert compare["tool_calls"] == [
        {"name": c, "args": compare["tool_calls"][i]["args"]}
        for i, c in enumerate(resp.json()["metadata"]["tool_calls"])
    ]
    # A retried call is answered from the record, which holds no comparison.
    again = await client.post(
        "/process-message", json=say("p_c1", "personalize", "wamid.c1"), headers=COMPARE
    )
    assert "compare" not in again.json()["metadata"]
    assert again.json()["response"] == resp.json()["response"]


async def test_the_shadow_runs_on_the_state_it_is_given(
    client: httpx.AsyncClient, database_url: str
) -> None:
    # The conversation before the primary's turn, as its comparison returned it: in shadow
    # the turn runs on it, not on the stored conversation (which has moved on since), and
    # answers exactly as the primary did.
    await client.post("/process-message", json=say("p_g1", "Hello!"))
    primary = await client.post(
        "/process-message", json=say("p_g1", "personalize"), headers=COMPARE
    )
    state = primary.json()["metadata"]["compare"]["state_before"]
    tables = everything(database_url)
    shadow = await client.post(
        "/process-message",
        json={**say("p_g1", "personalize"), "shadow_state": state},
        headers=SHADOW,
    )
    assert shadow.json()["response"] == primary.json()["response"]
    assert shadow.json()["state"] == primary.json()["state"]
    assert everything(database_url) == tables


async def test_a_shadow_state_without_the_marker_is_refused(
    client: httpx.AsyncClient, database_url: str
) -> None:
    tables = everything(database_url)
    resp = await client.post(
        "/process-message", json={**say("p_x", "Hello!"), "shadow_state": {"sub_state": "INTAKE"}}
    )
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "shadow_state_without_marker"
    assert everything(database_url) == tables


@asynccontextmanager
async def agent(settings: Settings, delivery: Any) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, delivery_transport=httpx.MockTransport(delivery.handle))
    async with serving(app) as c:
        yield c


async def test_a_candidate_in_its_own_schema_with_a_concise_default_tone(
    database_url: str, delivery: Any, create_database: Callable[[str], str]
) -> None:
    plain = Settings(DATABASE_URL=database_url, **TRUSTED)
    concise = Settings(
        DATABASE_URL=database_url,
        **TRUSTED,
        AGENT_DB_SCHEMA="agent_candidate",
        AGENT_DEFAULT_TONE="concise, no_emojis",
    )
    async with agent(plain, delivery) as primary, agent(concise, delivery) as candidate:
        said = {}
        for name, c in (("primary", primary), ("candidate", candidate)):
            await c.post("/process-message", json=say("p_t1", "Hello!"))
            said[name] = (await c.post("/process-message", json=say("p_t1", "personalize"))).json()
        assert said["primary"]["state"] == said["candidate"]["state"]
        assert len(said["candidate"]["response"]) < len(said["primary"]["response"])
        view = (await candidate.get("/conversations/p_t1")).json()
        assert "tone" not in view["profile"]  # the coach's manner, not the participant's choice
    assert everything(database_url, "agent_candidate")["conversations"]
    assert len(everything(database_url)["conversations"]) == 1


def test_the_schema_setting_is_checked() -> None:
    with pytest.raises(ValueError):
        Settings(AGENT_DB_SCHEMA="agent; DROP TABLE x")


async def test_metrics_count_turns_tool_calls_and_model_calls(client: httpx.AsyncClient) -> None:
    await client.post("/process-message", json=say("p_m1", "Hello!"))
    await client.post("/process-message", json=say("p_m1", "Hello!"), headers=SHADOW)
    text = (await client.get("/metrics")).text
    assert 'agent_turns_total{kind="message",result="ok",shadow="false"}' in text
    assert 'agent_turns_total{kind="message",result="ok",shadow="true"}' in text
    assert 'agent_turn_duration_seconds_bucket{kind="message",le="0.005",shadow="false"}' in text
    assert 'agent_model_calls_total{result="ok"}' in text
    assert "agent_tool_calls_total" in text
    # The state distribution counts stored conversations only: p_m1 (the shadow saved none).
    assert 'agent_conversations{state="INTAKE"} 1.0' in text
    assert 'agent_conversations{state="FEEDBACK"} 0.0' in text
