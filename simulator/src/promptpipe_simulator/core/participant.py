"""Simulated participants as Locust users: each enrolls a Faker persona at delivery, then
talks as that participant through mock_whatsapp's phones, waiting for the coach's reply
before its next message, as a person would.

Every reply is a Locust request of type `reply` named by the step it answers ("hello",
"personalize", "small talk", "tap Done"...), timed by the mock's own timestamps of the
message and its reply (see `replies.py`); a reply that does not come within the wait, or
comes twice, is a failure. delivery's fallback when the agent cannot be reached is a reply
too, but of type `fallback`, so that it is counted apart from the agent's answers. The
HTTP calls themselves (`enroll`, `send`) are counted, and their failures reported, but not
timed: every time in Locust's tables and charts (its web UI's response-time chart
included) is then a reply latency.

What a participant does, by weights of `Mix`:
- the intake, by personalize (eight answers) or by try now (two);
- a share falls silent during the intake, before anything is scheduled for them;
- then in FEEDBACK: small talk, or the day's prompt (sent when the clock controller moves
  the stack's clock) answered with its buttons and the coach's follow-up question;
  a reply that offers buttons is answered with a tap first.

Importing this module imports Locust, which patches the standard library for gevent:
only Locust processes (`locustfile.py`) import it, never the TUI or the rest of `core`.
"""

from __future__ import annotations

import random
import time
from typing import Any, ClassVar, cast

from locust import FastHttpUser, TaskSet, task
from locust.exception import StopUser

from promptpipe_simulator.core.load import (
    FOLLOW_UP,
    PERSONALIZE,
    SILENT_BEFORE,
    SMALL_TALK,
    TRY_NOW,
    TRY_NOW_TIME,
    Step,
    far_time,
    timezone_far_from,
)
from promptpipe_simulator.core.load_run import LoadRun, LostReply
from promptpipe_simulator.core.replies import Message, Reply

ENROLL_ATTEMPTS = 5  # phone numbers already taken, in a row, before giving up
IDLE_SECONDS = 1.0  # waiting for the next daily prompt: look again this often
SEND_RETRY_SECONDS = 0.5  # the mock unreachable: the phone tries again this often


class _ParticipantTasks(TaskSet):
    @property
    def participant(self) -> Participant:
        return cast("Participant", self.user)


class Intake(_ParticipantTasks):
    """The intake, one answer per turn, by the path the participant chose."""

    @task
    def answer(self) -> None:
        participant = self.participant
        if participant.answered == participant.falls_silent_after:
            raise StopUser  # silent from here on; the chat so far is still checked
        step, text = participant.intake[participant.answered]
        participant.say(step, text)
        participant.answered += 1
        if participant.answered == len(participant.intake):
            mix = participant.load_run.mix
            if mix.small_talk <= 0 and mix.daily_prompts <= 0:
                raise StopUser  # the intake was all this run asked for
            participant.tasks = [Feedback]
            self.interrupt()


class Feedback(_ParticipantTasks):
    """Life in FEEDBACK: small talk, and the daily prompts answered with their buttons."""

    def get_next_task(self) -> Any:
        participant = self.participant
        if participant.asked is not None:
            return Feedback.answer_buttons  # the coach asked with buttons: answer that
        mix = participant.load_run.mix
        return participant.rng.choices(
            [Feedback.small_talk, Feedback.daily_prompt], [mix.small_talk, mix.daily_prompts]
        )[0]

    def answer_buttons(self) -> None:
        participant = self.participant
        asked, participant.asked = participant.asked, None
        if asked is not None:
            participant.tap(asked)

    def small_talk(self) -> None:
        participant = self.participant
        participant.say("small talk", participant.rng.choice(SMALL_TALK))

    def daily_prompt(self) -> None:
        """Answer the newest message the coach sent of its own accord with one of its
        buttons, then the question that follows; nothing yet: wait for tomorrow's."""
        participant = self.participant
        inbox = participant.load_run.book.unsolicited(participant.phone)
        prompts = [m for m in inbox if _buttons(m)]
        if not prompts:
            time.sleep(IDLE_SECONDS)
            return
        reply = participant.tap(prompts[-1])
        if reply is not None and not reply.buttons and reply.message.get("text", "").endswith("?"):
            participant.say("prompt follow-up", participant.rng.choice(FOLLOW_UP))


class Participant(FastHttpUser):
    """One simulated participant, from enrollment to the end of the run."""

    # The process's share of the run; set by locustfile.py when a test starts.
    current_run: ClassVar[LoadRun | None] = None
    # Every request names its service's full address; Locust wants a host all the same.
    host = "http://127.0.0.1"
    tasks = [Intake]

    def wait_time(self) -> float:
        return self.rng.uniform(0, self.load_run.mix.think)

    def on_start(self) -> None:
        if Participant.current_run is None:
            raise StopUser  # no run in this process (the test was stopped meanwhile)
        self.load_run = Participant.current_run
        self.rng = random.Random()
        self.sent = 0
        self.asked: Message | None = None  # a reply with buttons, answered next
        mix = self.load_run.mix
        path = self.rng.choices(["personalize", "try-now"], [mix.personalize, mix.try_now])[0]
        self.phone = self._enroll(path)
        script = PERSONALIZE if path == "personalize" else TRY_NOW
        self.intake: list[Step] = [
            (step, text.format(time=far_time(self.load_run.now(), self.timezone)))
            for step, text in script
        ]
        self.answered = 0
        self.falls_silent_after = (
            self.rng.randint(1, SILENT_BEFORE[path]) if self.rng.random() < mix.silent else -1
        )

    def say(self, step: str, text: str) -> Reply | None:
        """Write `text` and wait for the coach's reply."""
        return self._send(step, {"text": text})

    def tap(self, message: Message) -> Reply | None:
        """Tap a button of the coach's `message` (the first but one at random, so that
        "Next time" and "Decrease" happen too) and wait for the reply."""
        buttons = _buttons(message)
        button = buttons[0] if self.rng.random() < 0.7 else self.rng.choice(buttons)
        body = {"type": "interactive", "button_reply": button, "context_id": message["id"]}
        return self._send(f"tap {button.get('title', '')}", body)

    def _send(self, step: str, body: dict[str, Any]) -> Reply | None:
        mix = self.load_run.mix
        message = self._post_message(body)
        self.load_run.book.sent(self.phone, message, step)
        self.sent += 1
        reply = self.load_run.book.wait(str(message["id"]), mix.within)
        if reply is None:
            self._report(step, None, LostReply(f"no reply within {mix.within:g}s"))
            raise StopUser  # a person would give up here; the final check counts it
        self._report(step, reply.latency, None, kind="fallback" if reply.fallback else "reply")
        self.asked = reply.message if reply.buttons else None
        if mix.messages and self.sent >= mix.messages:
            raise StopUser
        return reply

    def _post_message(self, body: dict[str, Any]) -> Message:
        """The phone sends `body`. While the mock cannot be reached or fails (it restarts,
        its database restarts), the phone tries again for up to the reply wait, as a phone
        without signal does; those tries are counted as `send retried`, not as sends."""
        url = f"{self.load_run.settings.mock_wa_url}/_mock/phones/{self.phone}/messages"
        deadline = time.monotonic() + self.load_run.mix.within
        while True:
            with self.client.post(url, json=body, name="send", catch_response=True) as resp:
                _untimed(resp)
                if resp.status_code == 201:
                    return cast("Message", resp.json())
                unreachable = resp.status_code == 0 or resp.status_code >= 500
                if not unreachable or time.monotonic() > deadline:
                    resp.failure(f"HTTP {resp.status_code}")
                    raise StopUser  # this chat cannot go on
                resp.request_meta["name"] = "send retried"
                resp.success()
            time.sleep(SEND_RETRY_SECONDS)

    def _report(
        self, step: str, seconds: float | None, error: Exception | None, kind: str = "reply"
    ) -> None:
        self.environment.events.request.fire(
            request_type=kind,
            name=step,
            response_time=None if seconds is None else seconds * 1000,
            response_length=0,
            exception=error,
            context={},
        )

    def _enroll(self, path: str) -> str:
        """Enroll a new persona; returns its phone. A number another process took (409)
        means another persona."""
        settings = self.load_run.settings
        for _ in range(ENROLL_ATTEMPTS):
            persona = self.load_run.personas.make()
            if path == "try-now":  # its starter prompt must not fall due during the run
                persona.timezone = timezone_far_from(self.load_run.now(), TRY_NOW_TIME, self.rng)
            with self.client.post(
                f"{settings.delivery_url}/conversation/participants",
                json=persona.enrollment(),
                headers=self.load_run.delivery_headers,
                name="enroll",
                catch_response=True,
            ) as resp:
                _untimed(resp)
                if resp.status_code == 409:
                    resp.success()
                    continue
                if resp.status_code != 201:
                    resp.failure(f"HTTP {resp.status_code}")
                    raise StopUser
                participant_id = str(resp.json()["result"]["id"])
            self.timezone = persona.timezone
            self.load_run.enrolled_as(persona.phone_number, participant_id)
            return persona.phone_number
        raise StopUser


def _untimed(resp: Any) -> None:
    """Count an HTTP call (and its failure) without timing it, so that every time in
    Locust's statistics and charts is a reply latency, never an HTTP call's."""
    resp.request_meta["response_time"] = None


def _buttons(message: Message) -> list[dict[str, str]]:
    return list((message.get("interactive") or {}).get("buttons") or [])
