"""Chaos under load: while simulated participants talk to the coach (the load test's Locust
user, `simulator load`), SIGKILL the agent, the mock and delivery in turn, then restart
Postgres the hard way (`pg_ctl -m immediate`). Afterwards, with no step by hand, every
service is ready again, and nothing is forgotten or doubled:

- every message a phone sent is in delivery's log once, and in the agent's history once,
  in the order it was sent (a message the agent missed while it was down was kept and
  handed to it later);
- no phone received any message twice (its chat holds exactly what delivery sent);
- every message got a reply: the agent's, or delivery's fallback while the agent was down
  (its Go responder's answer, AGENT_FALLBACK's default, or the apology; counted apart),
  perhaps followed by the agent's late answer.

Two runs, each on a fresh private stack: the three kills, then the Postgres restart (its
own run, so that a failure says which of the two broke). Each stack has a Postgres
cluster of its own (the other tests share theirs).
Killed services are started again by the test, as a supervisor would; what must happen by
itself is everything else: reconnecting, taking up leases, replaying, retrying webhooks.
The figures (messages, kills, recovery time per service, lost, duplicated, fallbacks) are
printed at the end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pgcluster
import pytest
from stack import SERVICES, NativeStack, Ports, is_ready
from stack_api import agent_conversation

pytestmark = pytest.mark.e2e

PARTICIPANTS = 10
CALM_SECONDS = 3.0  # of plain load between two faults
SERVICE_KILLS = ("agent", "mock_whatsapp", "delivery")


def test_killed_services_heal_and_forget_nothing(
    delivery_binary: Path, test_run_dir: Path, wait_for: Callable[..., Any], tmp_path: Path
) -> None:
    """SIGKILL the agent, the mock and delivery in turn under load."""
    _chaos(test_run_dir, tmp_path, wait_for, messages=16, restart_postgres=False)


def test_a_postgres_restart_heals_and_forgets_nothing(
    delivery_binary: Path, test_run_dir: Path, wait_for: Callable[..., Any], tmp_path: Path
) -> None:
    """`pg_ctl -m immediate` stop and start under load: every /readyz says unavailable
    while Postgres is down, and every service is ready again by itself."""
    _chaos(test_run_dir, tmp_path, wait_for, messages=8, restart_postgres=True)


def _chaos(
    test_run_dir: Path,
    tmp_path: Path,
    wait_for: Callable[..., Any],
    messages: int,
    restart_postgres: bool,
) -> None:
    state = Path(tempfile.mkdtemp(prefix="chaos-", dir=test_run_dir))
    state.chmod(0o755)  # Postgres runs as its own user when we are root
    stack = NativeStack(
        state,
        Ports(*(pgcluster.free_port() for _ in range(4))),
        database_url=None,  # a cluster of its own, to restart
        overrides={
            "MOCK_WA_STATUS_DELAY_SECONDS": "0.05",
            "MOCK_WA_WEBHOOK_MAX_BACKOFF_SECONDS": "0.5",
            "DELIVERY_LEASE": "5s",  # a killed delivery's work is taken up within 5 s
        },
    )
    stats_file = tmp_path / "stats"
    load: subprocess.Popen[str] | None = None
    http = httpx.Client(timeout=10)
    try:
        stack.up()
        load = _start_load(stack, stats_file, messages)
        wait_for(
            lambda: len(_participants(http, stack)) == PARTICIPANTS,
            timeout=60,
            what="the participants' enrollment",
        )
        recovery: dict[str, float] = {}
        kills = SERVICE_KILLS if not restart_postgres else ()
        for service in kills:
            time.sleep(CALM_SECONDS)
            recovery[f"{service} (SIGKILL)"] = _kill_and_restart(stack, service)
        unready_while_down: set[str] = set()
        if restart_postgres:
            time.sleep(CALM_SECONDS)
            assert load.poll() is None, "the participants were done before Postgres restarted"
            unready_while_down, after_postgres = _restart_postgres(stack)
            recovery.update({f"{s} (postgres restart)": t for s, t in after_postgres.items()})
            for service in ("delivery", "agent"):
                assert service in unready_while_down, f"{service}'s /readyz said ready, db down"
        else:
            assert load.poll() is None, "the participants were done before the last kill"
        for what, seconds in recovery.items():
            print(f"  recovery {what}: {seconds:.1f}s")
        output, _ = load.communicate(timeout=300)
        print(output[-3000:])

        assert all(stack.status().values()), f"not every service is ready: {stack.status()}"
        if restart_postgres:
            assert "mock_whatsapp" in unready_while_down, "the mock's /readyz said ready, db down"
        stats = {
            (e["method"], e["name"]): e
            for e in json.loads(stats_file.with_suffix(".json").read_text())
        }
        figures = _figures(stats)
        participants = _participants(http, stack)
        # A message the agent missed is handed to it once it is back: wait for the last.
        wait_for(
            lambda: not _awaiting_agent(http, stack, participants),
            timeout=120,
            interval=0.5,
            what="every kept message handed to the agent",
        )
        doubled_on_phones, history_problems = _check_every_chat(http, stack, participants)
        print(
            f"chaos test: messages={figures['sent']} replied={figures['replied']} "
            f"fallbacks={figures['fallbacks']} late_replies={figures['late']} "
            f"kills={len(kills)} postgres_restarts={int(restart_postgres)} "
            f"lost={figures['lost']} duplicated={figures['duplicated']} "
            f"doubled_on_phones={doubled_on_phones}"
        )
        print("  recovery " + ", ".join(f"{what} {t:.1f}s" for what, t in recovery.items()))

        assert load.returncode == 0, "the load driver found a reply lost, late or doubled"
        assert figures["sent"] == PARTICIPANTS * messages
        assert figures["replied"] + figures["fallbacks"] == figures["sent"]
        assert figures["lost"] == 0 and figures["duplicated"] == 0
        assert doubled_on_phones == 0, "a phone received a message delivery sent once, twice"
        assert history_problems == [], "\n".join(history_problems)
    finally:
        if load is not None and load.poll() is None:
            load.kill()
            load.wait()
        http.close()
        stack.down()
        for service in SERVICES:
            print(stack.log_tail(service, lines=15))


def _start_load(stack: NativeStack, stats_file: Path, messages: int) -> subprocess.Popen[str]:
    """`simulator load`: the participants never fall silent, take up to 4 s to answer (so
    that they are still talking when Postgres restarts, after the kills), and wait up to
    a minute for each reply (an outage lasts seconds)."""
    return subprocess.Popen(
        [
            *[sys.executable, "-m", "promptpipe_simulator", "load"],
            *["--participants", str(PARTICIPANTS), "--spawn-rate", str(PARTICIPANTS)],
            *["--duration", "4m", "--messages", str(messages), "--within", "60"],
            *["--think", "4", "--silent", "0"],
            *["--", "--json-file", str(stats_file)],
        ],
        env={
            **os.environ,
            "SIM_DELIVERY_URL": stack.url("delivery"),
            "SIM_MOCK_WA_URL": stack.url("mock_whatsapp"),
            "SIM_AGENT_URL": stack.url("agent"),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _kill_and_restart(stack: NativeStack, service: str) -> float:
    """SIGKILL the service, start it again at once as a supervisor would; the seconds
    from the kill until its /readyz answers 200."""
    killed = time.monotonic()
    stack.stop_service(service, signal.SIGKILL)
    stack.start_service(service)
    stack.wait_ready(service, timeout=90)
    return time.monotonic() - killed


def _restart_postgres(stack: NativeStack) -> tuple[set[str], dict[str, float]]:
    """Stop Postgres with `-m immediate` (a crash: no checkpoint, connections cut), note
    which services' /readyz say so, start it again, and time each service's return to
    ready, from the moment Postgres accepts connections again."""
    stack.cluster.stop(mode="immediate")
    unready: set[str] = set()
    deadline = time.monotonic() + 6
    while time.monotonic() < deadline and unready != set(SERVICES):
        unready |= {s for s in SERVICES if not is_ready(f"{stack.url(s)}/readyz")}
        time.sleep(0.2)
    stack.cluster.start()
    back = time.monotonic()
    recovered: dict[str, float] = {}
    deadline = back + 90
    while time.monotonic() < deadline and len(recovered) < len(SERVICES):
        for s in SERVICES:
            if s not in recovered and is_ready(f"{stack.url(s)}/readyz"):
                recovered[s] = time.monotonic() - back
        time.sleep(0.1)
    missing = set(SERVICES) - set(recovered)
    assert not missing, f"not ready 90 s after Postgres came back: {sorted(missing)}"
    return unready, recovered


def _figures(stats: dict[tuple[str, str], dict]) -> dict[str, int]:
    def count(method: str, name: str, failures: bool = False) -> int:
        entry = stats.get((method, name), {})
        return int(entry.get("num_failures" if failures else "num_requests", 0))

    def total(method: str) -> int:
        return sum(
            e["num_requests"] - e["num_failures"] for (m, _), e in stats.items() if m == method
        )

    return {
        "sent": count("POST", "send") - count("POST", "send", failures=True),
        "replied": total("reply"),
        "fallbacks": total("fallback"),
        "late": count("check", "late reply"),
        "lost": count("check", "lost", failures=True),
        "duplicated": count("check", "duplicated", failures=True),
    }


def _participants(http: httpx.Client, stack: NativeStack) -> list[dict]:
    resp = http.get(f"{stack.url('delivery')}/conversation/participants")
    return list(resp.json()["result"]) if resp.status_code == 200 else []


def _log(http: httpx.Client, stack: NativeStack, participant_id: str) -> list[dict]:
    url = f"{stack.url('delivery')}/conversation/participants/{participant_id}/messages"
    resp = http.get(url)
    resp.raise_for_status()
    return list(resp.json()["result"])


def _awaiting_agent(http: httpx.Client, stack: NativeStack, participants: list[dict]) -> int:
    return sum(
        1
        for p in participants
        for m in _log(http, stack, p["id"])
        if m["status"] != "done" and m["direction"] == "inbound"
    )


def _check_every_chat(
    http: httpx.Client, stack: NativeStack, participants: list[dict]
) -> tuple[int, list[str]]:
    """Compare each phone's chat with delivery's log and the agent's history; returns the
    number of messages a phone received more often than delivery sent them, and a line per
    message missing or repeated in delivery's log or the agent's history."""
    doubled = 0
    problems: list[str] = []
    for p in participants:
        phone, who = p["phone_number"], f"+{p['phone_number']}"
        chat = http.get(f"{stack.url('mock_whatsapp')}/_mock/phones/{phone}/messages").json()
        log = _log(http, stack, p["id"])
        sent = [m["id"] for m in chat if m["direction"] == "inbound"]
        logged = [m for m in log if m["direction"] == "inbound"]
        if [m["wamid"] for m in logged] != sent:
            problems.append(f"{who}: delivery's log has {len(logged)} of {len(sent)} messages")
        received = Counter(m["id"] for m in chat if m["direction"] == "outbound")
        sent_by_delivery = [m for m in log if m["direction"] == "outbound" and m["wamid"]]
        doubled += sum(received.values()) - len(received)  # one message shown twice
        doubled += max(0, len(received) - len(sent_by_delivery))  # one send shown twice
        conversation = agent_conversation(http, stack, p["id"])
        told = [h["content"] for h in conversation["history"] if h["role"] == "user"]
        if told != [m["body"] for m in logged]:
            problems.append(f"{who}: the agent's history {told} != delivery's log")
        if conversation["turns"] != len(logged):
            problems.append(f"{who}: {conversation['turns']} turns for {len(logged)} messages")
    return doubled, problems
