"""Scenarios from the TUI: running a file live (its steps in the event log, its first
participant's chat open) and saving the open conversation as one."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from textual import work

from promptpipe_simulator.core.clients import StackError
from promptpipe_simulator.core.runner import ScenarioResult, ScenarioRunner, StepOutcome
from promptpipe_simulator.core.scenario import Scenario, ScenarioError, Step, load
from promptpipe_simulator.core.stack_control import controller_or_reason
from promptpipe_simulator.core.steps.stage import Actor
from promptpipe_simulator.settings import Settings
from promptpipe_simulator.tui.base import SimulatorBase
from promptpipe_simulator.tui.screens.ask import AskScreen


class LiveReporter:
    """Shows a scenario run in the event log as it happens."""

    def __init__(self, app: ScenarioActions) -> None:
        self.app = app

    def scenario_started(self, scenario: Scenario, actors: dict[str, Actor]) -> None:
        self.app.event_log.note(f"[b]▶ scenario {escape(scenario.name)}[/]")
        cast = [a.participant for a in actors.values() if a.participant]
        if cast:  # follow its first participant in the chat
            self.app.select(cast[0])

    def step_started(self, step: Step) -> None:
        pass

    def step_finished(self, outcome: StepOutcome) -> None:
        mark = "[green]✓[/]" if outcome.ok else "[red]✗[/]"
        log = self.app.event_log
        log.note(f"  {outcome.step.number:>3} {mark} {escape(outcome.step.describe())}")
        for line in outcome.failure.splitlines():
            log.note(f"        [red]{escape(line)}[/]")

    def scenario_finished(self, result: ScenarioResult) -> None:
        verdict = "[green]PASS[/]" if result.passed else "[red]FAIL[/]"
        self.app.event_log.note(f"{verdict} {escape(result.scenario.name)} {escape(result.error)}")


class ScenarioActions(SimulatorBase):
    def action_run_scenario(self) -> None:
        def answered(path: str | None) -> None:
            if path:
                self.run_scenario(Path(path))

        self.push_screen(
            AskScreen("Run the scenario file:", value="simulator/scenarios/"), answered
        )

    @work(group="scenario", exclusive=True)
    async def run_scenario(self, path: Path) -> None:
        """Run a scenario against the stack, its steps shown live in the event log."""
        try:
            scenario = load(path)
        except ScenarioError as exc:
            self.notify(str(exc), title="Scenario not run", severity="error")
            return
        self.event_log.remove_class("hidden")
        controller, reason = None, ""
        if scenario.needs_controller():  # restart steps: the stack ./scripts/up started
            controller, reason = controller_or_reason(Settings())
        runner = ScenarioRunner(
            self.backend, controller, self.personas, no_controller_reason=reason
        )
        result = await runner.run(scenario, LiveReporter(self))
        self.notify(
            f"{scenario.name}: {'passed' if result.passed else 'failed'}",
            title="Scenario",
            severity="information" if result.passed else "error",
        )

    @work(group="scenario")
    async def action_save_scenario(self) -> None:
        """Save the open conversation, with the clock jumps, pauses and faults made
        meanwhile, as a scenario file."""
        participant = self.need_participant()
        if participant is None:
            return
        try:
            path = await self.backend.save_scenario(participant, Path("scenarios"))
        except StackError as exc:
            self.notify(str(exc), title="Not saved", severity="error")
            return
        self.notify(f"Saved {path}", title="Scenario")
