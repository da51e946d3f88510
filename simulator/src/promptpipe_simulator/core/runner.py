"""Runs scenarios against a running stack through its public APIs, step by step.

The runner casts the scenario's participants, plays its steps in order (what each step
does is in core/steps/: the participant's actions, the operator's, the checks) and
reports each to a `Reporter`, so the same run prints to a terminal (`simulator run`),
shows live in the TUI, or feeds a test. Stopping or starting a service needs a
`StackController` (core/stack_control.py: a native or a Compose stack; the tests use the
native one on their private stacks); without one such steps fail and say why.
"""

from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass, field
from typing import Protocol

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.clients import StackError
from promptpipe_simulator.core.personas import PersonaFactory
from promptpipe_simulator.core.scenario import Scenario, Step
from promptpipe_simulator.core.stack_control import StackController
from promptpipe_simulator.core.steps import HANDLERS
from promptpipe_simulator.core.steps.operator_actions import clear_faults
from promptpipe_simulator.core.steps.stage import Actor, Stage, StepFailed
from promptpipe_simulator.core.worldgen import load_or_generate


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
        self.stage = Stage(backend, controller, no_controller_reason, poll_seconds)
        self.personas = personas or PersonaFactory()
        self.cleanup = cleanup  # delete the scenario's participants afterwards

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
                outcome = await self._run_step(step, actors[step.actor])
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
        await clear_faults(self.stage)
        if self.cleanup:
            for actor in actors.values():
                if actor.participant is not None:
                    with contextlib.suppress(StackError):
                        await self.backend.delete(actor.participant.id)

    async def _run_step(self, step: Step, actor: Actor) -> StepOutcome:
        started = time.monotonic()
        try:
            detail = await HANDLERS[step.action](step, actor, self.stage)
        except StepFailed as exc:
            return StepOutcome(step, False, time.monotonic() - started, failure=str(exc))
        except StackError as exc:
            failure = f"the stack refused or did not answer: {exc}"
            return StepOutcome(step, False, time.monotonic() - started, failure=failure)
        return StepOutcome(step, True, time.monotonic() - started, detail=detail)
