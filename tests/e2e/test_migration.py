"""The migration between two agents, end to end (docs/migration.md): a second agent as the
candidate in its own schema, shadow turns compared, a rollout stepped by time travel and
rolled back by itself when the candidate breaks, Prometheus watching it all, and the
integration guide's rollback plan (PYTHON_AGENT_URL pointed at the Go fallback)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from promptpipe_simulator.core.replies import is_fallback
from stack import NativeStack
from stack_api import agent_auth, chat, enroll, outbound, send, settled, unique_phone

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def migration_stack(make_stack: Callable[..., NativeStack]) -> NativeStack:
    return make_stack(STACK_CANDIDATE="true", STACK_MONITORING="true")


def report(http: httpx.Client, stack: NativeStack) -> dict[str, Any]:
    resp = http.get(f"{stack.url('delivery')}/dev/migration")
    resp.raise_for_status()
    return dict(resp.json()["result"])


def replies(http: httpx.Client, stack: NativeStack, phone: str) -> list[str]:
    return [m["text"] for m in outbound(chat(http, stack, phone))]


def converse(
    http: httpx.Client, stack: NativeStack, wait_for: Callable[..., Any], phone: str, text: str
) -> str:
    """Say something and return the reply it got."""
    before = len(replies(http, stack, phone))
    send(http, stack, phone, text)
    got = wait_for(lambda: replies(http, stack, phone)[before:], what=f"a reply to {text!r}")
    return str(got[0])


def test_shadow_turns_are_compared_and_change_nothing_at_the_candidate(
    migration_stack: NativeStack, http: httpx.Client, wait_for: Callable[..., Any]
) -> None:
    stack = migration_stack
    http.put(f"{stack.url('delivery')}/dev/migration/shadow", json={"enabled": True})
    phone = unique_phone()
    person = enroll(http, stack, phone)
    said = [converse(http, stack, wait_for, phone, t) for t in ("Hello!", "personalize")]
    wait_for(lambda: settled(http, stack, person["id"]), what="the conversation to settle")

    def compared() -> list[dict[str, Any]]:
        latest = report(http, stack)["shadow"]["latest"]
        return [c for c in latest if c["participant_id"] == person["id"]]

    mine = wait_for(lambda: len(compared()) == 2 and compared(), what="two comparisons")
    by_input = {c["input"]: c for c in mine}
    # The participant saw the primary's words; the candidate (AGENT_DEFAULT_TONE=concise)
    # would have asked the same thing in fewer, on the same state: a text difference only.
    assert by_input["personalize"]["primary"]["response"] == said[1]
    shadowed = by_input["personalize"]
    assert shadowed["sub_state"] == "INTAKE"
    assert shadowed["candidate"]["state"] == shadowed["primary"]["state"]
    assert len(shadowed["candidate"]["response"]) < len(shadowed["primary"]["response"])
    assert [d["kind"] for d in shadowed["differences"]] == ["text"]
    # Nothing reached the candidate's own schema, nor its delivery calls.
    gone = http.get(
        f"{stack.url('agent_candidate')}/conversations/{person['id']}", headers=agent_auth(stack)
    )
    assert gone.status_code == 404
    metrics = http.get(f"{stack.url('delivery')}/metrics").text
    assert 'delivery_shadow_comparisons_total{outcome="differ"}' in metrics


def test_a_rollout_steps_with_the_clock_and_rolls_back_when_the_candidate_breaks(
    migration_stack: NativeStack, http: httpx.Client, wait_for: Callable[..., Any]
) -> None:
    stack = migration_stack
    delivery = stack.url("delivery")
    phone = unique_phone()
    person = enroll(http, stack, phone)
    converse(http, stack, wait_for, phone, "Hello!")
    started = http.post(
        f"{delivery}/dev/migration/rollout",
        json={"step": 50, "interval": "1h", "max": 100, "thresholds": {"error_rate": 0.2}},
    )
    assert started.status_code == 200 and started.json()["result"]["percent"] == 50
    http.post(f"{delivery}/dev/clock", json={"advance": "1h"})
    wait_for(lambda: report(http, stack)["rollout"]["percent"] == 100, what="the second step")
    # At 100 % everyone is on the candidate: it answers, and the reply records its arm.
    converse(http, stack, wait_for, phone, "personalize")
    log = http.get(f"{delivery}/conversation/participants/{person['id']}/messages").json()
    assert [m.get("arm") for m in log["result"] if m["direction"] == "outbound"][-1] == "candidate"

    http.put(f"{delivery}/dev/faults/agent/candidate", json={"mode": "down"})
    try:
        answer = converse(http, stack, wait_for, phone, "Done")
        assert answer.startswith("Nice work, that counts!")  # the Go responder, not the apology
        halted = wait_for(
            lambda: (r := report(http, stack))["rollout"]["status"] == "halted" and r,
            what="the automatic rollback",
        )
    finally:
        http.put(f"{delivery}/dev/faults/agent/candidate", json={"mode": "ok"})
    assert halted["rollout"]["percent"] == 0
    assert "error rate" in halted["rollout"]["reason"]
    assert halted["events"][0]["kind"] == "halted"
    kinds = [e["kind"] for e in http.get(f"{delivery}/dev/events?limit=1000").json()["result"]]
    assert "rollout.halted" in kinds
    # Back on the primary.
    converse(http, stack, wait_for, phone, "hello again")
    log = http.get(f"{delivery}/conversation/participants/{person['id']}/messages").json()
    arms = [m.get("arm") for m in log["result"] if m["direction"] == "outbound"]
    assert arms[-2:] == ["fallback", "primary"]

    # Prometheus scrapes every service, has the rules, and fires the halt's alert.
    prometheus = stack.url("prometheus")
    every_job = ("delivery", "agent", "agent_candidate", "mock_whatsapp", "prometheus")

    def health() -> dict[str, str]:
        targets = http.get(f"{prometheus}/api/v1/targets").json()["data"]["activeTargets"]
        return {t["labels"]["job"]: t["health"] for t in targets}

    wait_for(lambda: health() == dict.fromkeys(every_job, "up"), what="every target up")
    groups = http.get(f"{prometheus}/api/v1/rules").json()["data"]["groups"]
    alerts = {r["name"] for g in groups for r in g["rules"] if r["type"] == "alerting"}
    assert alerts == {"AgentErrorRateHigh", "AgentLatencyP99High", "RolloutHalted"}

    def firing() -> set[str]:
        found = http.get(f"{prometheus}/api/v1/alerts").json()["data"]["alerts"]
        return {a["labels"]["alertname"] for a in found if a["state"] == "firing"}

    wait_for(lambda: "RolloutHalted" in firing(), timeout=60, what="the RolloutHalted alert")


def test_the_guides_rollback_plan_points_the_agent_url_at_the_go_fallback(
    make_stack: Callable[..., NativeStack], http: httpx.Client, wait_for: Callable[..., Any]
) -> None:
    stack = make_stack(STACK_PRIMARY="fallback")
    phone = unique_phone()
    enroll(http, stack, phone)
    hello = converse(http, stack, wait_for, phone, "Hello!")
    assert hello.startswith("Thanks for your message!")
    next_time = converse(http, stack, wait_for, phone, "Next time")
    assert next_time.startswith("No problem")
    done = converse(http, stack, wait_for, phone, "Done")
    # The load driver tells the responder's answers from the agent's by their words.
    assert all(is_fallback(answer) for answer in (hello, next_time, done)), (hello, done)
    # The agent is still running, untouched, for the re-migration.
    assert http.get(f"{stack.url('agent')}/readyz").status_code == 200
