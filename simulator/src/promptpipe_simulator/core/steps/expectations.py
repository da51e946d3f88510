"""What must be true in a scenario: each check polls the stack's public APIs until it
holds or its `within` passes, then says what it saw or why it failed."""

from __future__ import annotations

import re
from typing import Any

from promptpipe_simulator.core.clients import ChatMessage, Refused
from promptpipe_simulator.core.scenario import STATUSES, Step, parse_duration
from promptpipe_simulator.core.steps.chat import outbound_after, show
from promptpipe_simulator.core.steps.operator_actions import job_kinds
from promptpipe_simulator.core.steps.stage import Actor, Handler, Stage, StepFailed


async def expect_reply(step: Step, actor: Actor, stage: Stage) -> str:
    a = step.args
    seen: list[tuple[ChatMessage, list[str]]] = []

    async def matched() -> ChatMessage | None:
        seen.clear()
        chat = await stage.backend.chat(actor.phone)
        for index, message in outbound_after(chat, actor.cursor):
            reasons = mismatches(message, a)
            if not reasons:
                actor.cursor = index + 1
                actor.last_reply = message
                return message
            seen.append((message, reasons))
        return None

    message = await stage.poll(matched, parse_duration(a["within"]))
    if message is None:
        if not seen:
            raise StepFailed(f"no message from the coach within {a['within']}")
        lines = [f"no new message matched within {a['within']}; the coach sent:"]
        for m, reasons in seen:
            lines.append(f"  - {show(m)}")
            lines.extend(f"      ✗ {r}" for r in reasons)
        raise StepFailed("\n".join(lines))
    return show(message)


async def expect_reaction(step: Step, actor: Actor, stage: Stage) -> str:
    emoji = step.args.get("emoji")

    async def reacted() -> ChatMessage | None:
        chat = await stage.backend.chat(actor.phone)
        for index, message in outbound_after(chat, actor.cursor):
            got = (message.reaction or {}).get("emoji")
            if message.type == "reaction" and (emoji is None or got == emoji):
                actor.cursor = index + 1
                return message
        return None

    message = await stage.poll(reacted, parse_duration(step.args["within"]))
    if message is None:
        raise StepFailed(f"no reaction {emoji or ''} within {step.args['within']}")
    return f"reaction {(message.reaction or {}).get('emoji')}"


async def expect_status(step: Step, actor: Actor, stage: Stage) -> str:
    wanted = step.args["status"]
    target = actor.last_reply
    if target is None:
        raise StepFailed("no reply was expected before, so there is no message to check")
    seen: dict[str, str | None] = {"status": None}

    async def reached() -> bool:
        for message in await stage.backend.chat(actor.phone):
            if message.id == target.id:
                seen["status"] = message.status
                return status_reached(message.status, wanted)
        return False

    if not await stage.poll(reached, parse_duration(step.args["within"])):
        raise StepFailed(
            f"status of {show(target)} is {seen['status']}, expected {wanted} "
            f"within {step.args['within']}"
        )
    return str(seen["status"])


async def expect_state(step: Step, actor: Actor, stage: Stage) -> str:
    participant = actor.require_participant()
    wanted = step.args["state"]
    seen: dict[str, Any] = {}

    async def reached() -> bool:
        view = await stage.backend.conversation(participant.id)
        seen["state"] = None if view is None else view.get("state")
        return bool(seen["state"] == wanted)

    if not await stage.poll(reached, parse_duration(step.args["within"])):
        raise StepFailed(f"sub-state is {seen.get('state')}, expected {wanted}")
    return str(wanted)


async def expect_profile(step: Step, actor: Actor, stage: Stage) -> str:
    participant = actor.require_participant()
    fields: dict[str, Any] = step.args["fields"]
    seen: dict[str, Any] = {}

    async def holds() -> bool:
        view = await stage.backend.conversation(participant.id) or {}
        seen.update(view.get("profile") or {})
        return all(
            seen.get(name) not in (None, "") and re.search(str(p), str(seen[name]))
            for name, p in fields.items()
        )

    if not await stage.poll(holds, parse_duration(step.args["within"])):
        diff = [f"  {name}: expected /{p}/, got {seen.get(name)!r}" for name, p in fields.items()]
        raise StepFailed("the agent's profile does not match:\n" + "\n".join(diff))
    return ", ".join(f"{n}={seen.get(n)!r}" for n in fields)


async def expect_jobs(step: Step, actor: Actor, stage: Stage) -> str:
    participant = actor.require_participant()
    include, exclude = step.args["include"], step.args["exclude"]
    kinds: list[str] = []

    async def holds() -> bool:
        try:
            jobs = await stage.backend.delivery.jobs(participant.id)
        except Refused as exc:
            if exc.status != 404:
                raise
            jobs = []  # a deleted participant has nothing pending
        kinds[:] = job_kinds(jobs)
        has = all(any(re.fullmatch(str(p), k) for k in kinds) for p in include)
        lacks = not any(re.fullmatch(str(p), k) for p in exclude for k in kinds)
        return has and lacks

    if not await stage.poll(holds, parse_duration(step.args["within"])):
        raise StepFailed(
            f"pending jobs are {kinds or 'none'}; expected to include {include} "
            f"and nothing matching {exclude}"
        )
    return f"pending: {', '.join(kinds) or 'nothing'}"


async def expect_no_message(step: Step, actor: Actor, stage: Stage) -> str:
    async def arrived() -> list[tuple[int, ChatMessage]] | None:
        return outbound_after(await stage.backend.chat(actor.phone), actor.cursor) or None

    new = await stage.poll(arrived, parse_duration(step.args["within"]))
    if new:
        shown = "\n".join(f"  - {show(m)}" for _, m in new)
        raise StepFailed(f"expected silence, but the coach sent:\n{shown}")
    return ""


async def expect_logged(step: Step, actor: Actor, stage: Stage) -> str:
    participant = actor.require_participant()
    counts: dict[str, int] = {}

    async def holds() -> bool:
        log = await stage.backend.delivery.message_log(participant.id)
        counts.clear()
        for entry in log:
            counts[entry["direction"]] = counts.get(entry["direction"], 0) + 1
        return all(
            counts.get(d, 0) == int(step.args[d]) for d in ("inbound", "outbound") if d in step.args
        )

    if not await stage.poll(holds, parse_duration(step.args["within"])):
        wanted = {d: step.args[d] for d in ("inbound", "outbound") if d in step.args}
        raise StepFailed(f"delivery logged {counts or 'nothing'}; expected {wanted}")
    return ", ".join(f"{d} {n}" for d, n in sorted(counts.items()))


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


def status_reached(status: str | None, wanted: str) -> bool:
    """A read message was delivered too: statuses only move forward (failed aside)."""
    if status is None:
        return False
    if wanted == "failed" or status == "failed":
        return status == wanted
    return STATUSES.index(status) >= STATUSES.index(wanted)


HANDLERS: dict[str, Handler] = {
    "expect_reply": expect_reply,
    "expect_reaction": expect_reaction,
    "expect_status": expect_status,
    "expect_state": expect_state,
    "expect_profile": expect_profile,
    "expect_jobs": expect_jobs,
    "expect_no_message": expect_no_message,
    "expect_logged": expect_logged,
}
