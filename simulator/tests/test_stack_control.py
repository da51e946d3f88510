"""Choosing and driving a stack controller: the commands each one runs, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from promptpipe_simulator.core.stack_control import (
    ComposeStackControl,
    NativeStackControl,
    StackControlError,
    choose_controller,
    choose_mode,
)
from promptpipe_simulator.settings import Settings


class Commands:
    """Records the commands a controller runs; answers with the given exit code."""

    def __init__(self, code: int = 0, output: str = "") -> None:
        self.ran: list[tuple[list[str], Path]] = []
        self.code, self.output = code, output

    async def __call__(self, command: list[str], cwd: Path) -> tuple[int, str]:
        self.ran.append((command, cwd))
        return self.code, self.output


URLS = {"delivery": "http://d", "agent": "http://a", "mock_whatsapp": "http://m"}


async def test_compose_restarts_the_service_then_waits_for_its_readyz(tmp_path: Path) -> None:
    commands = Commands()
    probed: list[str] = []

    async def ready(url: str) -> bool:
        probed.append(url)
        return len(probed) >= 3  # not ready twice, then ready

    compose = ComposeStackControl(tmp_path, URLS, run=commands, ready=ready)
    await compose.restart("delivery")
    assert commands.ran == [(["docker", "compose", "restart", "delivery"], tmp_path)]
    assert probed == ["http://d"] * 3

    await compose.stop("agent")
    await compose.start("agent")
    assert [c for c, _ in commands.ran[1:]] == [
        ["docker", "compose", "stop", "agent"],
        ["docker", "compose", "start", "agent"],
    ]
    assert probed[-1] == "http://a"


async def test_compose_failures_say_what_docker_said(tmp_path: Path) -> None:
    refused = ComposeStackControl(tmp_path, URLS, run=Commands(1, "no such service: delivery"))
    with pytest.raises(StackControlError, match="no such service"):
        await refused.restart("delivery")

    async def never(url: str) -> bool:
        return False

    stuck = ComposeStackControl(tmp_path, URLS, run=Commands(), ready=never, timeout=0)
    with pytest.raises(StackControlError, match="delivery not ready"):
        await stuck.start("delivery")


async def test_native_runs_the_stack_script_on_the_stack_state(tmp_path: Path) -> None:
    commands = Commands()
    native = NativeStackControl(tmp_path, tmp_path / "state", run=commands)
    await native.restart("delivery")
    [(command, cwd)] = commands.ran
    assert cwd == tmp_path
    assert command[1:] == [
        str(tmp_path / "scripts" / "lib" / "stack.py"),
        "--state",
        str(tmp_path / "state"),
        "restart",
        "delivery",
    ]
    failing = NativeStackControl(tmp_path, run=Commands(1, "no native stack in x"))
    with pytest.raises(StackControlError, match=r"could not stop agent .*no native stack"):
        await failing.stop("agent")


def test_the_mode_is_the_flag_then_stack_mode_then_what_up_recorded(tmp_path: Path) -> None:
    assert choose_mode("compose", tmp_path, {"STACK_MODE": "native"}) == "compose"
    assert choose_mode(None, tmp_path, {"STACK_MODE": "native"}) == "native"
    assert choose_mode(None, tmp_path, {}) == "none"
    (tmp_path / ".stack" / "native").mkdir(parents=True)
    (tmp_path / ".stack" / "native" / "stack.json").write_text("{}")
    assert choose_mode(None, tmp_path, {}) == "native"
    (tmp_path / ".stack" / "mode").write_text("compose\n")
    assert choose_mode(None, tmp_path, {}) == "compose"
    with pytest.raises(StackControlError, match="STACK_MODE must be"):
        choose_mode(None, tmp_path, {"STACK_MODE": "k8s"})


def test_choosing_says_clearly_why_no_controller_can_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STACK_MODE", raising=False)
    assert choose_controller("none", Settings(), tmp_path) is None
    with pytest.raises(StackControlError, match="no stack started by"):
        choose_controller(None, Settings(), tmp_path)
    with pytest.raises(StackControlError, match="no native stack in"):
        choose_controller("native", Settings(), tmp_path)
    (tmp_path / ".stack" / "native" / "run").mkdir(parents=True)
    native = choose_controller("native", Settings(), tmp_path)
    assert isinstance(native, NativeStackControl)
    assert native.state_dir == tmp_path / ".stack" / "native"
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker here
    with pytest.raises(StackControlError, match="`docker` is not here"):
        choose_controller("compose", Settings(), tmp_path)
