"""Generated worlds: a study built from a short description by driving the real stack.

Everything happens through the services' public APIs, as a person with a phone and a
researcher with the admin API would do it, at full speed: Faker personas are enrolled at
delivery, their phones talk through the mock, and the stack's clock is moved an hour at
a time, so that daily prompts, reminders and 24-hour windows happen as they would have.
Nothing is written behind a service's back. The description (YAML):

    name: demo
    description: A handful of participants at different stages
    seed: 7            # the same seed, the same people and answers
    days: 4            # how long the study has run when the world is saved
    participants:
      intake: 1        # enrolled on the last day, halfway through the intake
      feedback:        # finished the intake k days before the end: FEEDBACK at day k
        - {day: 4, count: 1}
        - {day: 1, count: 1}
      silent: 1        # enrolled on the first day, never wrote
      paused: 1        # in FEEDBACK from the first day, paused on the last
      closed_window: 1 # in FEEDBACK from the first day, stopped answering after it:
                       # their last message is over 24 hours old, the window is closed

People in FEEDBACK answer their daily prompt within the hour (Done, sometimes Next
time), the coach's follow-up question and the intensity question; the closed-window ones
answer nothing after their intake, so their prompts go out as templates.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.clients import ChatMessage, Participant, StackError
from promptpipe_simulator.core.personas import PersonaFactory
from promptpipe_simulator.core.worlds import WorldError

# The intake, answered by rules (as simulator/scenarios/_intake.yaml): most specific first.
INTAKE_RULES: list[tuple[str, str]] = [
    (r"(?i)personali[sz]e", "Let's personalize it"),
    (r"(?i)come after|follow something|everyday moment|anchor|after what|remind you", "{anchor}"),
    (r"(?i)\bwhy\b|matter|better for you|motivat", "{why}"),
    (r"(?i)what time|which time|when should|time of day|nudge you", "{time}"),
    (r"(?i)anything else", "No, that's all"),
    (r"(?i)try .*(now|today)|right now", "Not now, tomorrow"),
    (r"(?i)habit|part of your day", "{habit}"),
]
HABITS = ["moving more", "drinking more water", "reading before bed", "stretching", "walking"]
WHYS = ["more energy for my kids", "to sleep better", "to feel less stressed", "my health"]
ANCHORS = ["my morning coffee", "brushing my teeth", "lunch", "getting home from work"]
TIMES = ["7:30am", "8:00am", "12:30pm", "6:00pm", "8:30pm"]
FOLLOW_UPS = [
    "It only took a minute",
    "Having my shoes by the door helped",
    "I forgot, busy morning",
    "Too tired after work",
    "It felt good actually",
]
GROUPS = ("intake", "feedback", "silent", "paused", "closed_window")
REPLY_SECONDS = 30  # a reply slower than this is an error of the stack
PARALLEL = 8  # participants driven at once


class SpecError(ValueError):
    """The description is not valid; the message says where."""


@dataclass
class Cohort:
    """Participants of one kind, and the day (from 0) they do their intake."""

    kind: str
    count: int
    intake_day: int


@dataclass
class WorldSpec:
    name: str
    description: str
    seed: int
    days: int
    cohorts: list[Cohort]

    @property
    def size(self) -> int:
        return sum(c.count for c in self.cohorts)


def load_spec(path: Path) -> WorldSpec:
    """Read and check a world description."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"{path}: {exc}") from None
    return parse_spec(data, default_name=path.stem, source=str(path))


def parse_spec(data: Any, default_name: str = "world", source: str = "spec") -> WorldSpec:
    if not isinstance(data, dict):
        raise SpecError(f"{source}: a mapping with participants: is expected")
    unknown = set(data) - {"name", "description", "seed", "days", "participants"}
    if unknown:
        raise SpecError(f"{source}: unknown keys {sorted(unknown)}")
    days = data.get("days", 1)
    if not isinstance(days, int) or not 0 <= days <= 60:
        raise SpecError(f"{source}: days must be a whole number from 0 to 60")
    people = data.get("participants")
    if not isinstance(people, dict) or not people:
        raise SpecError(f"{source}: participants: must say how many of each kind")
    if set(people) - set(GROUPS):
        raise SpecError(f"{source}: participants: kinds are {', '.join(GROUPS)}")

    def count(kind: str, value: Any) -> int:
        if not isinstance(value, int) or value < 0:
            raise SpecError(f"{source}: participants.{kind} must be a count (0 or more)")
        return value

    cohorts = []
    for entry in people.get("feedback") or []:
        if not isinstance(entry, dict) or set(entry) != {"day", "count"}:
            raise SpecError(f"{source}: participants.feedback items are {{day: k, count: n}}")
        day = entry["day"]
        if not isinstance(day, int) or not 0 <= day <= days:
            raise SpecError(f"{source}: a feedback day must be from 0 to days ({days})")
        cohorts.append(Cohort("feedback", count("feedback", entry["count"]), days - day))
    for kind in ("silent", "paused", "closed_window"):
        cohorts.append(Cohort(kind, count(kind, people.get(kind, 0)), 0))
    cohorts.append(Cohort("intake", count("intake", people.get("intake", 0)), days))
    if any(c.kind == "closed_window" and c.count for c in cohorts) and days < 2:
        raise SpecError(f"{source}: a closed window needs days: 2 or more (over 24 h silent)")
    spec = WorldSpec(
        name=str(data.get("name") or default_name),
        description=str(data.get("description") or ""),
        seed=int(data.get("seed", 1)),
        days=days,
        cohorts=[c for c in cohorts if c.count],
    )
    if not spec.size:
        raise SpecError(f"{source}: no participants")
    return spec


@dataclass
class Person:
    """One generated participant and how they behave."""

    participant: Participant
    kind: str
    intake_day: int
    rng: random.Random
    profile: dict[str, str] = field(default_factory=dict)
    seen: int = 0  # messages in the chat when last looked at

    @property
    def phone(self) -> str:
        return self.participant.phone_number

    def answers_prompts(self, day: int) -> bool:
        """Whether they answer what the coach sends on this day."""
        if self.kind in ("feedback", "paused"):
            return day >= self.intake_day
        return False


class WorldGenerator:
    """Drives the stack through a WorldSpec; `progress` hears one line per stage."""

    def __init__(
        self,
        backend: Backend,
        spec: WorldSpec,
        progress: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.backend, self.spec, self.progress = backend, spec, progress
        self.rng = random.Random(spec.seed)
        self.people: list[Person] = []
        self.limit = asyncio.Semaphore(PARALLEL)

    async def run(self) -> list[Person]:
        """Build the study; returns who is in it."""
        await self._enroll()
        for day in range(self.spec.days + 1):
            starting = [p for p in self.people if p.intake_day == day and p.kind != "silent"]
            if starting:
                self.progress(f"day {day}: intake of {len(starting)}")
                await self._each(starting, self._intake)
            # The last day goes on for two hours after its intakes, so that no 24-hour
            # window closes just as the world is saved (a window opened by an intake
            # would close exactly a day after the save, when a day has just been added).
            hours = 24 if day < self.spec.days else 2
            self.progress(f"day {day}: {hours} hours, prompts answered as they come")
            for _ in range(hours):
                await self.backend.advance_clock("1h")
                await self._answer_new(day)
        paused = [p for p in self.people if p.kind == "paused"]
        for person in paused:
            await self.backend.set_status(person.participant.id, "paused")
        self.progress(f"done: {len(self.people)} participants")
        return self.people

    # --- people ---------------------------------------------------------------------

    async def _enroll(self) -> None:
        taken = {p.phone_number for p in await self.backend.participants()}
        personas = PersonaFactory(seed=self.spec.seed, taken=taken)
        for cohort in self.spec.cohorts:
            for _ in range(cohort.count):
                persona = personas.make()
                participant = await self.backend.enroll(persona)
                rng = random.Random(self.rng.random())
                profile = {
                    "habit": rng.choice(HABITS),
                    "why": rng.choice(WHYS),
                    "anchor": rng.choice(ANCHORS),
                    "time": rng.choice(TIMES),
                }
                self.people.append(
                    Person(participant, cohort.kind, cohort.intake_day, rng, profile)
                )
        self.progress(f"enrolled {len(self.people)} participants")

    async def _each(self, people: list[Person], work: Callable[[Person], Any]) -> None:
        async def one(person: Person) -> None:
            async with self.limit:
                await work(person)

        await asyncio.gather(*(one(p) for p in people))

    async def _intake(self, person: Person) -> None:
        """The intake by personalize; the `intake` kind stops halfway."""
        said = await self._say(person, "Hello!")
        turns = 3 if person.kind == "intake" else 12
        for _ in range(turns - 1):
            if person.kind != "intake" and await self._in_feedback(person):
                break
            said = await self._say(person, self._intake_answer(person, said))
        person.seen = len(await self.backend.chat(person.phone))

    def _intake_answer(self, person: Person, coach: ChatMessage) -> str:
        for pattern, answer in INTAKE_RULES:
            if re.search(pattern, coach.text or ""):
                return answer.format(**person.profile)
        return "Sounds good"

    async def _in_feedback(self, person: Person) -> bool:
        view = await self.backend.conversation(person.participant.id)
        return bool(view and view.get("state") == "FEEDBACK")

    async def _answer_new(self, day: int) -> None:
        """Everyone who answers today answers what the coach sent since last time."""
        counts = {p["phone"]: p["messages"] for p in await self.backend.phones.phones()}
        due = [p for p in self.people if p.answers_prompts(day) and counts.get(p.phone, 0) > p.seen]
        await self._each(due, self._answer)

    async def _answer(self, person: Person) -> None:
        """Answer the coach's latest message: tap a button, or say something to a
        question; up to three exchanges."""
        for _ in range(3):
            chat = await self.backend.chat(person.phone)
            person.seen = len(chat)
            last = chat[-1] if chat else None
            if last is None or last.direction != "outbound":
                return
            buttons = [b["title"] for b in last.buttons]
            if buttons:
                if "Done" in buttons:
                    title = "Done" if person.rng.random() < 0.75 else buttons[-1]
                else:
                    title = buttons[len(buttons) // 2]
                button = next(b for b in last.buttons if b["title"] == title)
                await self._wait_reply(
                    person, await self.backend.tap_button(person.phone, button, last.id)
                )
            elif "?" in (last.text or ""):
                await self._say(person, person.rng.choice(FOLLOW_UPS))
            else:
                return
        person.seen = len(await self.backend.chat(person.phone))

    async def _say(self, person: Person, text: str) -> ChatMessage:
        return await self._wait_reply(person, await self.backend.send_text(person.phone, text))

    async def _wait_reply(self, person: Person, sent: ChatMessage) -> ChatMessage:
        """The coach's first message after `sent`."""
        deadline = asyncio.get_running_loop().time() + REPLY_SECONDS
        while asyncio.get_running_loop().time() < deadline:
            chat = await self.backend.chat(person.phone)
            ids = [m.id for m in chat]
            if sent.id in ids:
                after = chat[ids.index(sent.id) + 1 :]
                replies = [m for m in after if m.direction == "outbound"]
                if replies:
                    person.seen = len(chat)
                    return replies[0]
            await asyncio.sleep(0.05)
        raise StackError(f"no reply to {sent.text!r} from {person.phone} in {REPLY_SECONDS}s")


async def generate(
    backend: Backend, spec: WorldSpec, progress: Callable[[str], None] = lambda line: None
) -> None:
    """Empty the stack, then build the study of `spec` in it (not saved)."""
    progress(f"emptying the stack for {spec.name!r}")
    await backend.worlds.clear()
    await WorldGenerator(backend, spec, progress).run()


async def load_or_generate(
    backend: Backend, name: str, progress: Callable[[str], None] = lambda line: None
) -> str:
    """Bring the stack to the saved world `name`: load it, or, when it is not saved yet
    (or was saved by services of another version) and `worlds/<name>.yaml` describes it,
    generate it and save it, so the next time is a plain load. Says which it did."""
    folder = backend.worlds.folder
    spec_path = folder.folder / f"{name}.yaml"
    if folder.exists(name):
        try:
            _, timing = await backend.worlds.load(name)
            return f"loaded world {name!r} in {timing.total:.1f}s"
        except WorldError as exc:
            if not spec_path.exists():
                raise
            progress(f"{exc}; generating it again from {spec_path}")
    elif not spec_path.exists():
        raise WorldError(f"No world {name!r}: neither {folder.path(name)} nor {spec_path} exists")
    spec = load_spec(spec_path)
    started = asyncio.get_running_loop().time()
    await generate(backend, spec, progress)
    await backend.worlds.save(name, spec.description)
    took = asyncio.get_running_loop().time() - started
    return f"generated world {name!r} in {took:.0f}s and saved it (next time it loads)"
