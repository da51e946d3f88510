"""Readable output of scenario runs: a line per scenario (each step with `-v`), the
failing step with what it saw, a final tally, and JUnit XML for CI systems."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TextIO

from promptpipe_simulator.core.runner import ScenarioResult, StepOutcome
from promptpipe_simulator.core.scenario import Scenario, Step
from promptpipe_simulator.core.steps.stage import Actor


class TextReporter:
    """Prints a summary line as each scenario finishes, with its failing step and why;
    `verbose` also prints every step as it finishes and what it saw."""

    def __init__(self, out: TextIO, verbose: bool = False) -> None:
        self.out = out
        self.verbose = verbose

    def scenario_started(self, scenario: Scenario, actors: dict[str, Actor]) -> None:
        if not self.verbose:
            return
        where = f"  ({scenario.path})" if scenario.path else ""
        self._print(f"\n▶ {scenario.name}{where}")
        for actor in actors.values():
            enrolled = "" if actor.participant else ", not enrolled"
            ident = f" {actor.participant.id}" if actor.participant else ""
            self._print(f"  {actor.alias}: +{actor.phone} {actor.timezone}{enrolled}{ident}")

    def step_started(self, step: Step) -> None:
        pass

    def step_finished(self, outcome: StepOutcome) -> None:
        if not self.verbose:
            return
        self._print(step_line(outcome))
        if outcome.ok and outcome.detail:
            self._print(f"        → {outcome.detail}")
        if not outcome.ok:
            self._print(indent(outcome.failure, 8))

    def scenario_finished(self, result: ScenarioResult) -> None:
        self._print(summary_line(result))
        if result.passed or self.verbose:
            return
        if result.error:
            self._print(f"      {result.error}")
        failed = next((o for o in result.outcomes if not o.ok), None)
        if failed is not None:
            self._print(step_line(failed, width=0))
            self._print(indent(failed.failure, 8))

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)


def summary_line(result: ScenarioResult) -> str:
    """`✓ PASS  Intake by try-now  (intake-try-now.yaml)  6/6 steps  8.1s`."""
    scenario = result.scenario
    mark, verdict = ("✓", "PASS") if result.passed else ("✗", "FAIL")
    where = f"  ({scenario.path.name})" if scenario.path else ""
    steps = f"{len(result.outcomes)}/{len(scenario.steps)} steps"
    return f"{mark} {verdict}  {scenario.name}{where}  {steps}  {result.seconds:.1f}s"


def step_line(outcome: StepOutcome, width: int = 78) -> str:
    """A step's number, mark, action and time; the times in a column at `width` (0: none)."""
    step = outcome.step
    mark = "✓" if outcome.ok else "✗"
    who = f"{step.actor}: " if step.actor != "participant" else ""
    line = f"  {step.number:>3} {mark} {who}{step.describe()}"
    if not width:
        return f"{line}  {outcome.seconds:.1f}s"
    return f"{line:<{width}} {outcome.seconds:5.1f}s"


def indent(text: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in text.splitlines())


def tally(results: list[ScenarioResult], seconds: float) -> str:
    """The final lines: counts, time, and the names of the scenarios that failed."""
    failed = [r for r in results if not r.passed]
    noun = "scenario" if len(results) == 1 else "scenarios"
    lines = [
        f"\n{len(results)} {noun}: {len(results) - len(failed)} passed, "
        f"{len(failed)} failed in {seconds:.1f}s"
    ]
    lines += [f"  failed: {r.scenario.name}" for r in failed]
    return "\n".join(lines)


def junit_xml(results: list[ScenarioResult], seconds: float) -> str:
    """One <testcase> per scenario, its steps in <system-out>, its failing step in
    <failure>: the report format CI systems show as test results."""
    failures = sum(1 for r in results if not r.passed and not r.error)
    errors = sum(1 for r in results if r.error)
    suite = ET.Element(
        "testsuite",
        name="scenarios",
        tests=str(len(results)),
        failures=str(failures),
        errors=str(errors),
        skipped="0",
        time=f"{seconds:.3f}",
    )
    for result in results:
        scenario = result.scenario
        case = ET.SubElement(
            suite,
            "testcase",
            classname="scenarios",
            name=scenario.path.stem if scenario.path else scenario.name,
            file=str(scenario.path or ""),
            time=f"{result.seconds:.3f}",
        )
        log = [scenario.name, *(step_line(o) for o in result.outcomes)]
        failed = next((o for o in result.outcomes if not o.ok), None)
        if result.error:
            error = ET.SubElement(case, "error", message=result.error)
            error.text = result.error
        elif failed is not None:
            message = f"step {failed.step.number}: {failed.step.describe()}"
            failure = ET.SubElement(case, "failure", message=message)
            failure.text = failed.failure
        elif not result.passed:
            ET.SubElement(case, "failure", message="the scenario ran no step")
        ET.SubElement(case, "system-out").text = "\n".join(log)
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(path: Path, results: list[ScenarioResult], seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(junit_xml(results, seconds), encoding="utf-8")
