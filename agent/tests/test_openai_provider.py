"""LLM_PROVIDER=openai over real HTTP against a scripted OpenAI-compatible server: the same
graph and tools, the model's tool calls really run; failures become a clean 503."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from caller import TRUSTED, serving
from fake_openai import Failure, FakeOpenAI, Running, message, tool_calls

from promptpipe_agent.graph import ROUNDS_EXHAUSTED
from promptpipe_agent.main import create_app
from promptpipe_agent.settings import Settings

NOW = {"X-PromptPipe-Now": "2030-01-02T09:00:00Z"}
PROMPT = "When your phone buzzes, stand up and take 50 steps. Doable?"
FINAL = "Let's try it now: when your phone buzzes, stand up and take 50 steps. Daily nudge set!"

# The try-now turn as a real model would play it: three tools, then the prompt, then the
# writer's line (the tool asks the same model), then the reply.
TRY_NOW = [
    tool_calls(
        (
            "save_user_profile",
            {
                "habit_domain": "physical activity",
                "prompt_anchor": "when my phone buzzes",
                "preferred_time": "11:15",
            },
        ),
        ("scheduler", {"action": "create", "type": "fixed", "fixed_time": "11:15"}),
        ("transition_state", {"target_state": "FEEDBACK"}),
    ),
    tool_calls(("generate_habit_prompt", {"delivery_mode": "immediate"})),
    message(PROMPT),
    message(FINAL),
]


def body(pid: str, text: str, message_id: str | None = None) -> dict[str, str]:
    b = {"participant_id": pid, "message": text, "phone_number": "+15551234567"}
    if message_id:
        b["message_id"] = message_id
    return b


@pytest.fixture
def openai_app(database_url: str, delivery: Any) -> Callable[..., Any]:
    """An agent app on LLM_PROVIDER=openai with extra settings, as an async client."""

    @asynccontextmanager
    async def make(**settings: Any) -> AsyncIterator[httpx.AsyncClient]:
        config = Settings(
            DATABASE_URL=database_url,
            LLM_PROVIDER="openai",
            OPENAI_MODEL="fake-model",
            OPENAI_API_KEY="sk-test-key",
            LLM_MAX_RETRIES=0,
            **TRUSTED,
            **settings,
        )
        app = create_app(config, delivery_transport=httpx.MockTransport(delivery.handle))
        async with serving(app) as c:
            yield c

    return make


async def test_a_turn_with_tool_calls_over_real_http(
    openai_app: Callable[..., Any], delivery: Any
) -> None:
    fake = FakeOpenAI(script=list(TRY_NOW))
    with Running(fake):
        async with openai_app(OPENAI_BASE_URL=fake.base_url) as client:
            resp = await client.post("/process-message", json=body("p_o1", "Try now"), headers=NOW)
            view = (await client.get("/conversations/p_o1")).json()
    assert resp.status_code == 200, resp.text
    assert view["state"] == "FEEDBACK"
    assert view["profile"]["prompt_anchor"] == "when my phone buzzes"
    assert [(s["kind"], s["local_time"]) for s in delivery.schedules] == [("daily_prompt", "11:05")]
    first = fake.requests[0]
    assert first["model"] == "fake-model"
    assert {t["function"]["name"] for t in first["tools"]} == {
        "save_user_profile",
        "scheduler",
        "generate_habit_prompt",
        "transition_state",
        "adjust_intensity",
        "pause_coaching",
    }
    assert first["messages"][1]["content"].startswith("Conversation context (JSON):")
    assert fake.headers[0]["authorization"] == "Bearer sk-test-key"
    # The writer call carries no tools; the tool results went back to the model.
    writer = fake.requests[2]
    assert "tools" not in writer and writer["messages"][0]["content"].startswith("You write")
    tool_results = [m for m in fake.requests[3]["messages"] if m["role"] == "tool"]
    assert tool_results[-1]["content"] == PROMPT


async def test_the_same_turn_end_to_end_reply(openai_app: Callable[..., Any]) -> None:
    fake = FakeOpenAI(script=[message("Hello! I'm your habit coach. Try now or personalize?")])
    fake.script += TRY_NOW
    with Running(fake):
        async with openai_app(OPENAI_BASE_URL=fake.base_url) as client:
            hello = await client.post("/process-message", json=body("p_o2", "Hi"), headers=NOW)
            start = await client.post(
                "/process-message", json=body("p_o2", "Try now", "wamid.o2"), headers=NOW
            )
            again = await client.post(
                "/process-message", json=body("p_o2", "Try now", "wamid.o2"), headers=NOW
            )
            view = (await client.get("/conversations/p_o2")).json()
    assert hello.json()["state"] == "INTAKE" and "habit coach" in hello.json()["response"]
    assert start.json()["response"] == FINAL and start.json()["state"] == "FEEDBACK"
    assert again.json() == start.json()
    assert len(fake.requests) == 5  # the repeat asked the model nothing
    calls = view["last_turn"]["tool_calls"]
    assert [c["name"] for c in calls] == [
        "save_user_profile",
        "scheduler",
        "transition_state",
        "generate_habit_prompt",
    ]
    assert calls[3]["result"] == PROMPT
    assert view["last_turn"]["model"] == "fake-model"
    assert view["history"][-1]["content"] == FINAL


@pytest.mark.parametrize(
    "failure",
    [
        Failure(status=500),
        Failure(status=429),
        Failure(status=200, stall_seconds=1.0),  # slower than LLM_TIMEOUT_SECONDS
        message(None),  # neither text nor tool calls
    ],
    ids=["5xx", "429", "timeout", "empty answer"],
)
async def test_model_failures_answer_503_without_leaking_and_change_nothing(
    openai_app: Callable[..., Any], failure: Any
) -> None:
    fake = FakeOpenAI(script=[failure])
    with Running(fake):
        async with openai_app(OPENAI_BASE_URL=fake.base_url, LLM_TIMEOUT_SECONDS=0.3) as client:
            resp = await client.post("/process-message", json=body("p_o3", "Hi"), headers=NOW)
            view = await client.get("/conversations/p_o3")
    assert resp.status_code == 503
    assert resp.json() == {
        "error": {
            "code": "llm_unavailable",
            "message": "The coach's language model is not answering."
            if not isinstance(failure, dict)
            else "The coach's language model gave an unusable answer.",
        }
    }
    assert "scripted" not in resp.text
    # The turn rolled back: nothing of it was kept, so delivery's retry starts clean.
    assert view.status_code == 404


async def test_unreachable_endpoint_is_a_503(openai_app: Callable[..., Any]) -> None:
    async with openai_app(OPENAI_BASE_URL="http://127.0.0.1:9/v1", LLM_TIMEOUT_SECONDS=1) as c:
        resp = await c.post("/process-message", json=body("p_o4", "Hi"), headers=NOW)
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "llm_unavailable"


async def test_a_round_runs_its_tools_in_the_models_order(openai_app: Callable[..., Any]) -> None:
    fake = FakeOpenAI(
        script=[
            tool_calls(
                ("save_user_profile", {"prompt_anchor": "after lunch", "preferred_time": "12:30"}),
                ("generate_habit_prompt", {"delivery_mode": "immediate"}),
            ),
            message("After lunch, walk to the window and back. Doable?"),
            message("Here's your habit: after lunch, walk to the window and back."),
        ]
    )
    with Running(fake):
        async with openai_app(OPENAI_BASE_URL=fake.base_url) as client:
            await client.post("/process-message", json=body("p_o5", "after lunch, 12:30"))
            view = (await client.get("/conversations/p_o5")).json()
    # The prompt was written after the profile it needs was saved, in the same round.
    assert "after lunch" in fake.requests[1]["messages"][1]["content"]
    [_, written] = view["last_turn"]["tool_calls"]
    assert written["result"] == "After lunch, walk to the window and back. Doable?"


async def test_a_failing_writer_during_a_daily_prompt_is_a_503(
    openai_app: Callable[..., Any], delivery: Any
) -> None:
    fake = FakeOpenAI(script=[*TRY_NOW, Failure(status=502)])
    event = {
        "participant_id": "p_o6",
        "phone_number": "+15551234567",
        "event_id": "job_1@2030-01-03T11:05:00Z",
        "kind": "daily_prompt",
        "payload": {},
    }
    with Running(fake):
        async with openai_app(OPENAI_BASE_URL=fake.base_url) as client:
            await client.post("/process-message", json=body("p_o6", "Try now"), headers=NOW)
            resp = await client.post("/process-event", json=event, headers=NOW)
            view = (await client.get("/conversations/p_o6")).json()
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "llm_unavailable"
    assert "total_prompts" not in view["profile"]  # rolled back; delivery will retry
    # No reminder: only the try-now prompt's feedback timer was asked for.
    assert [e["kind"] for e in delivery.events.values()] == ["feedback_timeout"]


async def test_unknown_tools_are_told_and_rounds_are_bounded(
    openai_app: Callable[..., Any],
) -> None:
    fake = FakeOpenAI(
        script=[
            tool_calls(("book_a_flight", {"to": "Lisbon"})),
            tool_calls(("scheduler", {"action": "list"})),
            tool_calls(("scheduler", {"action": "list"})),
        ]
    )
    with Running(fake):
        async with openai_app(OPENAI_BASE_URL=fake.base_url, AGENT_MAX_TOOL_ROUNDS=2) as client:
            resp = await client.post("/process-message", json=body("p_o7", "hi"), headers=NOW)
            view = (await client.get("/conversations/p_o7")).json()
    assert resp.status_code == 200
    assert resp.json()["response"] == ROUNDS_EXHAUSTED
    assert len(fake.requests) == 2  # the third round was never asked for
    told = [m for m in fake.requests[1]["messages"] if m["role"] == "tool"]
    assert "book_a_flight is not a valid tool" in told[0]["content"]
    assert [c["name"] for c in view["last_turn"]["tool_calls"]] == ["book_a_flight", "scheduler"]


async def test_thinking_never_reaches_the_participant(openai_app: Callable[..., Any]) -> None:
    wrapped = (
        '{"thinking": "They seem tired; keep it short.", "content": "Hi! I am your habit coach."}'
    )
    fake = FakeOpenAI(script=[message(wrapped)])
    with Running(fake):
        async with openai_app(OPENAI_BASE_URL=fake.base_url) as client:
            resp = await client.post("/process-message", json=body("p_o8", "hi"), headers=NOW)
    assert resp.json()["response"] == "Hi! I am your habit coach."


async def test_the_writer_is_told_the_intensity_a_tap_chose(
    openai_app: Callable[..., Any], delivery: Any
) -> None:
    closing = "Well done, see you tomorrow!"  # no follow-up question: the exchange ends here
    fake = FakeOpenAI(script=[*TRY_NOW, message(PROMPT), message(closing), message(PROMPT)])

    def event(kind: str, event_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {
            "participant_id": "p_o9",
            "phone_number": "+15551234567",
            "event_id": event_id,
            "kind": kind,
            "payload": payload,
        }

    day2 = {"X-PromptPipe-Now": "2030-01-03T08:00:00Z"}
    with Running(fake):
        async with openai_app(OPENAI_BASE_URL=fake.base_url, AGENT_INTENSITY_FROM_PROMPT=1) as c:
            await c.post("/process-message", json=body("p_o9", "Try now"), headers=NOW)
            await c.post("/process-event", json=event("daily_prompt", "d1", {}), headers=day2)
            asked = await c.post("/process-message", json=body("p_o9", "Done"), headers=day2)
            # The server adds the question to whatever the model closed the exchange with.
            assert asked.json()["response"].startswith(closing)
            assert "How's the intensity?" in asked.json()["response"]
            assert [b["title"] for b in asked.json()["buttons"]] == [
                "Decrease",
                "Keep current",
                "Increase",
            ]
            calls = len(fake.requests)
            tapped = await c.post("/process-message", json=body("p_o9", "Increase"), headers=day2)
            assert len(fake.requests) == calls  # answered without the model
            assert "bigger step" in tapped.json()["response"]
            day3 = {"X-PromptPipe-Now": "2030-01-04T08:00:00Z"}
            await c.post("/process-event", json=event("daily_prompt", "d2", {}), headers=day3)
    normal, high = fake.requests[-2], fake.requests[-1]
    assert '"intensity": "normal"' in normal["messages"][1]["content"]
    assert '"intensity": "high"' in high["messages"][1]["content"]
    assert "slightly bigger step" in high["messages"][0]["content"]
