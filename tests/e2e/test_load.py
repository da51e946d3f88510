"""`simulator load` (Locust) on a private stack, tiny: correctness only (every message
answered once, reply latency recorded, no failure), not speed; scripts/bench-load is the
tool for figures."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

SIMULATOR = [sys.executable, "-m", "promptpipe_simulator"]


def stack_env(stack: Any) -> dict[str, str]:
    return {
        **os.environ,
        "SIM_DELIVERY_URL": stack.url("delivery"),
        "SIM_MOCK_WA_URL": stack.url("mock_whatsapp"),
        "SIM_AGENT_URL": stack.url("agent"),
    }


def entries(stats_file: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """Locust's statistics (`--json-file PATH` writes PATH.json), by (request type, name)."""
    stats = json.loads(stats_file.with_suffix(".json").read_text())
    return {(e["method"], e["name"]): e for e in stats}


def replies(stats: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for (method, _), e in stats.items() if method == "reply"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_participants_through_the_intake_each_reply_counted_once(
    stack: Any, tmp_path: Path
) -> None:
    stats_file = tmp_path / "stats"
    messages = 9  # personalize: the intake and one message in FEEDBACK; try now: 2 + 7
    intake = "--messages 9 --think 0 --silent 0 --personalize 1 --try-now 1"
    run = subprocess.run(
        [
            *SIMULATOR,
            *shlex.split(f"load --participants 4 --spawn-rate 4 --duration 90s {intake}"),
            *["--", "--json-file", str(stats_file)],
        ],
        env=stack_env(stack),
        capture_output=True,
        text=True,
        timeout=180,
    )
    print(run.stdout[-3000:], run.stderr[-3000:])
    assert run.returncode == 0
    stats = entries(stats_file)
    sent = 4 * messages
    assert stats[("POST", "enroll")]["num_failures"] == 0
    assert stats[("POST", "send")]["num_requests"] == sent
    assert stats[("POST", "send")]["num_failures"] == 0
    # Every message had its reply, each timed from the mock's own timestamps.
    assert sum(e["num_requests"] for e in replies(stats)) == sent
    assert sum(e["num_failures"] for e in replies(stats)) == 0
    assert ("reply", "hello") in stats
    latencies = [
        float(ms) for e in replies(stats) for ms, n in e["response_times"].items() for _ in range(n)
    ]
    assert len(latencies) == sent and all(0 < ms < 30_000 for ms in latencies)
    # The final check read every chat: one reply per message, none lost or doubled.
    assert stats[("check", "chat")]["num_requests"] == 4
    assert stats[("check", "chat")]["num_failures"] == 0
    assert ("check", "lost") not in stats and ("check", "duplicated") not in stats
    assert f"4 participants: {sent} sent, {sent} replied" in run.stdout
    assert "lost: 0  duplicated: 0  timed out: 0  errors: 0" in run.stdout


def test_a_master_and_two_workers_aggregate_their_participants(stack: Any, tmp_path: Path) -> None:
    stats_file = tmp_path / "stats"
    port = free_port()
    env = stack_env(stack)
    workers = [
        subprocess.Popen(
            [
                *SIMULATOR,
                *shlex.split("load --worker --master-host 127.0.0.1"),
                *["--", "--master-port", str(port)],
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        master = subprocess.run(
            [
                *SIMULATOR,
                *shlex.split("load --master --expect-workers 2 --participants 4 --spawn-rate 4"),
                *shlex.split("--duration 90s --messages 3 --think 0 --silent 0"),
                *["--", "--master-bind-port", str(port), "--json-file", str(stats_file)],
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        outputs = [worker.communicate(timeout=60)[0] for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    print(master.stdout[-3000:], master.stderr[-3000:], *[o[-1500:] for o in outputs])
    assert master.returncode == 0
    assert [worker.returncode for worker in workers] == [0, 0]
    stats = entries(stats_file)
    assert stats[("POST", "send")]["num_requests"] == 12
    assert sum(e["num_requests"] for e in replies(stats)) == 12
    assert sum(e["num_failures"] for e in replies(stats)) == 0
    # Each worker checks only its own participants' chats: four checks means both did.
    assert stats[("check", "chat")]["num_requests"] == 4
    assert stats[("check", "chat")]["num_failures"] == 0
    assert "4 participants: 12 sent, 12 replied" in master.stdout
