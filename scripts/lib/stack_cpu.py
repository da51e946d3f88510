"""End to end against the running native stack (`./scripts/up`): `simulator load` with N
participants, each waiting for its reply, and the CPU seconds each of the stack's
processes spent per 1,000 participant messages (from /proc/<pid>/stat before and after),
and the load driver's own, so that the next bottleneck is named by the figures. The
messages counted are those the load reports sent (Locust runs participants for its run
time, so more than participants times messages may be sent)."""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import stack

ROOT = Path(__file__).resolve().parents[2]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its reaped children so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_pids(state: Path) -> list[int]:
    """The stack's Postgres: the postmaster and every backend it forked."""
    pidfile = state / "pg" / "postmaster.pid"
    if not pidfile.exists():
        return []
    master = int(pidfile.read_text().split()[0])
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True
    )
    return [master, *(int(p) for p in out.stdout.split())]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=100)
    parser.add_argument("--messages", type=int, default=9, help="messages per participant")
    # All at once by default: at simulator load's 10 a second, a hundred participants
    # ramp up over most of a short run and the rate measures the ramp, not the stack.
    parser.add_argument(
        "--spawn-rate", type=float, default=100, help="participants started a second"
    )
    args = parser.parse_args()
    native = stack.default_stack()
    pids = {s: native.pid(s) for s in stack.SERVICES}
    if not all(pids.values()):
        print(
            "no native stack running: start one with STACK_MODE=native ./scripts/up",
            file=sys.stderr,
        )
        return 1
    env = {
        **os.environ,
        "SIM_DELIVERY_URL": native.url("delivery"),
        "SIM_AGENT_URL": native.url("agent"),
        "SIM_MOCK_WA_URL": native.url("mock_whatsapp"),
    }
    # Backends come and go with connections: count those alive across the run.
    pg_before = {p: cpu_seconds(p) for p in postgres_pids(native.state_dir)}
    before = {s: cpu_seconds(p) for s, p in pids.items() if p}
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = subprocess.run(
        [
            str(ROOT / ".venv/bin/simulator"),
            "load",
            "--participants",
            str(args.participants),
            "--messages",
            str(args.messages),
            "--spawn-rate",
            str(args.spawn_rate),
            "--cleanup",
        ],
        env=env,
        check=False,
        stdout=subprocess.PIPE,
        text=True,
    )
    print(load.stdout, end="")
    after = {s: cpu_seconds(p) for s, p in pids.items() if p}
    done = resource.getrusage(resource.RUSAGE_CHILDREN)
    driver = done.ru_utime + done.ru_stime - children.ru_utime - children.ru_stime
    pg_after = {p: cpu_seconds(p) for p in postgres_pids(native.state_dir)}
    reported = re.search(r"(\d+) sent, \d+ replied", load.stdout)
    messages = int(reported[1]) if reported else args.participants * args.messages
    print(f"CPU seconds per 1,000 participant messages ({messages} sent):")
    for service in stack.SERVICES:
        spent = after[service] - before[service]
        print(f"  {service:<14} {spent / messages * 1000:8.2f}")
    pg = sum(pg_after[p] - pg_before.get(p, 0.0) for p in pg_after)
    print(f"  {'postgres':<14} {pg / messages * 1000:8.2f}  (backends alive at the end)")
    print(f"  {'load driver':<14} {driver / messages * 1000:8.2f}  (simulator load, Locust)")
    return load.returncode


if __name__ == "__main__":
    sys.exit(main())
