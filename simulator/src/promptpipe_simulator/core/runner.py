"""Runs scenarios against a running stack through its public APIs, step by step.

The runner drives the phones (mock_whatsapp), the clock and faults (delivery's /dev
routes) and checks what comes back. It reports each step to a `Reporter`, so the same
run prints to a terminal (`simulator run`), shows live in the TUI, or feeds a test.
Stopping or starting a service needs a `StackController` (core/stack_control.py: a
native or a Compose stack; the tests use the native one on their private stacks); without
one such steps fail and say why.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.clients import ChatMessage, Participant, Refused, StackError
from promptpipe_simulator.core.personas import PersonaFactory
from promptpipe_simulator.core.scenario import (
    STATUSES,
    Scenario,
    Step,
    parse_duration,
    parse_local_time,
    parse_signed_duration,
)
from promptpipe_simulator.core.timetravel import next_local
from promptpipe_simulator.core.worldgen import load_or_generate

T = TypeVar("T")


class StackController(Protocol):
    """Stops and starts the stack's services (core/stack_control.py)."""

    async def stop(self, service: str) -> None: ...

    async def start(self, service: str) -> None:
        """Start the service and return once it is ready."""

    async def restart(self, service: str) -> None:
        """Stop the service, start it again and return once it is ready."""


class StepFailed(Exception):
    """An expectation was not met or an action was refused; the message explains it."""


@dataclass
class StepOutcome:
    step: Step
    ok: bool
    seconds: float
    detail: str = ""  # on success: what was seen (the reply that matched, say)
    failure: str = ""


@dataclass
class ScenarioResult:
    scenario: Scenario
    outcomes: list[StepOutcome] = field(default_factory=list)
    error: str = ""  # set when the run could not start (enrollment failed, say)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.error and all(o.ok for o in self.outcomes) and bool(self.outcomes)


class Reporter(Protocol):
    def scenario_started(self, scenario: Scenario, actors: dict[str, Actor]) -> None: ...

    def step_started(self, step: Step) -> None: ...

    def step_finished(self, outcome: StepOutcome) -> None: ...

    def scenario_finished(self, result: ScenarioResult) -> None: ...


class SilentReporter:
    """Reports nothing; the result says it all."""

    def scenario_started(self, scenario: Scenario, actors: dict[str, Actor]) -> None:
        pass

    def step_started(self, step: Step) -> None:
        pass

    def step_finished(self, outcome: StepOutcome) -> None:
        pass

    def scenario_finished(self, result: ScenarioResult) -> None:
        pass


@dataclass
class Actor:
    """A scenario's participant at run time: their phone, and where in the chat we are."""

    alias: str
    phone: str
    timezone: str
    participant: Participant | None  # None: not enrolled (an unknown sender)
    cursor: int = 0  # chat messages before this index were already seen by a step
    last_reply: ChatMessage | None = None
    last_sent: ChatMessage | None = None

    def require_participant(self) -> Participant:
        if self.participant is None:
            raise StepFailed(f"{self.alias} is not enrolled, so delivery has nothing on them")
        return self.participant


class ScenarioRunner:
    """Runs one scenario at a time against the stack behind `backend`."""

    def __init__(
        self,
        backend: Backend,
        controller: StackController | None = None,
        personas: PersonaFactory | None = None,
        poll_seconds: float = 0.2,
        cleanup: bool = False,
        no_controller_reason: str = "",
    ) -> None:
        self.backend = backend
        self.controller = controller
        self.no_controller_reason = no_controller_reason  # shown by steps that need one
        self.personas = personas or PersonaFactory()
        self.poll_seconds = poll_seconds
        self.cleanup = cleanup  # delete the scenario's participants afterwards
        self._faulted: set[str] = set()

    async def run(self, scenario: Scenario, reporter: Reporter | None = None) -> ScenarioResult:
        reporter = reporter or SilentReporter()
        started = time.monotonic()
        result = ScenarioResult(scenario)
        try:
            actors = await self._cast(scenario)
        except StackError as exc:
            result.error = f"could not set up the participants: {exc}"
            result.seconds = time.monotonic() - started
            reporter.scenario_finished(result)
            return result
        reporter.scenario_started(scenario, actors)
        try:
            for step in scenario.steps:
                reporter.step_started(step)
                outcome = await self._run_step(step, actors[step.actor], actors)
                result.outcomes.append(outcome)
                reporter.step_finished(outcome)
                if not outcome.ok:
                    break
        finally:
            await self._restore(actors)
        result.seconds = time.monotonic() - started
        reporter.scenario_finished(result)
        return result

    async def _cast(self, scenario: Scenario) -> dict[str, Actor]:
        actors = {}
        if scenario.world:
            await load_or_generate(self.backend, scenario.world)
        for spec in scenario.participants:
            if spec.from_world:
                actors[spec.alias] = await self._from_world(spec.alias, spec.from_world)
                continue
            persona = self.personas.make()
            persona.name = spec.name or persona.name
            persona.phone_number = spec.phone_number or persona.phone_number
            persona.timezone = spec.timezone or persona.timezone
            persona.background = spec.background or persona.background
            participant = await self.backend.enroll(persona) if spec.enrolled else None
            chat = await self.backend.chat(persona.phone_number)
            actors[spec.alias] = Actor(
                spec.alias, persona.phone_number, persona.timezone, participant, len(chat)
            )
        return actors

    async def _from_world(self, alias: str, who: str) -> Actor:
        """The world's participant named `who` (or with that phone number)."""
        digits = re.sub(r"\D", "", who)
        for participant in await self.backend.participants():
            if who in (participant.name, participant.id) or digits == participant.phone_number:
                chat = await self.backend.chat(participant.phone_number)
                return Actor(
                    alias, participant.phone_number, participant.timezone, participant, len(chat)
                )
        raise StackError(f"the world has no participant {who!r} (for {alias})")

    async def _restore(self, actors: dict[str, Actor]) -> None:
        """Leave the stack as we found it: faults off, and (if asked) our people gone."""
        with contextlib.suppress(StackError):
            if "agent" in self._faulted:
                await self.backend.delivery.set_agent_fault("ok")
            if "whatsapp" in self._faulted:
                await self.backend.phones.clear_faults()
        self._faulted.clear()
        if self.cleanup:
            for actor in actors.values():
                if actor.participant is not None:
                    with contextlib.suppress(StackError):
                        await self.backend.delete(actor.participant.id)

    async def _run_step(self, step: Step, actor: Actor, actors: dict[str, Actor]) -> StepOutcome:
        started = time.monotonic()
        handler: Callable[[Step, Actor], Awaitable[str]] = getattr(self, f"_do_{step.action}")
        try:
            detail = await handler(step, actor)
        except StepFailed as exc:
            return StepOutcome(step, False, time.monotonic() - started, failure=str(exc))
        except StackError as exc:
            failure = f"the stack refused or did not answer: {exc}"
            return StepOutcome(step, False, time.monotonic() - started, failure=failure)
        return StepOutcome(step, True, time.monotonic() - started, detail=detail)

    # --- what the participant does ---------------------------------------------------

    async def _do_send(self, step: Step, actor: Actor) -> str:
        actor.last_sent = await self.backend.send_text(actor.phone, step.args["text"])
        return ""

    async def _do_tap(self, step: Step, actor: Actor) -> str:
        if not await self._tap(actor, step.args["title"]):
            offered = await self._offered(actor)
            raise StepFailed(
                f"no coach message offers {step.args['title']!r}; offered: {offered or 'nothing'}"
            )
        return ""

    async def _do_reply(self, step: Step, actor: Actor) -> str:
        """Tap the button or row with this title if one is offered, else type it."""
        if await self._tap(actor, step.args["title"]):
            return "tapped"
        actor.last_sent = await self.backend.send_text(actor.phone, step.args["title"])
        return "typed"

    async def _do_react(self, step: Step, actor: Actor) -> str:
        target = actor.last_reply or _last_outbound(await self.backend.chat(actor.phone))
        if target is None:
            raise StepFailed("there is no coach message to react to")
        await self.backend.phones.react(actor.phone, target.id, step.args["emoji"])
        return ""

    async def _tap(self, actor: Actor, title: str) -> bool:
        chat = await self.backend.chat(actor.phone)
        wanted = title.casefold()
        for message in reversed(chat):
            if message.direction != "outbound":
                continue
            for button in message.buttons:
                if button["title"].casefold() == wanted:
                    choice = {"id": button["id"], "title": button["title"]}
                    actor.last_sent = await self.backend.tap_button(actor.phone, choice, message.id)
                    return True
            for row in message.rows:
                if row["title"].casefold() == wanted:
                    choice = {"id": row["id"], "title": row["title"]}
                    actor.last_sent = await self.backend.phones.tap_row(
                        actor.phone, choice, message.id
                    )
                    return True
            if message.buttons or message.rows:
                return False  # only the latest interactive message is live on a phone
        return False

    async def _offered(self, actor: Actor) -> list[str]:
        for message in reversed(await self.backend.chat(actor.phone)):
            if message.direction == "outbound" and (message.buttons or message.rows):
                return [c["title"] for c in message.buttons + message.rows]
        return []

    async def _do_converse(self, step: Step, actor: Actor) -> str:
        """Answer the coach by rules until a condition holds: robust to its wording."""
        a = step.args
        until = a["until"]
        transcript: list[tuple[str, str]] = []
        for _ in range(int(a["max_turns"]) + 1):
            if await self._converse_done(actor, until):
                return _answered(transcript)
            latest = await self._next_coach_turn(actor, parse_duration(a["within"]), transcript)
            if await self._converse_done(actor, until):
                return _answered(transcript)
            offered = " ".join(c["title"] for c in latest.buttons + latest.rows)
            seen = f"{latest.text}\n{offered}"
            answer = next(
                (r for r in a["answers"] if re.search(str(r.get("when", "")), seen)), None
            )
            if answer is None:
                raise StepFailed(
                    f"no answer rule matches the coach's message:\n  {latest.text!r}"
                    + _transcript(transcript)
                )
            said = str(answer["say"])
            transcript.append(("participant", said))
            if not await self._tap(actor, said):
                actor.last_sent = await self.backend.send_text(actor.phone, said)
        raise StepFailed(
            f"still not {until} after {a['max_turns']} answers" + _transcript(transcript)
        )

    async def _converse_done(self, actor: Actor, until: dict[str, Any]) -> bool:
        if "state" in until:
            participant = actor.require_participant()
            view = await self.backend.conversation(participant.id)
            if (view or {}).get("state") != until["state"]:
                return False
        if "matches" in until:
            return actor.last_reply is not None and bool(
                re.search(str(until["matches"]), actor.last_reply.text)
            )
        return True

    async def _next_coach_turn(
        self, actor: Actor, within: float, transcript: list[tuple[str, str]]
    ) -> ChatMessage:
        """The coach message to answer next: the last one if the participant has not
        answered it yet, else the next turn's. A turn may be several messages, so wait
        until the chat is quiet for a moment, and return the latest."""

        async def arrived() -> list[ChatMessage] | None:
            new = _outbound_after(await self.backend.chat(actor.phone), actor.cursor)
            return [m for _, m in new] or None

        chat = await self.backend.chat(actor.phone)
        unanswered = chat and chat[-1].direction == "outbound" and not await arrived()
        if unanswered:  # an earlier step already saw the coach's question: answer it
            actor.last_reply = chat[-1]
            transcript.append(("coach", chat[-1].text))
            return chat[-1]
        if await self._poll(arrived, within) is None:
            raise StepFailed(
                f"the coach did not answer within {within:.0f}s" + _transcript(transcript)
            )
        count = -1
        while True:  # settle: the same number of messages twice, a poll apart
            chat = await self.backend.chat(actor.phone)
            if len(chat) == count:
                break
            count = len(chat)
            await asyncio.sleep(max(self.poll_seconds, 0.5))
        new = _outbound_after(chat, actor.cursor)
        actor.cursor = len(chat)
        for _, message in new:
            transcript.append(("coach", message.text))
        actor.last_reply = new[-1][1]
        return actor.last_reply

    # --- what the operator does ------------------------------------------------------

    async def _do_advance(self, step: Step, actor: Actor) -> str:
        a = step.args
        if "by" in a:
            seconds = parse_duration(a["by"])
        else:
            now = _parse_time((await self.backend.clock())["now"])
            if "to" in a:
                target = next_local(now, actor.timezone, *parse_local_time(str(a["to"])))
            else:
                target = await self._next_job_time(actor, str(a["to_job"]))
            if a.get("offset"):
                target += timedelta(seconds=parse_signed_duration(a["offset"]))
            seconds = (target - now).total_seconds()
            if seconds <= 0:
                return f"already past {target.isoformat()}; clock not moved"
        clock = await self.backend.advance_clock(f"{max(1, round(seconds))}s")
        return f"now {clock.get('now')}"

    async def _next_job_time(self, actor: Actor, kind: str) -> datetime:
        participant = actor.require_participant()
        jobs = await self.backend.delivery.jobs(participant.id)
        times = [_parse_time(j["next_run_at"]) for j in jobs if re.fullmatch(kind, j["kind"])]
        if not times:
            raise StepFailed(f"no pending {kind} job; pending: {_kinds(jobs) or 'nothing'}")
        return min(times)

    async def _do_wait(self, step: Step, actor: Actor) -> str:
        await asyncio.sleep(parse_duration(step.args["for"]))
        return ""

    async def _do_pause(self, step: Step, actor: Actor) -> str:
        participant = actor.require_participant()
        actor.participant = await self.backend.set_status(participant.id, "paused")
        return ""

    async def _do_resume(self, step: Step, actor: Actor) -> str:
        participant = actor.require_participant()
        actor.participant = await self.backend.set_status(participant.id, "active")
        return ""

    async def _do_delete(self, step: Step, actor: Actor) -> str:
        await self.backend.delete(actor.require_participant().id)
        return ""

    async def _do_fault(self, step: Step, actor: Actor) -> str:
        a = step.args
        try:
            if "agent" in a:
                delay = parse_duration(a.get("delay", 0))
                fault = await self.backend.delivery.set_agent_fault(a["agent"], delay)
                self._faulted.add("agent")
                return f"agent {fault.get('mode', a['agent'])}"
            if "whatsapp" in a:
                fault = await self.backend.phones.add_fault(a["whatsapp"])
                self._faulted.add("whatsapp")
                return f"fault {fault.get('id', '')}"
            if a["clear"] in ("agent", "all"):
                await self.backend.delivery.set_agent_fault("ok")
            if a["clear"] in ("whatsapp", "all"):
                await self.backend.phones.clear_faults()
            return "cleared"
        except Refused as exc:
            if exc.status in (404, 405):
                service = "delivery" if "agent" in a else "mock_whatsapp"
                raise StepFailed(
                    f"{service} has no faults API here (it answered {exc.status}); delivery "
                    "needs DEV_CLOCK=true for /dev/faults/agent"
                ) from exc
            raise

    async def _do_restart(self, step: Step, actor: Actor) -> str:
        await self._controller(step).restart(step.args["service"])
        return ""

    async def _do_stop(self, step: Step, actor: Actor) -> str:
        await self._controller(step).stop(step.args["service"])
        return ""

    async def _do_start(self, step: Step, actor: Actor) -> str:
        await self._controller(step).start(step.args["service"])
        return ""

    def _controller(self, step: Step) -> StackController:
        if self.controller is None:
            reason = self.no_controller_reason or "this run has none (`--stack none`)"
            raise StepFailed(f"`{step.action}` needs a stack controller: {reason}")
        return self.controller

    async def _do_replay_webhook(self, step: Step, actor: Actor) -> str:
        """Deliver the participant's last message to delivery a second time, byte for byte
        and with Meta's signature, as WhatsApp does when it retries a webhook."""
        sent = actor.last_sent
        if sent is None:
            raise StepFailed("the participant has sent nothing to replay")

        async def find() -> dict[str, Any] | None:
            for delivery in await self.backend.webhook_deliveries():
                value = delivery["payload"]["entry"][0]["changes"][0]["value"]
                if any(m.get("id") == sent.id for m in value.get("messages") or []):
                    return delivery
            return None

        delivery = await self._poll(find, 5)
        if delivery is None:
            raise StepFailed(f"mock_whatsapp has no webhook for message {sent.id}")
        # The mock signs exactly these bytes (compact JSON, UTF-8), so the signature holds.
        body = json.dumps(delivery["payload"], separators=(",", ":"), ensure_ascii=False)
        status = await self.backend.delivery.post_webhook(body.encode(), delivery["signature"])
        return f"delivery answered {status}"

    # --- what must be true -----------------------------------------------------------

    async def _do_expect_reply(self, step: Step, actor: Actor) -> str:
        a = step.args
        seen: list[tuple[ChatMessage, list[str]]] = []

        async def matched() -> ChatMessage | None:
            seen.clear()
            chat = await self.backend.chat(actor.phone)
            for index, message in _outbound_after(chat, actor.cursor):
                reasons = mismatches(message, a)
                if not reasons:
                    actor.cursor = index + 1
                    actor.last_reply = message
                    return message
                seen.append((message, reasons))
            return None

        message = await self._poll(matched, parse_duration(a["within"]))
        if message is None:
            if not seen:
                raise StepFailed(f"no message from the coach within {a['within']}")
            lines = [f"no new message matched within {a['within']}; the coach sent:"]
            for m, reasons in seen:
                lines.append(f"  - {_show(m)}")
                lines.extend(f"      ✗ {r}" for r in reasons)
            raise StepFailed("\n".join(lines))
        return _show(message)

    async def _do_expect_reaction(self, step: Step, actor: Actor) -> str:
        emoji = step.args.get("emoji")

        async def reacted() -> ChatMessage | None:
            chat = await self.backend.chat(actor.phone)
            for index, message in _outbound_after(chat, actor.cursor):
                got = (message.reaction or {}).get("emoji")
                if message.type == "reaction" and (emoji is None or got == emoji):
                    actor.cursor = index + 1
                    return message
            return None

        message = await self._poll(reacted, parse_duration(step.args["within"]))
        if message is None:
            raise StepFailed(f"no reaction {emoji or ''} within {step.args['within']}")
        return f"reaction {(message.reaction or {}).get('emoji')}"

    async def _do_expect_status(self, step: Step, actor: Actor) -> str:
        wanted = step.args["status"]
        target = actor.last_reply
        if target is None:
            raise StepFailed("no reply was expected before, so there is no message to check")
        seen: dict[str, str | None] = {"status": None}

        async def reached() -> bool:
            for message in await self.backend.chat(actor.phone):
                if message.id == target.id:
                    seen["status"] = message.status
                    return _status_reached(message.status, wanted)
            return False

        if not await self._poll(reached, parse_duration(step.args["within"])):
            raise StepFailed(
                f"status of {_show(target)} is {seen['status']}, expected {wanted} "
                f"within {step.args['within']}"
            )
        return str(seen["status"])

    async def _do_expect_state(self, step: Step, actor: Actor) -> str:
        participant = actor.require_participant()
        wanted = step.args["state"]
        seen: dict[str, Any] = {}

        async def reached() -> bool:
            view = await self.backend.conversation(participant.id)
            seen["state"] = None if view is None else view.get("state")
            return bool(seen["state"] == wanted)

        if not await self._poll(reached, parse_duration(step.args["within"])):
            raise StepFailed(f"sub-state is {seen.get('state')}, expected {wanted}")
        return str(wanted)

    async def _do_expect_profile(self, step: Step, actor: Actor) -> str:
        participant = actor.require_participant()
        fields: dict[str, Any] = step.args["fields"]
        seen: dict[str, Any] = {}

        async def holds() -> bool:
            view = await self.backend.conversation(participant.id) or {}
            seen.update(view.get("profile") or {})
            return all(
                seen.get(name) not in (None, "") and re.search(str(p), str(seen[name]))
                for name, p in fields.items()
            )

        if not await self._poll(holds, parse_duration(step.args["within"])):
            diff = [
                f"  {name}: expected /{p}/, got {seen.get(name)!r}" for name, p in fields.items()
            ]
            raise StepFailed("the agent's profile does not match:\n" + "\n".join(diff))
        return ", ".join(f"{n}={seen.get(n)!r}" for n in fields)

    async def _do_expect_jobs(self, step: Step, actor: Actor) -> str:
        participant = actor.require_participant()
        include, exclude = step.args["include"], step.args["exclude"]
        kinds: list[str] = []

        async def holds() -> bool:
            try:
                jobs = await self.backend.delivery.jobs(participant.id)
            except Refused as exc:
                if exc.status != 404:
                    raise
                jobs = []  # a deleted participant has nothing pending
            kinds[:] = _kinds(jobs)
            has = all(any(re.fullmatch(str(p), k) for k in kinds) for p in include)
            lacks = not any(re.fullmatch(str(p), k) for p in exclude for k in kinds)
            return has and lacks

        if not await self._poll(holds, parse_duration(step.args["within"])):
            raise StepFailed(
                f"pending jobs are {kinds or 'none'}; expected to include {include} "
                f"and nothing matching {exclude}"
            )
        return f"pending: {', '.join(kinds) or 'nothing'}"

    async def _do_expect_no_message(self, step: Step, actor: Actor) -> str:
        async def arrived() -> list[tuple[int, ChatMessage]] | None:
            return _outbound_after(await self.backend.chat(actor.phone), actor.cursor) or None

        new = await self._poll(arrived, parse_duration(step.args["within"]))
        if new:
            shown = "\n".join(f"  - {_show(m)}" for _, m in new)
            raise StepFailed(f"expected silence, but the coach sent:\n{shown}")
        return ""

    async def _do_expect_logged(self, step: Step, actor: Actor) -> str:
        participant = actor.require_participant()
        counts: dict[str, int] = {}

        async def holds() -> bool:
            log = await self.backend.delivery.message_log(participant.id)
            counts.clear()
            for entry in log:
                counts[entry["direction"]] = counts.get(entry["direction"], 0) + 1
            return all(
                counts.get(d, 0) == int(step.args[d])
                for d in ("inbound", "outbound")
                if d in step.args
            )

        if not await self._poll(holds, parse_duration(step.args["within"])):
            wanted = {d: step.args[d] for d in ("inbound", "outbound") if d in step.args}
            raise StepFailed(f"delivery logged {counts or 'nothing'}; expected {wanted}")
        return ", ".join(f"{d} {n}" for d, n in sorted(counts.items()))

    async def _poll(self, probe: Callable[[], Awaitable[T | None]], within: float) -> T | None:
        return await wait_until(probe, within, self.poll_seconds)


async def wait_until(
    probe: Callable[[], Awaitable[T | None]], within: float, interval: float = 0.2
) -> T | None:
    """Call `probe` until it returns something truthy (returned) or `within` seconds
    pass (None)."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        await asyncio.sleep(interval)


def mismatches(message: ChatMessage, expected: dict[str, Any]) -> list[str]:
    """Why `message` is not the reply `expected` describes (empty: it is)."""
    reasons = []
    pattern = expected.get("matches")
    if pattern is not None and not re.search(str(pattern), message.text):
        reasons.append(f"text does not match /{pattern}/")
    kind = expected.get("type")
    if kind is not None and message.type != kind:
        reasons.append(f"type is {message.type}, expected {kind}")
    for key, offered in (("buttons", message.buttons), ("rows", message.rows)):
        titles = [c["title"] for c in offered]
        if expected.get(key) is not None and titles != list(expected[key]):
            reasons.append(f"{key} are {titles}, expected {expected[key]}")
    template = expected.get("template")
    if template is not None:
        got = message.template or {}
        if message.type != "template" or got.get("name") != template["name"]:
            reasons.append(f"not the template {template['name']!r} (got {got.get('name')!r})")
        elif "parameters" in template:
            params = [str(p) for p in got.get("parameters") or []]
            want = [str(p) for p in template["parameters"]]
            if len(params) != len(want) or not all(
                re.fullmatch(w, p) for w, p in zip(want, params, strict=True)
            ):
                reasons.append(f"template parameters are {params}, expected {want}")
    return reasons


def _status_reached(status: str | None, wanted: str) -> bool:
    """A read message was delivered too: statuses only move forward (failed aside)."""
    if status is None:
        return False
    if wanted == "failed" or status == "failed":
        return status == wanted
    return STATUSES.index(status) >= STATUSES.index(wanted)


def _outbound_after(chat: list[ChatMessage], cursor: int) -> list[tuple[int, ChatMessage]]:
    return [(i, m) for i, m in enumerate(chat) if i >= cursor and m.direction == "outbound"]


def _last_outbound(chat: list[ChatMessage]) -> ChatMessage | None:
    outbound = [m for m in chat if m.direction == "outbound"]
    return outbound[-1] if outbound else None


def _show(message: ChatMessage) -> str:
    """A message on one line: its text, shortened, and what it offers."""
    text = message.text if len(message.text) <= 90 else message.text[:87] + "…"
    extra = ""
    if message.buttons:
        extra = f" buttons {[b['title'] for b in message.buttons]}"
    elif message.rows:
        extra = f" rows {[r['title'] for r in message.rows]}"
    elif message.template:
        extra = f" template {message.template.get('name')} {message.template.get('parameters')}"
    kind = "" if message.type == "text" else f"[{message.type}] "
    return f"{kind}{text!r}{extra}"


def _transcript(lines: list[tuple[str, str]]) -> str:
    if not lines:
        return ""
    return "\n  transcript:\n" + "\n".join(f"    {who}: {text!r}" for who, text in lines)


def _answered(transcript: list[tuple[str, str]]) -> str:
    answers = [text for who, text in transcript if who == "participant"]
    return f"after {len(answers)} answers: {', '.join(repr(a) for a in answers)}"


def _kinds(jobs: list[dict[str, Any]]) -> list[str]:
    return sorted(str(j["kind"]) for j in jobs)


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
