"""Readable terminal output of scenario runs: one line per step, a clear diff on failure."""

from __future__ import annotations

from typing import TextIO

from promptpipe_simulator.core.runner import Actor, ScenarioResult, StepOutcome
from promptpipe_simulator.core.scenario import Scenario, Step


class TextReporter:
    """Prints each step as it finishes; `verbose` also shows what each step saw."""

    def __init__(self, out: TextIO, verbose: bool = False) -> None:
        self.out = out
        self.verbose = verbose

    def scenario_started(self, scenario: Scenario, actors: dict[str, Actor]) -> None:
        where = f"  ({scenario.path})" if scenario.path else ""
        self._print(f"\n▶ {scenario.name}{where}")
        for actor in actors.values():
            enrolled = "" if actor.participant else ", not enrolled"
            ident = f" {actor.participant.id}" if actor.participant else ""
            self._print(f"  {actor.alias}: +{actor.phone} {actor.timezone}{enrolled}{ident}")

    def step_started(self, step: Step) -> None:
        pass

    def step_finished(self, outcome: StepOutcome) -> None:
        step = outcome.step
        mark = "✓" if outcome.ok else "✗"
        who = f"{step.actor}: " if step.actor != "participant" else ""
        line = f"  {step.number:>3} {mark} {who}{step.describe()}"
        line = f"{line:<78} {outcome.seconds:5.1f}s"
        self._print(line)
        if outcome.ok and self.verbose and outcome.detail:
            self._print(f"        → {outcome.detail}")
        if not outcome.ok:
            for failure_line in outcome.failure.splitlines():
                self._print(f"        {failure_line}")

    def scenario_finished(self, result: ScenarioResult) -> None:
        verdict = "PASS" if result.passed else "FAIL"
        if result.error:
            self._print(f"\n▶ {result.scenario.name}\n  {result.error}")
        done = len(result.outcomes)
        total = len(result.scenario.steps)
        self._print(
            f"{verdict} {result.scenario.name}: {done}/{total} steps, {result.seconds:.1f}s"
        )

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)
