"""Measures the whole stack under simulated participants: 20, 100 and 500 of them (or the
counts given) through the personalize intake on the offline model, one after the other,
against one private native stack (own Postgres cluster, free ports). Each level is a
`simulator load` run (Locust, the same participants as the tests). For each it prints
replies/s, reply latency p50/p95/p99 (the mock's timestamps), lost and duplicated
replies (the final chat check), and the CPU seconds each process used (from /proc:
delivery, agent, mock_whatsapp, Postgres with its backends, and Locust itself); then the
ratios to the first level, measured in the same run, and the knee: the first count whose
p99 passes one second."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from stack import ROOT, NativeStack, Ports

TICKS = os.sysconf("SC_CLK_TCK")
SERVICES = ("delivery", "agent", "mock_whatsapp")
KNEE_MS = 1000.0


def cpu_seconds(pid: int, children: bool = True) -> float:
    """User + system CPU of a process, plus its reaped children's when asked."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    return (utime + stime + (cutime + cstime if children else 0)) / TICKS


def postgres_seconds(datadir: Path) -> float:
    """The cluster's CPU: the postmaster, its live backends, and those that have exited."""
    postmaster = int((datadir / "postmaster.pid").read_text().split()[0])
    total = cpu_seconds(postmaster)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if ppid == postmaster:
            total += cpu_seconds(int(entry.name))
    return total


def snapshot(stack: NativeStack) -> dict[str, float]:
    seconds = {s: cpu_seconds(stack.pid(s) or 0) for s in SERVICES}
    seconds["postgres"] = postgres_seconds(stack.cluster.datadir)
    return seconds


def run_level(stack: NativeStack, participants: int, workdir: Path) -> dict[str, object]:
    stats_file = workdir / f"stats-{participants}"
    env = {
        **os.environ,
        "SIM_DELIVERY_URL": stack.url("delivery"),
        "SIM_MOCK_WA_URL": stack.url("mock_whatsapp"),
        "SIM_AGENT_URL": stack.url("agent"),
    }
    command = [
        *[str(ROOT / ".venv" / "bin" / "python"), "-m", "promptpipe_simulator", "load"],
        *["--participants", str(participants), "--spawn-rate", "50", "--duration", "15m"],
        # The intake by personalize, as fast as the replies come, nobody silent.
        *["--personalize", "1", "--try-now", "0", "--small-talk", "0", "--silent", "0"],
        *["--think", "0", "--within", "120", "--messages", "8"],
        *["--", "--json-file", str(stats_file), "--loglevel", "WARNING"],
    ]
    before = snapshot(stack)
    started = time.monotonic()
    with open(workdir / f"locust-{participants}.log", "w") as log:
        proc = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    after = snapshot(stack)
    cpu = {name: after[name] - before[name] for name in before}
    cpu["locust"] = usage.ru_utime + usage.ru_stime
    summary = (workdir / f"locust-{participants}.log").read_text().strip().splitlines()[-3:]
    entries = json.loads(stats_file.with_suffix(".json").read_text())
    return {
        "participants": participants,
        "exit": proc.returncode,
        "wall": wall,
        "cpu": cpu,
        "summary": summary,
        **figures(entries),
    }


def figures(entries: list[dict]) -> dict[str, float]:
    """Replies/s, percentiles of reply latency, lost and duplicated from Locust's stats."""
    histogram: dict[float, int] = {}
    first, last, replied = float("inf"), 0.0, 0
    lost = duplicated = timed_out = 0
    for e in entries:
        if e["method"] == "reply":
            replied += e["num_requests"] - e["num_failures"]
            timed_out += e["num_failures"]
            first = min(first, e["start_time"])
            last = max(last, e["last_request_timestamp"] or 0)
            for ms, n in e["response_times"].items():
                histogram[float(ms)] = histogram.get(float(ms), 0) + n
        elif (e["method"], e["name"]) == ("check", "lost"):
            lost += e["num_failures"]
        elif (e["method"], e["name"]) == ("check", "duplicated"):
            duplicated += e["num_failures"]
    ordered = sorted(histogram.items())
    total = sum(histogram.values())

    def percentile(q: float) -> float:
        rank, seen = q * total, 0
        for ms, n in ordered:
            seen += n
            if seen >= rank:
                return ms
        return float("nan")

    seconds = last - first if last > first else float("nan")
    return {
        "replied": replied,
        "replies_per_s": replied / seconds,
        "p50": percentile(0.50),
        "p95": percentile(0.95),
        "p99": percentile(0.99),
        "lost": lost,
        "duplicated": duplicated,
        "timed_out": timed_out,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("counts", nargs="*", type=int, default=[20, 100, 500])
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-", dir=ROOT / ".stack"))
    workdir.chmod(0o755)  # the cluster's files belong to the postgres user when run as root
    # The stack's own defaults, on the offline model whatever .env says.
    stack = NativeStack(workdir / "stack", Ports.free(), overrides={"LLM_PROVIDER": "offline"})
    rows = []
    try:
        stack.up()
        print(f"stack up on free ports; Locust logs and statistics in {workdir}", flush=True)
        for count in args.counts:
            row = run_level(stack, count, workdir)
            rows.append(row)
            print(f"{count} participants done in {row['wall']:.0f}s (exit {row['exit']})")
            print("\n".join(f"  {line}" for line in row["summary"]), flush=True)
    finally:
        stack.down()
    print_table(rows)
    return 0 if all(row["exit"] == 0 for row in rows) else 1


def print_table(rows: list[dict]) -> None:
    cpu_names = [*SERVICES, "postgres", "locust"]
    header = (
        f"{'participants':>12} {'replies/s':>9} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} "
        f"{'lost':>4} {'dup':>4} {'late':>4}  "
        + " ".join(f"{name + ' s':>13}" for name in cpu_names)
    )
    print()
    print("CPU seconds per process over each level (user + system)")
    print(header)
    for row in rows:
        print(
            f"{row['participants']:>12} {row['replies_per_s']:>9.1f} {row['p50']:>7.0f} "
            f"{row['p95']:>7.0f} {row['p99']:>7.0f} {row['lost']:>4} {row['duplicated']:>4} "
            f"{row['timed_out']:>4}  "
            + " ".join(f"{row['cpu'][name]:>13.1f}" for name in cpu_names)
        )
    if rows:
        base = rows[0]
        print(f"\nratios to {base['participants']} participants (same run):")
        for row in rows[1:]:
            rate = row["replies_per_s"] / base["replies_per_s"]
            cpu = _cpu_per_reply(row) / _cpu_per_reply(base)
            print(
                f"  {row['participants']}: replies/s x{rate:.2f}"
                f"  p99 x{row['p99'] / base['p99']:.2f}"
                f"  CPU per reply x{cpu:.2f}"
            )
    knee = next((row["participants"] for row in rows if row["p99"] > KNEE_MS), None)
    print(
        f"knee (p99 reply latency past {KNEE_MS:.0f} ms): "
        + (f"{knee} participants" if knee else "not reached at these counts")
    )


def _cpu_per_reply(row: dict) -> float:
    return sum(v for k, v in row["cpu"].items() if k != "locust") / max(1, row["replied"])


if __name__ == "__main__":
    sys.exit(main())
