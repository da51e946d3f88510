"""One table of participant messages, across intake and FEEDBACK (several phrasings per
intent, typos and emoji), each played after the conversation that leads to it: the tools
the turn called and their arguments, the intent the reply answers, and how the reply reads
(no first person pasted into a second-person sentence, no sentence repeated from the
coach's previous message, a length WhatsApp readers are comfortable with). The table runs
twice: on the offline model, and on LLM_PROVIDER=openai against the fake OpenAI-compatible
server playing the same script over real HTTP, so both paths call the same tools."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from caller import TRUSTED, serving
from fake_delivery import FakeDelivery
from fake_openai import FakeOpenAI, Running, offline_coach

from promptpipe_agent.main import create_app
from promptpipe_agent.offline_script import QUESTIONS, sentences
from promptpipe_agent.settings import Settings

START = datetime.fromisoformat("2030-03-04T18:00:00+00:00")  # London is on UTC in March
LONGEST = 480  # characters: about what a phone shows without scrolling

# How the conversation got to the message under test: messages, and ("event", kind).
SETUPS: dict[str, list[str | tuple[str, str]]] = {"new": []}
SETUPS["greeted"] = ["Hi"]
SETUPS["asked_habit"] = [*SETUPS["greeted"], "personalize"]
SETUPS["asked_why"] = [*SETUPS["asked_habit"], "I want to stretch more, my back is stiff"]
SETUPS["asked_anchor"] = [*SETUPS["asked_why"], "so I feel less pain at work"]
SETUPS["asked_time"] = [*SETUPS["asked_anchor"], "after I brush my teeth"]
SETUPS["asked_extra"] = [*SETUPS["asked_time"], "9pm"]
SETUPS["asked_try"] = [*SETUPS["asked_extra"], "no"]
SETUPS["feedback"] = [*SETUPS["asked_try"], "not now"]
SETUPS["prompted"] = [*SETUPS["feedback"], ("event", "daily_prompt")]
SETUPS["asked_barrier"] = [*SETUPS["prompted"], "Next time"]
SETUPS["asked_motivator"] = [*SETUPS["prompted"], "Done"]
SETUPS["asked_new_time"] = [*SETUPS["feedback"], "can we change the time?"]
SETUPS["asked_am_pm"] = [*SETUPS["feedback"], "can you remind me at 7 instead?"]
SETUPS["paused"] = [*SETUPS["feedback"], "pause the nudges please"]


@dataclass
class Case:
    setup: str
    message: str
    tools: list[tuple[str, dict[str, Any]]]  # each call: name, and arguments it includes
    answers: str  # a pattern the reply matches: it answers what was written
    profile: dict[str, Any] = field(default_factory=dict)  # fields the profile then has


def asks(step: str) -> str:
    return "|".join(re.escape(q) for q in QUESTIONS[step])


SAVE, SCHEDULE, MOVE = "save_user_profile", "scheduler", "transition_state"
WRITE, SIZE, PAUSE = "generate_habit_prompt", "adjust_intensity", "pause_coaching"
CREATE = {"action": "create", "type": "fixed"}

CASES: dict[str, Case] = {
    # The first message and the offer -----------------------------------------------------
    "hello": Case("new", "Hello!", [], r"habit coach.*try it"),
    "opens with the habit": Case(
        "new",
        "hey, I want to drink more water",
        [(SAVE, {"habit_domain": "drinking water"})],
        rf"habit coach.*({asks('motivational_frame')})",
    ),
    "try now": Case(
        "greeted",
        "try now",
        [
            (SAVE, {"habit_domain": "physical activity", "preferred_time": "11:15"}),
            (SCHEDULE, {**CREATE, "fixed_time": "11:15"}),
            (MOVE, {"target_state": "FEEDBACK"}),
            (WRITE, {"delivery_mode": "immediate"}),
        ],
        r"Try it now: stand up and take 50 steps.*11:05",
    ),
    "personalise, British": Case("greeted", "personalise pls", [], asks("habit_domain")),
    "no to the starter": Case("greeted", "nah", [], asks("habit_domain")),
    # The habit's area --------------------------------------------------------------------
    "stretch for a stiff back": Case(
        "asked_habit",
        "I want to stretch more, my back is stiff",
        [(SAVE, {"habit_domain": "stretching", "additional_info": "my back is stiff"})],
        r"^Stretching it is.*your back is stiff\.",
    ),
    "moving more": Case(
        "asked_habit", "moving more", [(SAVE, {"habit_domain": "moving more"})], "Moving more"
    ),
    "water, emoji": Case(
        "asked_habit",
        "drink more water 💧",
        [(SAVE, {"habit_domain": "drinking water"})],
        "Drinking water",
    ),
    "eating": Case(
        "asked_habit",
        "eat healthier, less junk",
        [(SAVE, {"habit_domain": "eating better"})],
        "Eating better",
    ),
    "sleep": Case(
        "asked_habit",
        "sleep better pls",
        [(SAVE, {"habit_domain": "sleeping better"})],
        "Sleeping better",
    ),
    "stress": Case(
        "asked_habit",
        "less stress at work",
        [(SAVE, {"habit_domain": "easing stress"})],
        "Easing stress",
    ),
    "reading": Case(
        "asked_habit", "read more books", [(SAVE, {"habit_domain": "reading"})], "Reading"
    ),
    "yoga": Case("asked_habit", "Yoga!", [(SAVE, {"habit_domain": "stretching"})], "Stretching"),
    "walking, typo": Case(
        "asked_habit", "walkng more", [(SAVE, {"habit_domain": "moving more"})], "Moving more"
    ),
    "guitar, their words": Case(
        "asked_habit",
        "practice the guitar",
        [(SAVE, {"habit_domain": "practice the guitar"})],
        "^Practicing the guitar, I like it",
    ),
    "spanish, their words": Case(
        "asked_habit",
        "I'd like to learn Spanish",
        [(SAVE, {"habit_domain": "learn Spanish"})],
        "^Learning Spanish",
    ),
    "for the mind": Case(
        "asked_habit",
        "idk, something for my mind",
        [(SAVE, {"habit_domain": "easing stress"})],
        "Easing stress",
    ),
    "no idea": Case("asked_habit", "idk 🤷", [], r"^No problem\. .*habit"),
    "habit with its reason": Case(
        "asked_habit",
        "drink more water so I get fewer headaches",
        [
            (
                SAVE,
                {
                    "habit_domain": "drinking water",
                    "motivational_frame": "so I get fewer headaches",
                },
            )
        ],
        asks("prompt_anchor"),  # why was said already: the next question is the anchor
    ),
    # Why it matters ----------------------------------------------------------------------
    "a goal with so": Case(
        "asked_why",
        "so I feel less pain at work",
        [(SAVE, {"motivational_frame": "so I feel less pain at work"})],
        "^So that you feel less pain at work",
    ),
    "a wish": Case(
        "asked_why",
        "I want more energy",
        [(SAVE, {"motivational_frame": "I want more energy"})],
        "^For more energy",
    ),
    "to play with the kids": Case(
        "asked_why",
        "to be able to play with my kids",
        [(SAVE, {"motivational_frame": "to be able to play with my kids"})],
        "^To be able to play with your kids",
    ),
    "a problem": Case(
        "asked_why", "because my back hurts", [(SAVE, {})], "makes sense|helps me shape it"
    ),
    "not sure why": Case("asked_why", "not sure", [], r"why|matter"),
    "the doctor, emoji": Case(
        "asked_why",
        "my doctor told me to 😅",
        [(SAVE, {"motivational_frame": "my doctor told me to 😅"})],
        asks("prompt_anchor"),
    ),
    # The moment it follows ---------------------------------------------------------------
    "after brushing teeth": Case(
        "asked_anchor",
        "after I brush my teeth",
        [(SAVE, {"prompt_anchor": "after I brush my teeth"})],
        asks("preferred_time"),
    ),
    "coffee": Case(
        "asked_anchor",
        "morning coffee",
        [(SAVE, {"prompt_anchor": "morning coffee"})],
        asks("preferred_time"),
    ),
    "getting home": Case(
        "asked_anchor",
        "when I get home from work",
        [(SAVE, {"prompt_anchor": "when I get home from work"})],
        asks("preferred_time"),
    ),
    "a time, not a moment": Case(
        "asked_anchor",
        "9pm",
        [(SAVE, {"preferred_time": "21:00"})],
        r"^21:00 for the nudge.*come after",
    ),
    "no anchor": Case("asked_anchor", "dunno", [], "come after|remind you"),
    # The nudge's time --------------------------------------------------------------------
    "9pm": Case("asked_time", "9pm", [(SAVE, {"preferred_time": "21:00"})], "^21:00 it is"),
    "7:30am": Case("asked_time", "7:30am", [(SAVE, {"preferred_time": "07:30"})], "^07:30 it is"),
    "after lunch": Case(
        "asked_time", "after lunch", [(SAVE, {"preferred_time": "12:30"})], "^12:30 it is"
    ),
    "19h15": Case("asked_time", "19h15", [(SAVE, {"preferred_time": "19:15"})], "^19:15 it is"),
    "an hour alone": Case("asked_time", "at 9", [], r"9am or 9pm\?"),
    "no time": Case("asked_time", "whenever", [], "didn't catch a time"),
    # Anything else, and the plan ---------------------------------------------------------
    "nothing else": Case(
        "asked_extra",
        "no",
        [],
        r"^Here's your plan: after you brush your teeth, do eight slow cat-cow stretches on "
        r"your hands and knees, so that you feel less pain at work\. .*right now.*\?$",
    ),
    "a bad knee": Case(
        "asked_extra",
        "I have a bad knee",
        [(SAVE, {"additional_info": "my back is stiff; I have a bad knee"})],
        r"(keep that in mind|Good to know).*reach up tall",  # nothing on the knees
    ),
    "that's all": Case("asked_extra", "nope, that's all 👍", [], "^Here's your plan"),
    # Try now? ----------------------------------------------------------------------------
    "yes, try": Case(
        "asked_try",
        "yes",
        [
            (SCHEDULE, {**CREATE, "fixed_time": "21:00"}),
            (MOVE, {"target_state": "FEEDBACK"}),
            (WRITE, {"delivery_mode": "immediate"}),
        ],
        r"Try it now: do eight slow cat-cow.*after you brush your teeth.*20:50",
    ),
    "lets go": Case(
        "asked_try", "ok let's go!", [(SCHEDULE, {}), (MOVE, {}), (WRITE, {})], "Try it now"
    ),
    "not now": Case(
        "asked_try",
        "not now",
        [(SCHEDULE, {**CREATE, "fixed_time": "21:00"}), (MOVE, {"target_state": "FEEDBACK"})],
        r"first nudge later today\. .*20:50",
    ),
    "maybe later": Case("asked_try", "maybe later", [(SCHEDULE, {}), (MOVE, {})], "first nudge"),
    # FEEDBACK: done ----------------------------------------------------------------------
    "done": Case("prompted", "Done", [], asks("motivator")),
    "did it, emoji": Case("prompted", "did it!! 💪", [], asks("motivator")),
    "done, typo": Case("prompted", "donee", [], asks("motivator")),
    "done, a tick": Case("prompted", "✅", [], asks("motivator")),
    "done and what helped": Case(
        "prompted",
        "done, having the mat out helped",
        [(SAVE, {"last_motivator": "having the mat out helped"})],
        r"remember that|build on that",
    ),
    "what helped": Case(
        "asked_motivator",
        "the mat was already out",
        [(SAVE, {"last_motivator": "the mat was already out"})],
        "remember|build on",
    ),
    "what helped, with did": Case(
        "asked_motivator",
        "I did it while the kettle boiled",
        [(SAVE, {"last_motivator": "I did it while the kettle boiled"})],
        "^(Thanks, I'll remember that|Good to know)",
    ),
    "thanks, not what helped": Case(
        "asked_motivator", "thank you!!", [], "welcome|Anytime|pleasure|Glad"
    ),
    "lol, not what helped": Case("asked_motivator", "lol ok", [], "Ha|smiling"),
    # FEEDBACK: not today -----------------------------------------------------------------
    "next time": Case("prompted", "Next time", [], asks("barrier")),
    "not today": Case("prompted", "not today sorry", [], asks("barrier")),
    "not today, tired": Case(
        "prompted",
        "didnt manage it, too tired",
        [(SAVE, {"last_barrier": "manage it, too tired"})],
        r"tweak for next time: do the easiest possible version after you brush your teeth",
    ),
    "forgot, emoji": Case(
        "prompted",
        "I forgot 🙈",
        [(SAVE, {"last_barrier": "I forgot"})],
        r"tweak for next time: .*sticky note",
    ),
    "what got in the way": Case(
        "asked_barrier",
        "I was rushing to work",
        [(SAVE, {"last_barrier": "I was rushing to work"})],
        r"tweak for next time: shrink it to a 30-second version",
    ),
    "it hurt": Case(
        "asked_barrier", "my back hurt", [(SAVE, {"last_barrier": "my back hurt"})], "gentler"
    ),
    # FEEDBACK: the size ------------------------------------------------------------------
    "easier": Case(
        "feedback",
        "can you make it easier?",
        [(SIZE, {"direction": "easier"})],
        r"30-second version: do three slow cat-cow",
        {"intensity": "low"},
    ),
    "too hard, emoji": Case(
        "feedback", "this is too hard 😩", [(SIZE, {"direction": "easier"})], "30-second"
    ),
    "easier, typo": Case(
        "feedback", "can u make it eaiser", [(SIZE, {"direction": "easier"})], "30-second"
    ),
    "harder": Case(
        "feedback",
        "make it harder pls",
        [(SIZE, {"direction": "harder"})],
        r"bigger step: do cat-cow stretches for two minutes",
        {"intensity": "high"},
    ),
    "too easy": Case("feedback", "too easy tbh", [(SIZE, {"direction": "harder"})], "bigger step"),
    # FEEDBACK: the time ------------------------------------------------------------------
    "move to 8pm": Case(
        "feedback",
        "can you move it to 8pm?",
        [(SAVE, {"preferred_time": "20:00"}), (SCHEDULE, {**CREATE, "fixed_time": "20:00"})],
        r"now comes at 19:50, a few minutes before 20:00",
    ),
    "change the time": Case("feedback", "change the time please", [], asks("new_time")),
    "the new time": Case(
        "asked_new_time",
        "7am",
        [(SAVE, {"preferred_time": "07:00"}), (SCHEDULE, {**CREATE, "fixed_time": "07:00"})],
        "06:50",
    ),
    "7 instead": Case("feedback", "can you remind me at 7 instead?", [], r"7am or 7pm\?"),
    "pm": Case(
        "asked_am_pm",
        "pm",
        [(SAVE, {"preferred_time": "19:00"}), (SCHEDULE, {**CREATE, "fixed_time": "19:00"})],
        "18:50",
    ),
    # FEEDBACK: questions about the habit -------------------------------------------------
    "what if I forget": Case(
        "feedback",
        "what if I forget?",
        [],
        r"sticky note where you'll see it after you brush your teeth",
    ),
    "forget, no question mark": Case(
        "feedback", "what should i do if i forget", [], "If you forget"
    ),
    "how long": Case("feedback", "how long should it take?", [], "a minute"),
    "miss a day": Case("feedback", "is it ok if I miss a day?", [], "Missing a day is fine"),
    "when": Case("feedback", "when is my reminder?", [], "every day at 20:50"),
    "why this": Case("feedback", "why stretches?", [], "^So that you feel less pain at work"),
    "what again": Case(
        "feedback",
        "what do I do again?",
        [],
        r"^Your habit: after you brush your teeth, do eight slow cat-cow",
    ),
    "later": Case("feedback", "can I do it later in the evening?", [], "any time that day counts"),
    "if it hurts": Case("feedback", "should I still do it if it hurts?", [], "^If it hurts, stop"),
    # FEEDBACK: pause and stop ------------------------------------------------------------
    "pause a week": Case(
        "feedback",
        "pause for a week, I'm travelling ✈️",
        [(PAUSE, {"action": "pause", "days": 7})],
        r"paused your daily nudges for a week.*resume",
    ),
    "a break": Case(
        "feedback", "can we take a break?", [(PAUSE, {"action": "pause"})], r"paused.*'resume'"
    ),
    "resume": Case(
        "paused", "resume", [(PAUSE, {"action": "resume"})], r"on again: every day at 20:50"
    ),
    "back": Case("paused", "I'm back!", [(PAUSE, {"action": "resume"})], "on again"),
    "while paused": Case("paused", "ok", [], "pause.*'resume'"),
    "stop": Case("feedback", "STOP", [(PAUSE, {"action": "stop"})], "no more nudges or messages"),
    "stop messaging": Case(
        "feedback", "please stop messaging me", [(PAUSE, {"action": "stop"})], "stopped"
    ),
    "unsubscribe": Case("prompted", "unsubscribe", [(PAUSE, {"action": "stop"})], "stopped"),
    # FEEDBACK: thanks and small talk -----------------------------------------------------
    "thanks": Case("feedback", "thanks", [], "welcome|Anytime|pleasure|Glad"),
    "thank you, emoji": Case(
        "feedback", "thank you so much 🙏", [], "welcome|Anytime|pleasure|Glad"
    ),
    "thx": Case("prompted", "thx", [], "welcome|Anytime|pleasure|Glad"),
    "ok": Case("feedback", "ok", [], "20:50"),
    "lol": Case("feedback", "lol", [], "Ha|smiling"),
    "how are you": Case("feedback", "how are you?", [], "well|good"),
    "hi": Case("feedback", "hi", [], "^(Hi|Hello|Hey)"),
    "a new habit": Case(
        "feedback",
        "I'd like a new habit",
        [(MOVE, {"target_state": "INTAKE"})],
        asks("habit_domain"),
    ),
}

# First person pasted into a sentence that speaks to the participant.
ECHOED = re.compile(
    r"\byou (want|wanna|need|would like|'d like|hope) to\b|\byou (i|me|my|am|was|i'm)\b"
    r"|\byour? my\b|\btowards? you\b|\b(that|towards?|on|about|because|so that) (my|I)\b"
    r"|\bI (want|need|feel|have|sit|brush|get|wanna)\b",
    re.IGNORECASE,
)


def reads_well(reply: str, previous: str) -> list[str]:
    """What is wrong with how the reply reads, if anything."""
    problems = []
    unquoted = re.sub(r"“[^”]*”|\"[^\"]*\"|(?<!\w)'[^']+'(?!\w)", "", reply)
    if ECHOED.search(unquoted):
        problems.append(f"first person echoed: {ECHOED.search(unquoted)}")
    repeated = set(sentences(reply)) & set(sentences(previous))
    if repeated:
        problems.append(f"repeats {repeated}")
    if not 2 <= len(reply) <= LONGEST:
        problems.append(f"{len(reply)} characters")
    return problems


@dataclass
class Coach:
    model: str
    client: httpx.AsyncClient
    delivery: FakeDelivery


@pytest_asyncio.fixture(scope="module", loop_scope="module", params=["offline", "openai"])
async def coach(
    request: pytest.FixtureRequest, migrated_database: Callable[[str], str]
) -> AsyncIterator[Coach]:
    delivery = FakeDelivery()
    settings: dict[str, Any] = {"DATABASE_URL": migrated_database("agent_table"), **TRUSTED}
    fake = FakeOpenAI(responder=offline_coach)
    with Running(fake):
        if request.param == "openai":
            settings |= {
                "LLM_PROVIDER": "openai",
                "OPENAI_BASE_URL": fake.base_url,
                "OPENAI_MODEL": "fake-model",
                "LLM_MAX_RETRIES": 0,
            }
        app = create_app(
            Settings(**settings), delivery_transport=httpx.MockTransport(delivery.handle)
        )
        async with serving(app) as c:
            yield Coach(request.param, c, delivery)
    if request.param == "openai":
        assert fake.requests  # the table really went over the wire


async def play(coach: Coach, pid: str, steps: list[str | tuple[str, str]]) -> list[dict[str, Any]]:
    """Each step's answer, sent at its time: a minute apart, the daily prompt the next
    evening at its time."""
    answers = []
    now = START
    for n, step in enumerate(steps):
        now += timedelta(minutes=1)
        headers = {"X-PromptPipe-Now": now.isoformat()}
        if isinstance(step, tuple):
            [schedule] = [s for s in coach.delivery.schedules if s["participant_id"] == pid]
            now = (START + timedelta(days=1)).replace(
                hour=int(schedule["local_time"][:2]), minute=int(schedule["local_time"][3:])
            )
            body = {
                "participant_id": pid,
                "phone_number": "+447700900123",
                "event_id": f"{schedule['id']}@{now.isoformat()}",
                "kind": step[1],
                "payload": {},
            }
            resp = await coach.client.post(
                "/process-event", json=body, headers={"X-PromptPipe-Now": now.isoformat()}
            )
        else:
            body = {
                "participant_id": pid,
                "phone_number": "+447700900123",
                "message": step,
                "message_id": f"{pid}.{n}",
            }
            resp = await coach.client.post("/process-message", json=body, headers=headers)
        assert resp.status_code == 200, resp.text
        answers.append(resp.json())
    return answers


def test_the_table_is_wide() -> None:
    assert len(CASES) >= 60
    assert len({c.message for c in CASES.values()}) >= 60


@pytest.mark.asyncio(loop_scope="module")
@pytest.mark.parametrize("name", list(CASES))
async def test_message(coach: Coach, name: str) -> None:
    case = CASES[name]
    pid = f"p_{list(CASES).index(name)}_{coach.model}"
    answers = await play(coach, pid, [*SETUPS[case.setup], case.message])
    view = (await coach.client.get(f"/conversations/{pid}")).json()
    reply = answers[-1]["response"]
    calls = view["last_turn"]["tool_calls"]
    assert [c["name"] for c in calls] == [name for name, _ in case.tools], reply
    for call, (_, args) in zip(calls, case.tools, strict=True):
        assert call["args"] | args == call["args"], (call, args)
        assert not str(call["result"]).startswith("Error"), call
    assert re.search(case.answers, reply), reply
    for field_name, value in case.profile.items():
        assert view["profile"][field_name] == value
    said = [a["response"] for a in answers if a["response"]]
    for previous, text in zip(["", *said], said, strict=False):
        assert not reads_well(text, previous), (text, reads_well(text, previous))
    if case.tools and case.tools[0][0] == PAUSE:
        action = case.tools[0][1]["action"]
        mine = [s for s in coach.delivery.schedules if s["participant_id"] == pid]
        if action == "stop":  # delivery pauses them; their schedule waits for them
            assert coach.delivery.statuses[pid] == "paused" and mine
        else:  # a pause deletes the daily schedule at delivery, resume brings it back
            assert bool(mine) == (action == "resume")
