"""Every shipped scenario (simulator/scenarios/*.yaml) run by the simulator's headless
runner against a private native stack, one test per file. The runner gets the
simulator's native controller of that stack, so scenarios that restart a service run too."""

from __future__ import annotations

import io
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from promptpipe_simulator.core.backend import Backend
from promptpipe_simulator.core.report import TextReporter
from promptpipe_simulator.core.runner import ScenarioRunner
from promptpipe_simulator.core.scenario import load, scenario_files
from promptpipe_simulator.core.stack_control import NativeStackControl
from promptpipe_simulator.settings import Settings

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = scenario_files([ROOT / "simulator" / "scenarios"])


@pytest.fixture(scope="module")
def scenario_stack(make_stack: Callable[..., Any]) -> Any:
    """A stack of its own: scenarios move its clock, set faults and restart delivery, so
    they run one after another on it. With the migration's candidate agent, for
    migration-rollback.yaml (docs/migration.md)."""
    return make_stack(STACK_CANDIDATE="true")


@pytest.fixture(scope="module")
def worlds_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped world descriptions, where a scenario's `world:` is generated and kept
    for the scenarios after it (not in the working tree)."""
    folder = tmp_path_factory.mktemp("worlds")
    for spec in (ROOT / "worlds").glob("*.yaml"):
        shutil.copy(spec, folder)
    return folder


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
async def test_scenario(path: Path, scenario_stack: Any, worlds_dir: Path) -> None:
    settings = Settings(
        delivery_url=scenario_stack.url("delivery"),
        mock_wa_url=scenario_stack.url("mock_whatsapp"),
        agent_url=scenario_stack.url("agent"),
        worlds_dir=worlds_dir,
    )
    scenario = load(path)
    backend = Backend(settings)
    controller = NativeStackControl(ROOT, scenario_stack.state_dir)
    runner = ScenarioRunner(backend, controller=controller, cleanup=True)
    out = io.StringIO()
    try:
        result = await runner.run(scenario, TextReporter(out, verbose=True))
    finally:
        await backend.close()
    assert result.passed, out.getvalue()


def test_every_flow_has_a_scenario() -> None:
    """The flows the simulator promises to cover, each by at least one shipped file."""
    names = {p.stem for p in SCENARIOS}
    assert {
        "intake-try-now",
        "intake-personalize",
        "prompt-answered-done",
        "prompt-ignored-reminder",
        "feedback-loop",
        "feedback-checkins",
        "intensity",
        "pause-and-delete",
        "unknown-sender",
        "duplicate-delivery",
        "agent-down",
        "delivery-restart",
        "whatsapp-errors",
        "webhook-duplicated-by-whatsapp",
        "migration-rollback",
    } <= names
