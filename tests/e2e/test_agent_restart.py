"""The agent killed in the middle of an intake: delivery keeps the participant's message
until the agent is back, and the conversation goes on where it was (state, profile and
history live in Postgres), ending with the daily schedule at delivery."""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from promptpipe_agent.offline_model import QUESTIONS
from stack_api import agent_conversation, chat, enroll, outbound, send, unique_phone

pytestmark = pytest.mark.e2e


def test_a_killed_agent_picks_the_conversation_up_where_it_was(
    make_stack: Callable[..., Any], http: httpx.Client, wait_for: Callable[..., Any]
) -> None:
    stack = make_stack(PYTHON_AGENT_RETRY_COUNT="40")  # delivery waits the restart out
    phone = unique_phone()
    pid = enroll(http, stack, phone)["id"]

    def replies() -> list[dict]:
        return outbound(chat(http, stack, phone))

    def say(text: str) -> dict:
        count = len(replies())
        send(http, stack, phone, text)
        return wait_for(lambda: replies()[count:], timeout=90, what=f"the reply to {text!r}")[0]

    for text in ["Hello!", "personalize", "moving more"]:
        say(text)
    stack.stop_service("agent", sig=signal.SIGKILL)
    count = len(replies())
    send(http, stack, phone, "more energy")  # nobody to answer it yet
    stack.start_service("agent")
    stack.wait_ready("agent")
    answer = wait_for(lambda: replies()[count:], timeout=90, what="the answer after the restart")[0]
    assert any(q in answer["text"] for q in QUESTIONS["prompt_anchor"])  # the next question
    for text in ["my morning coffee", "7:30am", "no"]:
        say(text)
    plan = say("no")
    assert "07:20" in plan["text"]
    delivery = stack.url("delivery")
    [schedule] = http.get(f"{delivery}/conversation/participants/{pid}/schedules").json()["result"]
    assert schedule["local_time"] == "07:20"
    conversation = agent_conversation(http, stack, pid)
    assert conversation["state"] == "FEEDBACK"
    assert conversation["profile"]["motivational_frame"] == "more energy"
    assert conversation["turns"] == 8 and len(conversation["history"]) == 16
