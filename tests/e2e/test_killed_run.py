"""A test run killed in the middle leaves nothing behind that the next run does not stop:
its private stack (services in sessions of their own) and its Postgres cluster."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import testruns
from stack import SERVICES

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]

# A run as conftest.py opens one (its own id, exported to what it starts), holding a
# private stack with its own cluster, as make_stack builds them; it prints its pids and
# waits to be killed.
RUN = textwrap.dedent(
    """
    import os, sys, time
    sys.path.insert(0, "scripts/lib")
    import pgcluster, testruns
    from stack import SERVICES, NativeStack, Ports

    run = testruns.begin(os.getpid())
    os.environ[testruns.MARK] = run.name
    free = pgcluster.free_port
    stack = NativeStack(run / "stack", Ports(free(), free(), free(), free()))
    stack.up()
    print(run.name, stack.cluster.datadir, *(stack.pid(s) for s in SERVICES), flush=True)
    time.sleep(600)
    """
)


def alive(pid: int) -> bool:
    return testruns._running(pid)


def test_a_killed_run_is_reaped_by_the_next(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != testruns.MARK}
    with subprocess.Popen(
        [sys.executable, "-c", RUN], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    ) as run:
        try:
            assert run.stdout is not None
            run_id, datadir, *pids = run.stdout.readline().split()
        finally:
            run.kill()  # as a timeout or a closed terminal would
    services = [int(p) for p in pids]
    postmaster = int((Path(datadir) / "postmaster.pid").read_text().split()[0])
    # The premise: the killed run's processes outlived it.
    assert len(services) == len(SERVICES) and all(alive(p) for p in [*services, postmaster])
    assert set(services) <= set(testruns.marked(run_id))

    reaped = subprocess.run(
        [sys.executable, "scripts/lib/testruns.py", "reap"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert reaped.returncode == 0, reaped.stderr
    assert f"reaped test run {run_id}" in reaped.stderr
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(p) for p in [*services, postmaster]):
        time.sleep(0.05)
    assert [p for p in [*services, postmaster] if alive(p)] == []
    assert testruns.marked(run_id) == []
    assert not (testruns.RUNS / run_id).exists()


def test_the_shared_stack_carries_this_runs_mark(stack: Any) -> None:
    """What the e2e fixtures start is marked, so a kill of this run is reaped too."""
    mine = set(testruns.marked(os.environ[testruns.MARK]))
    assert {stack.pid(s) for s in SERVICES} <= mine
    assert Path(stack.state_dir).is_relative_to(testruns.RUNS / os.environ[testruns.MARK])


def test_a_live_run_is_left_alone() -> None:
    """Another terminal's run, still going, is not reaped."""
    me = testruns.begin(os.getpid())
    try:
        assert all(me.name not in line for line in testruns.reap())
        assert me.exists()
    finally:
        testruns.end(me)


def test_a_signal_ends_the_session_as_ctrl_c_does() -> None:
    # conftest.py turns SIGTERM into KeyboardInterrupt, so fixtures still tear down.
    with pytest.raises(KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(1)
