"""What the participant does in a scenario: send, tap, reply, react, and converse (answer
the coach by rules until a condition holds)."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from promptpipe_simulator.core.clients import ChatMessage
from promptpipe_simulator.core.scenario import Step, parse_duration
from promptpipe_simulator.core.steps.chat import last_outbound, outbound_after
from promptpipe_simulator.core.steps.stage import Actor, Handler, Stage, StepFailed


async def send(step: Step, actor: Actor, stage: Stage) -> str:
    actor.last_sent = await stage.backend.send_text(actor.phone, step.args["text"])
    return ""


async def tap(step: Step, actor: Actor, stage: Stage) -> str:
    if not await _tap(stage, actor, step.args["title"]):
        offered = await _offered(stage, actor)
        raise StepFailed(
            f"no coach message offers {step.args['title']!r}; offered: {offered or 'nothing'}"
        )
    return ""


async def reply(step: Step, actor: Actor, stage: Stage) -> str:
    """Tap the button or row with this title if one is offered, else type it."""
    if await _tap(stage, actor, step.args["title"]):
        return "tapped"
    actor.last_sent = await stage.backend.send_text(actor.phone, step.args["title"])
    return "typed"


async def react(step: Step, actor: Actor, stage: Stage) -> str:
    target = actor.last_reply or last_outbound(await stage.backend.chat(actor.phone))
    if target is None:
        raise StepFailed("there is no coach message to react to")
    await stage.backend.phones.react(actor.phone, target.id, step.args["emoji"])
    return ""


async def _tap(stage: Stage, actor: Actor, title: str) -> bool:
    """Tap the choice titled `title` of the latest interactive message; False if it has
    none such."""
    chat = await stage.backend.chat(actor.phone)
    wanted = title.casefold()
    for message in reversed(chat):
        if message.direction != "outbound":
            continue
        for button in message.buttons:
            if button["title"].casefold() == wanted:
                choice = {"id": button["id"], "title": button["title"]}
                actor.last_sent = await stage.backend.tap_button(actor.phone, choice, message.id)
                return True
        for row in message.rows:
            if row["title"].casefold() == wanted:
                choice = {"id": row["id"], "title": row["title"]}
                actor.last_sent = await stage.backend.tap_row(actor.phone, choice, message.id)
                return True
        if message.buttons or message.rows:
            return False  # only the latest interactive message is live on a phone
    return False


async def _offered(stage: Stage, actor: Actor) -> list[str]:
    for message in reversed(await stage.backend.chat(actor.phone)):
        if message.direction == "outbound" and (message.buttons or message.rows):
            return [c["title"] for c in message.buttons + message.rows]
    return []


async def converse(step: Step, actor: Actor, stage: Stage) -> str:
    """Answer the coach by rules until a condition holds: robust to its wording."""
    a = step.args
    until = a["until"]
    transcript: list[tuple[str, str]] = []
    for _ in range(int(a["max_turns"]) + 1):
        if await _converse_done(stage, actor, until):
            return _answered(transcript)
        latest = await _next_coach_turn(stage, actor, parse_duration(a["within"]), transcript)
        if await _converse_done(stage, actor, until):
            return _answered(transcript)
        offered = " ".join(c["title"] for c in latest.buttons + latest.rows)
        seen = f"{latest.text}\n{offered}"
        answer = next((r for r in a["answers"] if re.search(str(r.get("when", "")), seen)), None)
        if answer is None:
            raise StepFailed(
                f"no answer rule matches the coach's message:\n  {latest.text!r}"
                + _transcript(transcript)
            )
        said = str(answer["say"])
        transcript.append(("participant", said))
        if not await _tap(stage, actor, said):
            actor.last_sent = await stage.backend.send_text(actor.phone, said)
    raise StepFailed(f"still not {until} after {a['max_turns']} answers" + _transcript(transcript))


async def _converse_done(stage: Stage, actor: Actor, until: dict[str, Any]) -> bool:
    if "state" in until:
        participant = actor.require_participant()
        view = await stage.backend.conversation(participant.id)
        if (view or {}).get("state") != until["state"]:
            return False
    if "matches" in until:
        return actor.last_reply is not None and bool(
            re.search(str(until["matches"]), actor.last_reply.text)
        )
    return True


async def _next_coach_turn(
    stage: Stage, actor: Actor, within: float, transcript: list[tuple[str, str]]
) -> ChatMessage:
    """The coach message to answer next: the last one if the participant has not
    answered it yet, else the next turn's. A turn may be several messages, so wait
    until the chat is quiet for a moment, and return the latest."""

    async def arrived() -> list[ChatMessage] | None:
        new = outbound_after(await stage.backend.chat(actor.phone), actor.cursor)
        return [m for _, m in new] or None

    chat = await stage.backend.chat(actor.phone)
    unanswered = chat and chat[-1].direction == "outbound" and not await arrived()
    if unanswered:  # an earlier step already saw the coach's question: answer it
        actor.last_reply = chat[-1]
        transcript.append(("coach", chat[-1].text))
        return chat[-1]
    if await stage.poll(arrived, within) is None:
        raise StepFailed(f"the coach did not answer within {within:.0f}s" + _transcript(transcript))
    count = -1
    while True:  # settle: the same number of messages twice, a poll apart
        chat = await stage.backend.chat(actor.phone)
        if len(chat) == count:
            break
        count = len(chat)
        await asyncio.sleep(max(stage.poll_seconds, 0.5))
    new = outbound_after(chat, actor.cursor)
    actor.cursor = len(chat)
    for _, message in new:
        transcript.append(("coach", message.text))
    actor.last_reply = new[-1][1]
    return actor.last_reply


def _transcript(lines: list[tuple[str, str]]) -> str:
    if not lines:
        return ""
    return "\n  transcript:\n" + "\n".join(f"    {who}: {text!r}" for who, text in lines)


def _answered(transcript: list[tuple[str, str]]) -> str:
    answers = [text for who, text in transcript if who == "participant"]
    return f"after {len(answers)} answers: {', '.join(repr(a) for a in answers)}"


HANDLERS: dict[str, Handler] = {
    "send": send,
    "tap": tap,
    "reply": reply,
    "react": react,
    "converse": converse,
}
