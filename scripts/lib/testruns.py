"""Test runs, and the processes a killed run leaves behind.

A test run (`scripts/test`, or pytest started by hand) keeps its files under
`.stack/test/<run id>/` (private stacks with their pid files, the throwaway Postgres) and
an `owner` file naming the process that leads it. Every process the run starts (stack
services in their own sessions, Postgres, the mock, Chromium, `go run`) inherits
`PROMPTPIPE_TEST_RUN=<run id>` from it. A run that ends normally stops what it started and
deletes its folder. A run that is killed cannot, so the next `scripts/test`,
`scripts/down` or pytest session calls `reap`: for every run whose owner is gone it stops
the run's Postgres clusters, then every process still marked with the run's id, and
deletes the folder; a Compose project the run recorded is taken down too. Runs whose
owner is alive (another terminal) are left alone, and so is every process of another
worktree: only ids listed under this worktree's folder are reaped.

    python scripts/lib/testruns.py reap      # what scripts/test and scripts/down run
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pgcluster

ROOT = Path(__file__).resolve().parents[2]
RUNS = ROOT / ".stack" / "test"
MARK = "PROMPTPIPE_TEST_RUN"
OWNER = "owner"
COMPOSE_PROJECT = "compose-project"  # the Compose project a run started, if any


def begin(owner_pid: int, runs: Path = RUNS) -> Path:
    """Open a run led by `owner_pid`; returns its folder, whose name is the run's id.
    The caller exports MARK=<folder name> so that what it starts carries the mark."""
    runs.mkdir(parents=True, exist_ok=True)
    # Postgres runs as its own user when we are root: it must reach the data folder.
    for folder in (runs.parent, runs):
        with contextlib.suppress(PermissionError):
            folder.chmod(0o755)
    run = runs / f"{time.strftime('%Y%m%d-%H%M%S')}-{owner_pid}-{secrets.token_hex(3)}"
    run.mkdir(mode=0o755)
    (run / OWNER).write_text(f"{owner_pid} {_start_time(owner_pid)}\n")
    return run


def end(run: Path) -> None:
    """Close a run: stop whatever it still has running (nothing, when its tests cleaned
    up; its pytest and stacks, when the run is cut short) and delete its folder."""
    _finish(run)


def reap(runs: Path = RUNS) -> list[str]:
    """Stop what runs whose owner is gone left running; returns a line per reaped run."""
    if not runs.is_dir():
        return []
    reaped = []
    for run in sorted(p for p in runs.iterdir() if p.is_dir()):
        if _owner_alive(run):
            continue
        stopped = _finish(run)
        reaped.append(f"reaped test run {run.name}: {stopped} leftover process(es) stopped")
    return reaped


def _finish(run: Path) -> int:
    """Stop a run's clusters, its marked processes and its Compose project; delete it."""
    _stop_clusters(run)
    stopped = stop_marked(run.name)
    _stop_compose(run)
    shutil.rmtree(run, ignore_errors=True)
    return stopped


def marked(run_id: str) -> list[int]:
    """Pids of the processes that carry this run's mark, never this process or its parents."""
    needle = f"{MARK}={run_id}".encode()
    spared = _self_and_ancestors()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in spared:
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:  # gone already, or another user's process
            continue
        if needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def stop_marked(run_id: str, grace: float = 5.0) -> int:
    """SIGTERM every process marked with `run_id`, SIGKILL what is left after `grace`."""
    pids = marked(run_id)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_running(pid) for pid in pids):
        time.sleep(0.05)
    for pid in pids:
        if _running(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    return len(pids)


def _stop_clusters(run: Path) -> None:
    """Stop the Postgres clusters under a run folder quickly (their data is thrown away)."""
    for pidfile in run.rglob("postmaster.pid"):
        datadir = pidfile.parent
        with contextlib.suppress(Exception):
            pgcluster.Cluster(datadir, 0).stop(mode="immediate")


def _stop_compose(run: Path) -> None:
    """Remove the containers and volumes of the Compose project the run started."""
    try:
        project = (run / COMPOSE_PROJECT).read_text().strip()
    except FileNotFoundError:
        return
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(
            ["docker", "compose", "-p", project, "down", "--volumes", "--remove-orphans"],
            cwd=ROOT,
            capture_output=True,
            timeout=120,
        )


def _owner_alive(run: Path) -> bool:
    try:
        pid, started = (run / OWNER).read_text().split()
    except (FileNotFoundError, ValueError):
        # A folder being created this very moment has no owner file yet.
        return time.time() - run.stat().st_mtime < 60
    # The same pid with another start time is a new process that reused the number.
    return _running(int(pid)) and _start_time(int(pid)) == started


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot ('' when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped by its parent."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _self_and_ancestors() -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return pids


def main(argv: list[str]) -> int:
    if argv[1:] == ["reap"]:
        for line in reap():
            print(line, file=sys.stderr)
        return 0
    if argv[1:2] == ["begin"] and len(argv) == 3:
        print(begin(int(argv[2])).name)
        return 0
    if argv[1:2] == ["end"] and len(argv) == 3:
        end(RUNS / argv[2])
        return 0
    print("usage: testruns.py reap | begin OWNER_PID | end RUN_ID", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
