"""Run a list of scenario files against the stack the settings point at (`simulator run`)."""

from __future__ import annotations

import sys
from pathlib import Path

from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.report import TextReporter
from promptpipe_simulator.core.runner import ScenarioRunner, StackController
from promptpipe_simulator.core.scenario import ScenarioError, load
from promptpipe_simulator.settings import Settings


async def run_files(
    files: list[Path],
    settings: Settings,
    verbose: bool = False,
    cleanup: bool = False,
    controller: StackController | None = None,
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
    runner = ScenarioRunner(backend, controller=controller, cleanup=cleanup)
    failed = []
    try:
        for scenario in scenarios:
            result = await runner.run(scenario, reporter)
            if not result.passed:
                failed.append(scenario.name)
    finally:
        await backend.close()
    print(f"\n{len(scenarios) - len(failed)} passed, {len(failed)} failed", flush=True)
    for name in failed:
        print(f"  failed: {name}")
    return 1 if failed else 0
