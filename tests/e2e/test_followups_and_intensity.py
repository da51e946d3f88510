"""The coach's timers through the whole stack (delivery's jobs and dev clock, the mock's
phones): the check-in after an unanswered try-now prompt, canceled by a reply; the intensity
question at the end of the feedback on a daily prompt, answered by tapping a reply button,
which changes the next prompt."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from promptpipe_agent.offline_model import ACTIONS
from stack_api import agent_conversation, chat, enroll, outbound, send, unique_phone

pytestmark = pytest.mark.e2e


class Phone:
    """One participant's phone on a stack, and what delivery and the agent know of them."""

    def __init__(self, http: httpx.Client, stack: Any, wait_for: Callable[..., Any]) -> None:
        self.http, self.stack, self.wait_for = http, stack, wait_for
        self.number = unique_phone()
        self.pid = enroll(http, stack, self.number)["id"]

    def replies(self) -> list[dict]:
        return outbound(chat(self.http, self.stack, self.number))

    def say(self, text: str) -> dict:
        count = len(self.replies())
        send(self.http, self.stack, self.number, text)
        return dict(self.wait_for(lambda: self.replies()[count:], what=f"the reply to {text!r}")[0])

    def tap(self, message: dict, title: str) -> dict:
        [button] = [b for b in message["interactive"]["buttons"] if b["title"] == title]
        count = len(self.replies())
        tap = {"type": "interactive", "button_reply": button, "context_id": message["id"]}
        url = f"{self.stack.url('mock_whatsapp')}/_mock/phones/{self.number}/messages"
        assert self.http.post(url, json=tap).status_code == 201
        return dict(self.wait_for(lambda: self.replies()[count:], what=f"the reply to {title}")[0])

    def jobs(self) -> list[str]:
        url = f"{self.stack.url('delivery')}/conversation/participants/{self.pid}/jobs"
        return sorted(j["kind"] for j in self.http.get(url).json()["result"])

    def advance(self, by: str) -> None:
        moved = self.http.post(f"{self.stack.url('delivery')}/dev/clock", json={"advance": by})
        assert moved.status_code == 200, moved.text

    def profile(self) -> dict:
        return dict(agent_conversation(self.http, self.stack, self.pid)["profile"])


def size(prompt: str) -> str:
    """Which intensity the offline writer's action in this prompt has."""
    found = {
        level
        for _, ideas in ACTIONS
        for idea in ideas
        for level, action in zip(("low", "normal", "high"), idea, strict=True)
        if action in prompt
    }
    assert len(found) == 1, prompt
    return found.pop()


def test_an_unanswered_try_now_prompt_gets_a_check_in_and_a_reply_cancels_the_next(
    clock_stack: Any, http: httpx.Client, wait_for: Callable[..., Any]
) -> None:
    phone = Phone(http, clock_stack, wait_for)
    phone.say("Hi!")
    started = phone.say("Try now")
    assert "take 50 steps" in started["text"]
    assert phone.jobs() == ["daily_prompt", "feedback_timeout"]

    count = len(phone.replies())
    phone.advance("16m")
    [asked] = wait_for(lambda: phone.replies()[count:], what="the check-in")
    assert "habit suggestion work" in asked["text"]
    assert [b["title"] for b in asked["interactive"]["buttons"]] == ["Done", "Next time"]
    assert phone.jobs() == ["daily_prompt", "feedback_followup"]

    praise = phone.tap(asked, "Done")
    assert "?" in praise["text"]
    assert phone.jobs() == ["daily_prompt"]  # the last check-in is canceled
    assert phone.profile()["success_count"] == 1


def test_the_intensity_check_is_tapped_and_the_next_prompt_is_bigger(
    make_stack: Callable[..., Any], http: httpx.Client, wait_for: Callable[..., Any]
) -> None:
    # From the first prompt here, so the test needs one day, not three.
    stack = make_stack(AGENT_INTENSITY_FROM_PROMPT="1")
    phone = Phone(http, stack, wait_for)
    for answer in ["Hello!", "personalize", "moving more", "more energy", "my morning coffee"]:
        phone.say(answer)
    phone.say("7:30am")
    phone.say("No, that's all")
    assert "07:20" in phone.say("no")["text"]  # starts with tomorrow's prompt

    # The prompt comes; the participant taps Done and says what helped: the coach's reply
    # to that ends the exchange with the intensity question and its buttons (they have
    # just written, so WhatsApp's 24-hour window is open).
    delivery = stack.url("delivery")
    [schedule] = http.get(f"{delivery}/conversation/participants/{phone.pid}/schedules").json()[
        "result"
    ]
    due = datetime.fromisoformat(schedule["next_run_at"].replace("Z", "+00:00"))
    now = datetime.fromisoformat(http.get(f"{delivery}/dev/clock").json()["now"])
    count = len(phone.replies())
    phone.advance(f"{int((due - now).total_seconds()) + 30}s")
    prompt = wait_for(lambda: phone.replies()[count:], what="the daily prompt")[0]
    assert size(prompt["text"]) == "normal"
    assert "intensity" not in phone.jobs()
    helped = phone.tap(prompt, "Done")
    assert helped["text"].endswith("?") and "intensity" not in helped["text"]
    closed = phone.say("Having my shoes by the door")
    assert closed["text"].endswith("Tap to make it easier or a bit bigger, or keep it as it is.")
    assert "How's the intensity?" in closed["text"]
    titles = [b["title"] for b in closed["interactive"]["buttons"]]
    assert titles == ["Decrease", "Keep current", "Increase"]

    answer = phone.tap(closed, "Increase")
    assert "bigger step" in answer["text"]
    assert phone.profile()["intensity"] == "high"

    # The next day's prompt is the bigger step.
    count = len(phone.replies())
    phone.advance("24h")
    bigger = wait_for(lambda: phone.replies()[count:], what="the next prompt")[0]
    assert size(bigger["text"]) == "high"
