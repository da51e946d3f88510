"""What the operator does in a scenario: move the clock, wait, pause, resume or delete a
participant, switch faults, stop and start services, replay a webhook."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from datetime import datetime, timedelta
from typing import Any

from promptpipe_simulator.core.clients import Refused, StackError
from promptpipe_simulator.core.scenario import (
    Step,
    parse_duration,
    parse_local_time,
    parse_signed_duration,
)
from promptpipe_simulator.core.steps import migration
from promptpipe_simulator.core.steps.stage import Actor, Handler, Stage, StepFailed
from promptpipe_simulator.core.timetravel import next_local


async def advance(step: Step, actor: Actor, stage: Stage) -> str:
    a = step.args
    if "by" in a:
        seconds = parse_duration(a["by"])
    else:
        now = parse_time((await stage.backend.clock())["now"])
        if "to" in a:
            target = next_local(now, actor.timezone, *parse_local_time(str(a["to"])))
        else:
            target = await _next_job_time(stage, actor, str(a["to_job"]))
        if a.get("offset"):
            target += timedelta(seconds=parse_signed_duration(a["offset"]))
        seconds = (target - now).total_seconds()
        if seconds <= 0:
            return f"already past {target.isoformat()}; clock not moved"
    clock = await stage.backend.advance_clock(f"{max(1, round(seconds))}s")
    return f"now {clock.get('now')}"


async def _next_job_time(stage: Stage, actor: Actor, kind: str) -> datetime:
    participant = actor.require_participant()
    jobs = await stage.backend.delivery.jobs(participant.id)
    times = [parse_time(j["next_run_at"]) for j in jobs if re.fullmatch(kind, j["kind"])]
    if not times:
        raise StepFailed(f"no pending {kind} job; pending: {job_kinds(jobs) or 'nothing'}")
    return min(times)


async def wait(step: Step, actor: Actor, stage: Stage) -> str:
    await asyncio.sleep(parse_duration(step.args["for"]))
    return ""


async def pause(step: Step, actor: Actor, stage: Stage) -> str:
    participant = actor.require_participant()
    actor.participant = await stage.backend.set_status(participant.id, "paused")
    return ""


async def resume(step: Step, actor: Actor, stage: Stage) -> str:
    participant = actor.require_participant()
    actor.participant = await stage.backend.set_status(participant.id, "active")
    return ""


async def delete(step: Step, actor: Actor, stage: Stage) -> str:
    await stage.backend.delete(actor.require_participant().id)
    return ""


async def fault(step: Step, actor: Actor, stage: Stage) -> str:
    a = step.args
    delivery, phones = stage.backend.delivery, stage.backend.phones
    try:
        if "agent" in a:
            delay = parse_duration(a.get("delay", 0))
            switched = await delivery.set_agent_fault(a["agent"], delay)
            stage.faulted.add("agent")
            return f"agent {switched.get('mode', a['agent'])}"
        if "whatsapp" in a:
            added = await phones.add_fault(a["whatsapp"])
            stage.faulted.add("whatsapp")
            return f"fault {added.get('id', '')}"
        if a["clear"] in ("agent", "all"):
            await delivery.set_agent_fault("ok")
        if a["clear"] in ("whatsapp", "all"):
            await phones.clear_faults()
        return "cleared"
    except Refused as exc:
        if exc.status in (404, 405):
            service = "delivery" if "agent" in a else "mock_whatsapp"
            raise StepFailed(
                f"{service} has no faults API here (it answered {exc.status}); delivery "
                "needs DEV_CLOCK=true for /dev/faults/agent"
            ) from exc
        raise


async def clear_faults(stage: Stage) -> None:
    """Switch off the faults the run's steps left on (the run is over, or stopped)."""
    with contextlib.suppress(StackError):
        if "agent" in stage.faulted:
            await stage.backend.delivery.set_agent_fault("ok")
        if "whatsapp" in stage.faulted:
            await stage.backend.phones.clear_faults()
        await migration.undo(stage)
    stage.faulted.clear()


async def restart(step: Step, actor: Actor, stage: Stage) -> str:
    await stage.require_controller(step).restart(step.args["service"])
    return ""


async def stop(step: Step, actor: Actor, stage: Stage) -> str:
    await stage.require_controller(step).stop(step.args["service"])
    return ""


async def start(step: Step, actor: Actor, stage: Stage) -> str:
    await stage.require_controller(step).start(step.args["service"])
    return ""


async def replay_webhook(step: Step, actor: Actor, stage: Stage) -> str:
    """Deliver the participant's last message to delivery a second time, byte for byte
    and with Meta's signature, as WhatsApp does when it retries a webhook."""
    sent = actor.last_sent
    if sent is None:
        raise StepFailed("the participant has sent nothing to replay")

    async def find() -> dict[str, Any] | None:
        for delivery in await stage.backend.webhook_deliveries():
            value = delivery["payload"]["entry"][0]["changes"][0]["value"]
            if any(m.get("id") == sent.id for m in value.get("messages") or []):
                return delivery
        return None

    delivery = await stage.poll(find, 5)
    if delivery is None:
        raise StepFailed(f"mock_whatsapp has no webhook for message {sent.id}")
    # The mock signs exactly these bytes (compact JSON, UTF-8), so the signature holds.
    body = json.dumps(delivery["payload"], separators=(",", ":"), ensure_ascii=False)
    status = await stage.backend.delivery.post_webhook(body.encode(), delivery["signature"])
    return f"delivery answered {status}"


def job_kinds(jobs: list[dict[str, Any]]) -> list[str]:
    """The kinds of delivery's pending jobs, sorted, for a step's report."""
    return sorted(str(j["kind"]) for j in jobs)


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


HANDLERS: dict[str, Handler] = {
    "advance": advance,
    "wait": wait,
    "pause": pause,
    "resume": resume,
    "delete": delete,
    "fault": fault,
    "restart": restart,
    "stop": stop,
    "start": start,
    "replay_webhook": replay_webhook,
}
