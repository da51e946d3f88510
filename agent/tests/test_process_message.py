"""POST /process-message: the guide's schema, idempotency, ordering, persistence."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from caller import TRUSTED, serving

from promptpipe_agent.db import make_pool
from promptpipe_agent.dependencies import get_pool
from promptpipe_agent.main import create_app
from promptpipe_agent.offline_model import QUESTIONS
from promptpipe_agent.settings import Settings

PERSONAL = ("habit_domain", "motivational_frame", "prompt_anchor", "preferred_time")


def asks(reply: str, step: str) -> bool:
    """Whether the offline coach's reply asks its question of this step (in any wording)."""
    return any(q in reply for q in QUESTIONS[step])


def turn(pid: str, message: str, message_id: str | None = None) -> dict[str, str]:
    body = {"participant_id": pid, "message": message, "phone_number": "+15551234567"}
    if message_id:
        body["message_id"] = message_id
    return body


async def test_first_message_greets_and_starts_intake(client: httpx.AsyncClient) -> None:
    resp = await client.post("/process-message", json=turn("p_1", "Hello!"))
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"response", "state", "metadata"}
    assert body["state"] == "INTAKE"
    assert "habit coach" in body["response"]
    assert body["metadata"]["participant_id"] == "p_1"
    assert body["metadata"]["phone_number"] == "+15551234567"
    assert body["metadata"]["model"] == "offline-coach-1"
    assert body["metadata"]["tool_calls"] == []


async def test_personalize_path_asks_one_question_at_a_time_and_fills_the_profile(
    client: httpx.AsyncClient, delivery: Any
) -> None:
    answers = [
        "Hello!",
        "personalize",
        "moving more",
        "I want more energy",
        "my morning coffee",
        "7:30am",
        "no",
        "yes",
    ]
    replies = [(await client.post("/process-message", json=turn("p_2", a))).json() for a in answers]
    assert all(r["response"].count("?") <= 1 for r in replies[1:-1])
    view = (await client.get("/conversations/p_2")).json()
    assert {k: view["profile"][k] for k in PERSONAL} == {
        "habit_domain": "moving more",
        "motivational_frame": "I want more energy",
        "prompt_anchor": "my morning coffee",
        "preferred_time": "07:30",
    }
    # Intake ends with the daily prompt scheduled at delivery, 10 minutes before 7:30, and
    # with the one-minute version to try now.
    assert [(j["kind"], j["local_time"]) for j in delivery.schedules] == [("daily_prompt", "07:20")]
    assert "07:20" in replies[-1]["response"]
    assert "after your morning coffee" in replies[-1]["response"].lower()
    assert replies[-1]["state"] == "FEEDBACK"
    assert view["schedules"][0]["prompt_time"] == "07:20"
    names = [c["name"] for c in view["last_turn"]["tool_calls"]]
    assert names == ["scheduler", "transition_state", "generate_habit_prompt"]
    assert view["last_turn"]["model"] == "offline-coach-1"


async def test_repeated_message_id_returns_first_answer_and_runs_once(
    client: httpx.AsyncClient,
) -> None:
    first = await client.post("/process-message", json=turn("p_3", "Hello!", "wamid.A"))
    again = await client.post("/process-message", json=turn("p_3", "Hello!", "wamid.A"))
    assert again.json() == first.json()
    view = (await client.get("/conversations/p_3")).json()
    assert view["turns"] == 1
    assert [h["role"] for h in view["history"]] == ["user", "assistant"]


async def test_concurrent_turns_of_one_participant_are_serialized(
    client: httpx.AsyncClient,
) -> None:
    calls = [
        client.post("/process-message", json=turn("p_4", f"answer {i}", f"wamid.c{i}"))
        for i in range(6)
    ]
    results = await asyncio.gather(*calls)
    assert all(r.status_code == 200 for r in results)
    assert sorted(r.json()["metadata"]["turn"] for r in results) == [1, 2, 3, 4, 5, 6]
    view = (await client.get("/conversations/p_4")).json()
    assert len(view["history"]) == 12


async def test_invalid_request_gets_the_error_shape_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    resp = await client.post("/process-message", json={"participant_id": "p_5"})
    assert resp.status_code == 422
    error = resp.json()["error"]
    assert error["code"] == "invalid_request"
    assert {d["field"] for d in error["details"]} == {"message", "phone_number"}
    assert (await client.get("/conversations/p_5")).status_code == 404


async def test_a_body_that_is_not_json_is_a_documented_400_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    """Bytes that are not UTF-8 never reach validation: FastAPI refuses them first, and
    the answer is in the error shape and in the OpenAPI document (schemathesis found it)."""
    for path in ("/process-message", "/process-event"):
        resp = await client.post(
            path, content=b"\xff\xfe{", headers={"Content-Type": "application/json"}
        )
        assert resp.status_code == 400, resp.text
        assert resp.json()["error"]["code"] == "malformed_body"
        documented = (await client.get("/openapi.json")).json()["paths"][path]["post"]
        assert "400" in documented["responses"]
    assert (await client.get("/conversations")).json()["conversations"] == []


@pytest.mark.parametrize("text", ["nul \u0000 inside", "lone surrogate \ud800 inside"])
async def test_text_that_cannot_be_stored_is_refused_before_the_turn(
    client: httpx.AsyncClient, text: str
) -> None:
    # json.dumps escapes a lone surrogate as \\ud800, as a client in another language would
    body = json.dumps(turn("p_nul", text, "wamid.nul"))
    resp = await client.post(
        "/process-message", content=body, headers={"Content-Type": "application/json"}
    )
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "invalid_request"
    assert (await client.get("/conversations/p_nul")).status_code == 404


async def test_state_survives_a_new_app_on_the_same_database(database_url: str) -> None:
    for _ in range(2):
        app = create_app(Settings(DATABASE_URL=database_url, **TRUSTED))
        async with serving(app) as c:
            await c.post("/process-message", json=turn("p_6", "Hello!"))
    view_app = create_app(Settings(DATABASE_URL=database_url, **TRUSTED))
    async with serving(view_app) as c:
        assert (await c.get("/conversations/p_6")).json()["turns"] == 2


async def test_health_endpoints(client: httpx.AsyncClient) -> None:
    health = (await client.get("/health")).json()
    assert health["status"] == "healthy" and health["version"]
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/readyz")).json() == {"status": "ready"}


async def test_readyz_reports_an_unreachable_database(
    create_database: Callable[[str], str],
) -> None:
    url = create_database("agent_down")
    app = create_app(Settings(DATABASE_URL=url))
    async with app.router.lifespan_context(app):
        # A pool that can no longer connect: readiness must say so, not hang or crash.
        gone = make_pool(url)
        await gone.open()
        await gone.close()
        app.dependency_overrides[get_pool] = lambda: gone
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://a") as c:
            resp = await c.get("/readyz")
    assert resp.status_code == 503


def event(pid: str, kind: str, event_id: str) -> dict[str, object]:
    return {
        "participant_id": pid,
        "phone_number": "+15551234567",
        "event_id": event_id,
        "kind": kind,
        "payload": {},
    }


async def intake(client: httpx.AsyncClient, pid: str) -> None:
    answers = ["Hello!", "personalize", "moving more", "energy", "my morning coffee"]
    for answer in [*answers, "after breakfast", "no", "no"]:
        await client.post("/process-message", json=turn(pid, answer))


async def test_daily_prompt_offers_buttons_sets_a_reminder_and_runs_once(
    client: httpx.AsyncClient, delivery: Any
) -> None:
    await intake(client, "p_7")
    now = {"X-PromptPipe-Now": "2030-01-02T07:50:00Z"}
    first = await client.post(
        "/process-event", json=event("p_7", "daily_prompt", "e1"), headers=now
    )
    again = await client.post("/process-event", json=event("p_7", "daily_prompt", "e1"))
    assert first.status_code == 200
    body = first.json()
    assert "after your morning coffee" in body["response"].lower()
    assert body["buttons"] == [
        {"id": "done", "title": "Done"},
        {"id": "next_time", "title": "Next time"},
    ]
    assert again.json() == body
    [reminder] = delivery.events.values()
    assert reminder["kind"] == "reminder" and reminder["delay_seconds"] == 5 * 3600
    view = (await client.get("/conversations/p_7")).json()
    assert view["history"][-1]["content"] == body["response"]
    assert view["history"][-1]["timestamp"].startswith("2030-01-02T07:50:00")
    assert view["profile"]["total_prompts"] == 1


async def test_done_cancels_the_reminder_and_feedback_updates_the_profile(
    client: httpx.AsyncClient, delivery: Any
) -> None:
    await intake(client, "p_9")
    await client.post("/process-event", json=event("p_9", "daily_prompt", "e3"))
    done = (await client.post("/process-message", json=turn("p_9", "Done"))).json()
    assert asks(done["response"], "motivator")
    assert delivery.canceled == list(delivery.events)
    await client.post("/process-message", json=turn("p_9", "I had my shoes ready"))
    profile = (await client.get("/conversations/p_9")).json()["profile"]
    assert profile["success_count"] == 1
    assert profile["last_motivator"] == "I had my shoes ready"
    # The reminder, had it fired anyway, says nothing: the prompt was answered.
    late = await client.post("/process-event", json=event("p_9", "reminder", "e4"))
    assert late.json()["response"] == ""


async def test_ignored_prompt_gets_its_reminder_then_feedback_on_the_barrier(
    client: httpx.AsyncClient,
) -> None:
    await intake(client, "p_10")
    await client.post("/process-event", json=event("p_10", "daily_prompt", "e5"))
    reminder = (await client.post("/process-event", json=event("p_10", "reminder", "e6"))).json()
    assert "checking in" in reminder["response"] and reminder["buttons"]
    await client.post("/process-message", json=turn("p_10", "Next time"))
    tweak = await client.post("/process-message", json=turn("p_10", "I was late for work"))
    assert "tweak for next time" in tweak.json()["response"]
    profile = (await client.get("/conversations/p_10")).json()["profile"]
    assert profile["last_barrier"] == "I was late for work"


async def test_unknown_event_kind_is_refused_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    resp = await client.post("/process-event", json=event("p_8", "solar_eclipse", "e2"))
    assert resp.status_code == 422
    assert resp.json()["error"]["code"] == "unknown_event"
    assert (await client.get("/conversations/p_8")).status_code == 404


async def test_repeated_message_id_runs_no_tool_twice(
    client: httpx.AsyncClient, delivery: Any
) -> None:
    for i, answer in enumerate(["Hello!", "try now"]):
        first = await client.post("/process-message", json=turn("p_11", answer, f"wamid.t{i}"))
    asked = delivery.requests
    again = await client.post("/process-message", json=turn("p_11", "try now", "wamid.t1"))
    assert again.json() == first.json()
    assert delivery.requests == asked  # no second schedule, no second anything
    assert len(delivery.schedules) == 1
    view = (await client.get("/conversations/p_11")).json()
    assert view["turns"] == 2 and view["state"] == "FEEDBACK"


async def test_history_keeps_the_newest_fifty_messages(client: httpx.AsyncClient) -> None:
    for i in range(30):
        await client.post("/process-message", json=turn("p_12", f"message {i}"))
    view = (await client.get("/conversations/p_12")).json()
    assert view["turns"] == 30 and len(view["history"]) == 50
    users = [h["content"] for h in view["history"] if h["role"] == "user"]
    assert users[0] == "message 5" and users[-1] == "message 29"


async def test_conversation_list_gives_each_sub_state_latest_first(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/process-message", json=turn("p_l1", "Hello!"))
    await client.post("/process-message", json=turn("p_l2", "Hello!"))
    await client.post("/process-message", json=turn("p_l2", "Try now"))
    listed = (await client.get("/conversations")).json()["conversations"]
    mine = [c for c in listed if c["participant_id"] in ("p_l1", "p_l2")]
    assert [(c["participant_id"], c["state"], c["turns"]) for c in mine] == [
        ("p_l2", "FEEDBACK", 2),
        ("p_l1", "INTAKE", 1),
    ]
