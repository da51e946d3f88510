"""The stack on LLM_PROVIDER=openai: a participant's turn goes from the phone through
delivery to the agent, whose model is a scripted OpenAI-compatible server on a free port;
its tool calls create the daily schedule at delivery."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from stack_api import agent_conversation, chat, enroll, outbound, send, unique_phone

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "agent" / "tests"))
from fake_openai import FakeOpenAI, Running, message, tool_calls

pytestmark = pytest.mark.e2e

REPLY = "Let's go! When your phone buzzes, stand up and take 50 steps. Nudge set for 11:05."


def test_a_turn_over_the_openai_compatible_fake(
    make_stack: Callable[..., Any], http: httpx.Client, wait_for: Callable[..., Any]
) -> None:
    fake = FakeOpenAI(
        script=[
            tool_calls(
                (
                    "save_user_profile",
                    {"prompt_anchor": "when my phone buzzes", "preferred_time": "11:15"},
                ),
                ("scheduler", {"action": "create", "type": "fixed", "fixed_time": "11:15"}),
                ("transition_state", {"target_state": "FEEDBACK"}),
            ),
            message(REPLY),
        ]
    )
    with Running(fake):
        stack = make_stack(
            LLM_PROVIDER="openai", OPENAI_BASE_URL=fake.base_url, OPENAI_MODEL="fake-model"
        )
        phone = unique_phone()
        pid = enroll(http, stack, phone)["id"]
        send(http, stack, phone, "Try now")
        [reply] = wait_for(lambda: outbound(chat(http, stack, phone)), what="the reply")
    assert reply["text"] == REPLY
    schedules = http.get(f"{stack.url('delivery')}/conversation/participants/{pid}/schedules")
    [schedule] = schedules.json()["result"]
    assert (schedule["local_time"], schedule["timezone"]) == ("11:05", "Europe/London")
    conversation = agent_conversation(http, stack, pid)
    assert conversation["state"] == "FEEDBACK"
    assert conversation["last_turn"]["model"] == "fake-model"
    assert [c["name"] for c in conversation["last_turn"]["tool_calls"]] == [
        "save_user_profile",
        "scheduler",
        "transition_state",
    ]
    assert fake.requests[0]["messages"][-1] == {"role": "user", "content": "Try now"}
