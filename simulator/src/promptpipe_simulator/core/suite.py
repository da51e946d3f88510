"""Run a list of scenario files against the stack the settings point at (`simulator run`)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.report import TextReporter, tally, write_junit
from promptpipe_simulator.core.runner import ScenarioResult, ScenarioRunner
from promptpipe_simulator.core.scenario import ScenarioError, load
from promptpipe_simulator.core.stack_control import StackController
from promptpipe_simulator.settings import Settings


async def run_files(
    files: list[Path],
    settings: Settings,
    verbose: bool = False,
    cleanup: bool = False,
    controller: StackController | None = None,
    no_controller_reason: str = "",
    junit: Path | None = None,
) -> int:
    """Check every file first (a typo fails before anything runs), then run them in
    order; returns the process exit code: 0 all passed, 1 some failed, 2 bad files."""
    try:
        scenarios = [load(path) for path in files]
    except ScenarioError as exc:
        print(exc, file=sys.stderr)
        return 2
    backend = Backend(settings)
    reporter = TextReporter(sys.stdout, verbose=verbose)
    runner = ScenarioRunner(
        backend, controller=controller, cleanup=cleanup, no_controller_reason=no_controller_reason
    )
    results: list[ScenarioResult] = []
    started = time.monotonic()
    try:
        for scenario in scenarios:
            results.append(await runner.run(scenario, reporter))
    finally:
        await backend.close()
        seconds = time.monotonic() - started
        if junit is not None:
            write_junit(junit, results, seconds)
    print(tally(results, seconds), flush=True)
    return 0 if all(r.passed for r in results) else 1
