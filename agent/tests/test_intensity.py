"""The daily intensity check (facts §10.6) through the API: asked a minute after the day's
first prompt, from the third prompt on, at most once a participant-local day (the next day
after a change, three days later otherwise), with reply buttons; a tap or a plain word
moves the intensity one step, clamped, and the next prompt is written at the new size."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from promptpipe_agent.intensity import read_answer
from promptpipe_agent.offline_model import ACTIONS

T0 = datetime.fromisoformat("2030-03-04T18:00:00+00:00")  # London is on UTC in March


class Participant:
    """One participant's turns at chosen times (X-PromptPipe-Now), as delivery sends them."""

    def __init__(self, client: httpx.AsyncClient, delivery: Any, pid: str) -> None:
        self.client, self.delivery, self.pid, self.n = client, delivery, pid, 0

    async def _post(self, path: str, body: dict[str, Any], at: datetime) -> dict[str, Any]:
        headers = {"X-PromptPipe-Now": at.isoformat()}
        resp = await self.client.post(path, json=body, headers=headers)
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    async def say(self, text: str, at: datetime) -> dict[str, Any]:
        self.n += 1
        body = {
            "participant_id": self.pid,
            "phone_number": "+447700900123",
            "message": text,
            "message_id": f"{self.pid}.m{self.n}",
        }
        return await self._post("/process-message", body, at)

    async def due(
        self, kind: str, event_id: str, at: datetime, payload: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        body = {
            "participant_id": self.pid,
            "phone_number": "+447700900123",
            "event_id": event_id,
            "kind": kind,
            "payload": payload or {},
        }
        return await self._post("/process-event", body, at)

    def checks(self) -> list[dict[str, Any]]:
        return [
            e
            for e in self.delivery.events.values()
            if e["kind"] == "intensity_check" and e["participant_id"] == self.pid
        ]

    async def fire_check(self, at: datetime) -> dict[str, Any]:
        check = self.checks()[-1]
        return await self.due("intensity_check", check["id"], at, check["payload"])

    async def profile(self) -> dict[str, Any]:
        return dict((await self.client.get(f"/conversations/{self.pid}")).json()["profile"])


def day(n: int, hhmm: str = "07:20") -> datetime:
    return (T0 + timedelta(days=n)).replace(hour=int(hhmm[:2]), minute=int(hhmm[3:]))


async def ready(client: httpx.AsyncClient, delivery: Any, pid: str) -> Participant:
    """Intake by try now, then two daily prompts answered "Done" (a couple of prompts)."""
    p = Participant(client, delivery, pid)
    await p.say("Hello!", T0)
    await p.say("Try now", T0 + timedelta(minutes=1))
    for n in (1, 2):
        await p.due("daily_prompt", f"{pid}.d{n}", day(n))
        await p.say("Done", day(n, "07:40"))
        await p.say("It was easy", day(n, "07:41"))
    assert not p.checks()  # not before a couple of prompts
    return p


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


def titles(answer: dict[str, Any]) -> list[str]:
    return [b["title"] for b in answer.get("buttons") or []]


async def test_asked_a_minute_after_the_third_prompt_once_a_day(
    client: httpx.AsyncClient, delivery: Any
) -> None:
    p = await ready(client, delivery, "p_i1")
    prompt = await p.due("daily_prompt", "p_i1.d3", day(3))
    assert titles(prompt) == ["Done", "Next time"]
    [check] = p.checks()
    assert check["delay_seconds"] == 60
    assert check["dedupe_key"] == "intensity_check:p_i1.d3"
    assert check["payload"] == {"prompt_event_id": "p_i1.d3"}
    asked = await p.fire_check(day(3, "07:21"))
    assert asked["response"].startswith("How's the intensity?")
    assert titles(asked) == ["Decrease", "Keep current", "Increase"]
    assert all(len(t) <= 20 for t in titles(asked))
    # A repeated fire says nothing; so does a second prompt the same day.
    again = await p.due("intensity_check", "again", day(3, "07:22"), check["payload"])
    assert again["response"] == ""
    kept = await p.say("Keep current", day(3, "07:25"))
    assert "keep the one-minute version" in kept["response"]
    await p.due("daily_prompt", "p_i1.d3b", day(3, "18:00"))
    assert len(p.checks()) == 1
    # A size kept is not asked about again for three days.
    for n in (4, 5):
        await p.due("daily_prompt", f"p_i1.d{n}", day(n))
        assert len(p.checks()) == 1
    await p.due("daily_prompt", "p_i1.d6", day(6))
    assert len(p.checks()) == 2


async def test_a_tap_moves_intensity_and_the_next_prompt_changes(
    client: httpx.AsyncClient, delivery: Any
) -> None:
    p = await ready(client, delivery, "p_i2")
    normal = await p.due("daily_prompt", "p_i2.d3", day(3))
    assert size(normal["response"]) == "normal"
    await p.fire_check(day(3, "07:21"))
    tapped = await p.say("Increase", day(3, "07:22"))
    assert "bigger step" in tapped["response"]
    assert (await p.profile())["intensity"] == "high"
    reminder = [e for e in delivery.events.values() if e["kind"] == "reminder"][-1]
    assert reminder["id"] not in delivery.canceled  # the prompt is still unanswered
    bigger = await p.due("daily_prompt", "p_i2.d4", day(4))
    assert size(bigger["response"]) == "high"
    asked = await p.fire_check(day(4, "07:21"))
    assert titles(asked) == ["Decrease", "Keep current"]  # no way up from high
    # Plain words, right after the question: "less" twice goes down to low, clamped.
    assert "one-minute" in (await p.say("less", day(4, "07:22")))["response"]
    await p.due("daily_prompt", "p_i2.d5", day(5))
    await p.fire_check(day(5, "07:21"))
    await p.say("a bit lower please", day(5, "07:22"))
    await p.due("daily_prompt", "p_i2.d6", day(6))
    asked = await p.fire_check(day(6, "07:21"))
    assert titles(asked) == ["Keep current", "Increase"]
    smaller = await p.due("daily_prompt", "p_i2.d7", day(7))
    assert size(smaller["response"]) == "low"
    assert (await p.profile())["intensity"] == "low"


async def test_words_count_only_as_the_reply_to_the_question(
    client: httpx.AsyncClient, delivery: Any
) -> None:
    p = await ready(client, delivery, "p_i3")
    await p.due("daily_prompt", "p_i3.d3", day(3))
    await p.fire_check(day(3, "07:21"))
    await p.say("Done", day(3, "07:30"))  # answers the prompt: the coach asks what helped
    helped = await p.say("more sleep", day(3, "07:31"))  # an answer to that, not to intensity
    assert "intensity" not in helped["response"].lower()
    profile = await p.profile()
    assert profile["intensity"] == "normal" and profile["last_motivator"] == "more sleep"
    tapped = await p.say("Decrease", day(3, "07:40"))  # the button still works
    assert "30-second" in tapped["response"]
    assert (await p.profile())["intensity"] == "low"


async def test_not_asked_once_answered_nor_after_a_silent_day(
    client: httpx.AsyncClient, delivery: Any
) -> None:
    p = await ready(client, delivery, "p_i4")
    await p.due("daily_prompt", "p_i4.d3", day(3))
    check = p.checks()[-1]
    await p.say("Done", day(3, "07:20"))  # within the minute: the coach is mid-exchange
    assert check["id"] in delivery.canceled
    late = await p.fire_check(day(3, "07:21"))
    assert late["response"] == ""
    # Silent since: the next prompts come a day and more after the last message, when
    # WhatsApp would refuse the question.
    await p.due("daily_prompt", "p_i4.d5", day(5))
    silent = await p.fire_check(day(5, "07:21"))
    assert silent["response"] == ""


def test_how_answers_are_read() -> None:
    assert read_answer("Increase", question_was_last=False) == 1  # a tap, any time
    assert read_answer("keep current", question_was_last=False) == 0
    assert read_answer("more", question_was_last=False) is None  # words: only right after
    assert read_answer("more please", question_was_last=True) == 1
    assert read_answer("a bit lower", question_was_last=True) == -1
    assert read_answer("keep it lower", question_was_last=True) == -1
    assert read_answer("too easy", question_was_last=True) == 1
    assert read_answer("it's fine", question_was_last=True) == 0
    assert read_answer("not sure", question_was_last=True) is None
    assert read_answer("more or less", question_was_last=True) is None  # both ways
    long = "I did more squats than usual today and it felt fine"
    assert read_answer(long, question_was_last=True) is None
