"""A private native stack (real processes, real Postgres, real HTTP) for end-to-end tests."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "lib"))
sys.path.insert(0, str(Path(__file__).parent))  # stack_api, shared by the tests here
import pgcluster  # noqa: E402
from stack import NativeStack, Ports  # noqa: E402


@pytest.fixture(scope="session")
def delivery_binary() -> Path:
    """Build delivery once per session (cheap when Go's build cache is warm)."""
    out = ROOT / ".stack" / "bin" / "delivery"
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["go", "build", "-o", str(out), "./cmd/delivery"], cwd=ROOT / "delivery", check=True
    )
    return out


@pytest.fixture(scope="session")
def make_stack(
    delivery_binary: Path,
    create_database: Callable[[str], str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., NativeStack]]:
    """Start stacks of delivery, agent and mock_whatsapp on free ports, each with a fresh
    database; settings are passed as keyword arguments. All are stopped at the end."""
    started: list[NativeStack] = []

    def make(**settings: str) -> NativeStack:
        ports = Ports(
            delivery=pgcluster.free_port(),
            agent=pgcluster.free_port(),
            mock_whatsapp=pgcluster.free_port(),
        )
        native = NativeStack(
            tmp_path_factory.mktemp("stack"),
            ports,
            database_url=create_database("e2e"),
            overrides={"MOCK_WA_STATUS_DELAY_SECONDS": "0.05", **settings},
        )
        started.append(native)
        native.up()
        return native

    yield make
    for native in started:
        native.down()
        for service in ("delivery", "agent", "mock_whatsapp"):
            print(native.log_tail(service, lines=15))


@pytest.fixture(scope="session")
def stack(make_stack: Callable[..., NativeStack]) -> NativeStack:
    """One stack shared by the tests that do not disturb it."""
    return make_stack()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def _wait_for(
    probe: Callable[[], Any], timeout: float = 30, interval: float = 0.1, what: str = "condition"
) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


@pytest.fixture
def wait_for() -> Callable[..., Any]:
    """Poll a probe until it returns something truthy; fail the test after a timeout."""
    return _wait_for
