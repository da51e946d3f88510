"""Native stacks (real processes, real Postgres, real HTTP) for the end-to-end tests.

Choosing a stack, for a new test:

- `stack`: the shared stack. Take it when the test only acts on participants and phones of
  its own (`stack_api.unique_phone()`, then `enroll`), reads only what belongs to them,
  and leaves the stack as it found it: no clock moves, no faults, no restarts, no settings
  of its own. It is started once per pytest worker and shared by every such test, so it
  costs nothing more. A test that waits for "no further reply" should send a later
  message and wait for its answer (`stack_api.settle`) instead of sleeping.
- `clock_stack`: a stack shared by tests that move its clock, one after another on one
  worker. Take it when the test moves the clock but needs no settings of its own and
  asserts only on its own participants: a jump also fires the jobs that earlier tests'
  participants left, which reach only their phones.
- `make_stack(**settings)`: a private stack, started for this test and stopped at the end
  of the session. Take it when the test moves the clock, sets a fault, kills or restarts
  a service, or needs settings of its own (`make_stack(AGENT_INTENSITY_FROM_PROMPT="1")`).
  The tests of one module may share one through a module-scoped fixture
  (test_scenarios.py).

scripts/test runs pytest with `--dist loadfile`: a file's tests run on one xdist worker,
one after another, so a module-scoped stack is started once, and each worker starts the
shared stacks at most once, when its first test asks for them. (xdist's `loadgroup`
would gather them more tightly, but pytest-xdist 3.8 cannot tag the node ids of pytest 9.)

Each stack keeps its pid files, logs and recorded settings under this test run's folder
(`.stack/test/<run>/`, see scripts/lib/testruns.py), and its processes carry the run's
mark, so a run that is killed leaves nothing the next one does not stop. Ports are free
ports asked of the kernel, so xdist workers never collide.
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts" / "lib"))
sys.path.insert(0, str(Path(__file__).parent))  # stack_api, shared by the tests here
from stack import NativeStack, Ports  # noqa: E402


@pytest.fixture(scope="session")
def delivery_binary() -> Path:
    """Build delivery once (cheap when Go's build cache is warm); a lock keeps two xdist
    workers from writing the binary at the same time."""
    out = ROOT / ".stack" / "bin" / "delivery"
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run(
            ["go", "build", "-o", str(out), "./cmd/delivery"], cwd=ROOT / "delivery", check=True
        )
    return out


@pytest.fixture(scope="session")
def make_stack(
    delivery_binary: Path, create_database: Callable[[str], str], test_run_dir: Path
) -> Iterator[Callable[..., NativeStack]]:
    """Start stacks of delivery, agent and mock_whatsapp on free ports, each with a fresh
    database; settings are passed as keyword arguments. All are stopped at the end."""
    started: list[NativeStack] = []

    def make(**settings: str) -> NativeStack:
        native = NativeStack(
            Path(tempfile.mkdtemp(prefix="stack-", dir=test_run_dir)),
            Ports.free(),  # the candidate's and Prometheus's are used when settings ask
            database_url=create_database("e2e"),
            overrides={"MOCK_WA_STATUS_DELAY_SECONDS": "0.05", **settings},
        )
        started.append(native)
        native.up()
        return native

    yield make
    for native in started:
        native.down()
        for service in native.services():
            print(native.log_tail(service, lines=15))


@pytest.fixture(scope="session")
def stack(make_stack: Callable[..., NativeStack]) -> NativeStack:
    """The shared stack: see this module's docstring for what a test may do to it."""
    return make_stack()


@pytest.fixture(scope="session")
def clock_stack(make_stack: Callable[..., NativeStack]) -> NativeStack:
    """The stack shared by tests that move the clock, one after another."""
    return make_stack()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def _wait_for(
    probe: Callable[[], Any], timeout: float = 30, interval: float = 0.05, what: str = "condition"
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
