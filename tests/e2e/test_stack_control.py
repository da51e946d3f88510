"""The simulator's native stack controller on a private stack: it restarts, stops and
starts services through scripts/lib/stack.py, as `up` started them, and waits for them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from promptpipe_simulator.core.stack_control import NativeStackControl, StackControlError
from stack_api import enroll, unique_phone

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


async def test_restart_stop_and_start_reach_the_stacks_own_processes(
    make_stack: Callable[..., Any], http: httpx.Client
) -> None:
    stack = make_stack()
    control = NativeStackControl(ROOT, stack.state_dir)
    participant = enroll(http, stack, unique_phone())
    before = stack.pid("delivery")

    await control.restart("delivery")
    after = stack.pid("delivery")
    assert after is not None and after != before
    assert http.get(f"{stack.url('delivery')}/readyz").status_code == 200
    # Started with the same settings: the same database, so the same participants.
    listed = http.get(f"{stack.url('delivery')}/conversation/participants").json()["result"]
    assert participant["id"] in [p["id"] for p in listed]

    await control.stop("agent")
    assert stack.pid("agent") is None
    with pytest.raises(httpx.ConnectError):
        http.get(f"{stack.url('agent')}/readyz")
    await control.start("agent")
    assert http.get(f"{stack.url('agent')}/readyz").status_code == 200


async def test_a_folder_without_a_stack_is_a_clear_error(tmp_path: Path) -> None:
    control = NativeStackControl(ROOT, tmp_path)
    with pytest.raises(StackControlError, match="no native stack in"):
        await control.restart("delivery")


def test_the_recorded_settings_leave_secrets_to_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from stack import NativeStack, Ports

    stack = NativeStack(
        tmp_path,
        Ports(delivery=1, agent=2, mock_whatsapp=3, postgres=4),
        database_url="postgresql://db",
        overrides={"DEV_CLOCK": "true", "OPENAI_API_KEY": "sk-local"},
    )
    stack.save()
    assert "sk-local" not in (tmp_path / "stack.json").read_text()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    loaded = NativeStack.load(tmp_path)
    assert (loaded.ports, loaded.database_url) == (stack.ports, "postgresql://db")
    assert loaded.overrides["DEV_CLOCK"] == "true"
    assert loaded.overrides["OPENAI_API_KEY"] == "sk-from-env"
