"""The intensity check (facts §10.6) through the API: it ends the participant's feedback
exchange about the day's prompt (they have just written, so WhatsApp's 24-hour window is
open), from the third prompt on, at most once a participant-local day (the next day after
a change, three days later otherwise), with reply buttons; a tap or a plain word moves the
intensity one step, clamped, and the next prompt is written at the new size."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import httpx

from promptpipe_agent.intensity import closes_exchange, due, question, read_answer
from promptpipe_agent.offline_model import ACTIONS

T0 = datetime.fromisoformat("2030-03-04T18:00:00+00:00")  # London is on UTC in March
ALL = ["Decrease", "Keep current", "Increase"]


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

    async def profile(self) -> dict[str, Any]:
        return dict((await self.client.get(f"/conversations/{self.pid}")).json()["profile"])

    async def feedback(self, n: int, tap: str = "Done", answer: str = "It was easy") -> Any:
        """Day n's prompt, the tap, and the answer to what helped / what got in the way:
        the coach's reply to that closes the exchange."""
        await self.due("daily_prompt", f"{self.pid}.d{n}", day(n))
        follow_up = await self.say(tap, day(n, "07:40"))
        assert follow_up["response"].endswith("?") and not follow_up.get("buttons")
        return await self.say(answer, day(n, "07:41"))


def day(n: int, hhmm: str = "07:20") -> datetime:
    return (T0 + timedelta(days=n)).replace(hour=int(hhmm[:2]), minute=int(hhmm[3:]))


async def ready(client: httpx.AsyncClient, delivery: Any, pid: str) -> Participant:
    """Intake by try now, then two daily prompts answered "Done" (a couple of prompts)."""
    p = Participant(client, delivery, pid)
    await p.say("Hello!", T0)
    await p.say("Try now", T0 + timedelta(minutes=1))
    for n in (1, 2):
        closed = await p.feedback(n)
        assert "intensity" not in closed["response"]  # not before a couple of prompts
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


def asked(answer: dict[str, Any], level: str = "normal") -> bool:
    """The reply ends with the question and carries its buttons."""
    return answer["response"].endswith(question(level)) and bool(titles(answer))


async def test_asked_at_the_end_of_the_third_days_exchange_once_a_day(
    client: httpx.AsyncClient, delivery: Any
) -> None:
    p = await ready(client, delivery, "p_i1")
    closed = await p.feedback(3)
    assert closed["response"].startswith(("Thanks, I'll remember that.", "Good to know"))
    assert asked(closed) and titles(closed) == ALL
    assert all(len(t) <= 20 for t in titles(closed))
    assert not [e for e in delivery.events.values() if e["kind"] == "intensity_check"]
    kept = await p.say("Keep current", day(3, "07:45"))
    assert "keep the one-minute version" in kept["response"]
    # A second prompt the same day: its exchange ends without the question.
    await p.due("daily_prompt", "p_i1.d3b", day(3, "18:00"))
    await p.say("Next time", day(3, "18:10"))
    assert not asked(await p.say("too tired", day(3, "18:11")))
    # A size kept is not asked about again for three days.
    for n in (4, 5):
        assert not asked(await p.feedback(n))
    assert asked(await p.feedback(6))


async def test_a_tap_moves_intensity_and_the_next_prompt_changes(
    client: httpx.AsyncClient, delivery: Any
) -> None:
    p = await ready(client, delivery, "p_i2")
    assert asked(await p.feedback(3))
    tapped = await p.say("Increase", day(3, "07:42"))
    assert "bigger step" in tapped["response"] and not tapped.get("buttons")
    assert (await p.profile())["intensity"] == "high"
    bigger = await p.due("daily_prompt", "p_i2.d4", day(4))
    assert size(bigger["response"]) == "high"
    await p.say("Next time", day(4, "07:40"))
    closed = await p.say("too busy", day(4, "07:41"))  # what got in the way: a tweak
    assert "tweak" in closed["response"] and asked(closed, "high")
    assert titles(closed) == ["Decrease", "Keep current"]  # no way up from high
    # Plain words, right after the question: "less" twice goes down to low, clamped.
    assert "one-minute" in (await p.say("less", day(4, "07:42")))["response"]
    assert asked(await p.feedback(5))
    await p.say("a bit lower please", day(5, "07:42"))
    closed = await p.feedback(6)
    assert asked(closed, "low") and titles(closed) == ["Keep current", "Increase"]
    smaller = await p.due("daily_prompt", "p_i2.d7", day(7))
    assert size(smaller["response"]) == "low"
    assert (await p.profile())["intensity"] == "low"


async def test_words_count_only_as_the_reply_to_the_question(
    client: httpx.AsyncClient, delivery: Any
) -> None:
    p = await ready(client, delivery, "p_i3")
    closed = await p.feedback(3, answer="more sleep")  # what helped, not intensity
    assert asked(closed)
    profile = await p.profile()
    assert profile["intensity"] == "normal" and profile["last_motivator"] == "more sleep"
    chat = await p.say("thanks!", day(3, "07:50"))
    assert "intensity" not in chat["response"]  # asked once today
    await p.say("more", day(3, "07:51"))  # no longer right after the question
    assert (await p.profile())["intensity"] == "normal"
    tapped = await p.say("Decrease", day(3, "08:00"))  # the button still works
    assert "30-second" in tapped["response"]
    assert (await p.profile())["intensity"] == "low"


async def test_not_asked_without_an_answer_to_the_prompt(
    client: httpx.AsyncClient, delivery: Any
) -> None:
    p = await ready(client, delivery, "p_i4")
    await p.due("daily_prompt", "p_i4.d3", day(3))
    reminder = await p.due("reminder", "p_i4.r3", day(3, "12:20"))
    assert titles(reminder) == ["Done", "Next time"]
    hello = await p.say("hi there", day(3, "12:30"))  # not an answer: no exchange to end
    assert not asked(hello)
    # The reminder's buttons start the exchange.
    await p.say("Done", day(3, "13:00"))
    assert asked(await p.say("it was quick", day(3, "13:01")))


async def test_an_intensity_check_event_left_from_before_says_nothing(
    client: httpx.AsyncClient, delivery: Any
) -> None:
    """The check once came as its own event; ones still scheduled are accepted silently."""
    p = await ready(client, delivery, "p_i5")
    await p.due("daily_prompt", "p_i5.d3", day(3))
    before = await p.profile()
    old = await p.due("intensity_check", "old", day(3, "07:21"), {"prompt_event_id": "p_i5.d3"})
    assert old["response"] == "" and not old.get("buttons")
    assert await p.profile() == before
    assert not asked(await p.say("Done", day(3, "07:30")))


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


def test_when_it_is_due_and_what_closes_an_exchange() -> None:
    today = date(2030, 3, 7)
    assert due(3, 3, today, None) and due(5, 3, today, "2030-03-07")
    assert not due(2, 3, today, None)  # a couple of prompts first
    assert not due(5, 3, today, "2030-03-08")  # quiet days
    assert closes_exchange("Thanks for telling me. A small tweak for next time: x.")
    assert not closes_exchange("Great work! What helped you make it happen?")
    assert not closes_exchange("Great work! What helped you make it happen?  ")
    assert not closes_exchange("")
