"""The migration between two agents in a scenario (docs/migration.md): the operator
drives delivery's shadow switch, rollout, promote, rollback and the candidate's fault
switch; the check waits for the rollout, the shadow comparisons or an actor's arm."""

from __future__ import annotations

from typing import Any

from promptpipe_simulator.core.clients import Refused
from promptpipe_simulator.core.migration import MigrationClient
from promptpipe_simulator.core.scenario import Step, parse_duration
from promptpipe_simulator.core.steps.stage import Actor, Handler, Stage, StepFailed


def migration_client(stage: Stage) -> MigrationClient:
    return MigrationClient.beside(stage.backend.delivery)


async def migration(step: Step, actor: Actor, stage: Stage) -> str:
    """Drive delivery's migration: shadow, a rollout, promote, roll back, the
    candidate's fault switch, in that order when several are given."""
    a, done = step.args, []
    client = migration_client(stage)
    try:
        if "shadow" in a:
            await client.set_shadow(a["shadow"])
            stage.faulted.add("shadow")
            done.append(f"shadow {'on' if a['shadow'] else 'off'}")
        if "rollout" in a:
            done.append(f"rollout at {await client.start_rollout(a['rollout'])} %")
        if a.get("promote"):
            await client.promote()
            done.append("promoted")
        if a.get("rollback"):
            await client.rollback("rolled back by the scenario")
            done.append("rolled back")
        if "candidate_fault" in a:
            await client.set_candidate_fault(a["candidate_fault"])
            stage.faulted.add("candidate")
            done.append(f"candidate {a['candidate_fault']}")
    except Refused as exc:
        if exc.status in (404, 405, 409):
            raise StepFailed(
                f"delivery has no candidate agent or no migration routes here ({exc}); "
                "run the stack with ./scripts/up --candidate"
            ) from exc
        raise
    return ", ".join(done)


async def expect_migration(step: Step, actor: Actor, stage: Stage) -> str:
    """The rollout's percentage, status, shadow switch, the comparisons made, or the
    actor's arm, as expected (within the step's patience)."""
    a = step.args
    client = migration_client(stage)
    seen: dict[str, Any] = {}

    async def holds() -> bool:
        r = await client.report()
        arm = r.arm_of.get(actor.participant.id) if actor.participant else None
        seen.update(
            percent=r.percent, status=r.status, shadow=r.shadow, compared=r.compared, arm=arm
        )
        return (
            a.get("percent", r.percent) == r.percent
            and a.get("status", r.status) == r.status
            and a.get("shadow", r.shadow) == r.shadow
            and r.compared >= int(a.get("compared", 0))
            and a.get("arm", arm) == arm
        )

    if not await stage.poll(holds, parse_duration(a["within"])):
        wanted = {k: v for k, v in a.items() if k != "within"}
        raise StepFailed(f"the migration is {seen or 'unreadable'}; expected {wanted}")
    return ", ".join(f"{k} {seen[k]}" for k in a if k != "within")


async def undo(stage: Stage) -> None:
    """Switch the candidate's fault and shadow mode back off, if a step switched them."""
    client = migration_client(stage)
    if "candidate" in stage.faulted:
        await client.set_candidate_fault("ok")
    if "shadow" in stage.faulted:
        await client.set_shadow(False)


HANDLERS: dict[str, Handler] = {
    "migration": migration,
    "expect_migration": expect_migration,
}
