"""What the phone sees while the coach answers: its message turns read (blue ticks), then
"typing…", then the answer, which ends "typing…". Over the real processes and the mock's
real event stream."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from promptpipe_simulator.core.events import EventFollower
from stack_api import chat, enroll, outbound, send, unique_phone

pytestmark = pytest.mark.e2e


def mock_events(http: httpx.Client, stack: Any, after: int = 0) -> list[dict[str, Any]]:
    resp = http.get(
        f"{stack.url('mock_whatsapp')}/_mock/events/recent", params={"after": after, "limit": 5000}
    )
    resp.raise_for_status()
    return list(resp.json()["events"])


def last_seq(http: httpx.Client, stack: Any) -> int:
    events = mock_events(http, stack)
    return int(events[-1]["seq"]) if events else 0


def test_the_participants_message_is_read_and_typing_precedes_the_reply(
    stack: Any, http: httpx.Client, wait_for: Callable[..., Any]
) -> None:
    phone = unique_phone()
    enroll(http, stack, phone)
    after = last_seq(http, stack)
    mine = send(http, stack, phone, "Hello!")
    assert mine["read_by_business"] is False

    messages = wait_for(
        lambda: (m := chat(http, stack, phone)) and outbound(m) and m, what="the coach's reply"
    )
    # Blue ticks on the phone's side: the business read the participant's message.
    assert [m["read_by_business"] for m in messages if m["direction"] == "inbound"] == [True]

    reply_id = outbound(messages)[0]["id"]
    ours = [
        e
        for e in mock_events(http, stack, after)
        if (e["data"] or {}).get("phone") == phone
        and e["kind"] in ("message.read_by_business", "typing", "message.outbound")
    ]
    story = [
        (e["kind"], e["data"].get("typing"), e["data"].get("id") or e["data"].get("reason"))
        for e in ours
    ]
    assert story[:4] == [
        ("message.read_by_business", None, mine["id"]),
        ("typing", True, None),
        ("typing", False, "message"),  # the reply ends "typing…" as it arrives
        ("message.outbound", None, reply_id),
    ], story
    # delivery counted and logged its receipt.
    feed = http.get(f"{stack.url('delivery')}/dev/events", params={"limit": 1000}).json()
    receipts = [e["data"] for e in feed["result"] if e["kind"] == "whatsapp.read"]
    assert {"message_id": mine["id"], "ok": True}.items() <= next(
        r for r in receipts if r["message_id"] == mine["id"]
    ).items()
    metrics = http.get(f"{stack.url('delivery')}/metrics").text
    assert 'delivery_read_receipts_total{result="ok"}' in metrics


def test_the_simulators_follower_sees_the_same_story_live(stack: Any, http: httpx.Client) -> None:
    """The simulator's headless follower, on the mock's real SSE stream."""
    phone = unique_phone()
    enroll(http, stack, phone)
    after = last_seq(http, stack)

    async def follow() -> list[tuple[str, Any]]:
        seen: list[tuple[str, Any]] = []
        done = asyncio.Event()

        def arrived(events: list[dict[str, Any]]) -> None:
            for e in events:
                data = e["data"] or {}
                if data.get("phone") != phone:
                    continue
                if e["kind"] in ("message.read_by_business", "typing", "message.outbound"):
                    seen.append((e["kind"], data.get("typing")))
                if e["kind"] == "message.outbound":
                    done.set()

        async with httpx.AsyncClient() as client:
            follower = EventFollower(client, stack.url("mock_whatsapp"), arrived)
            follower.last_seq = after
            running = asyncio.create_task(follower.run())
            await asyncio.to_thread(send, http, stack, phone, "Hi coach")
            try:
                await asyncio.wait_for(done.wait(), timeout=30)
            finally:
                running.cancel()
                await asyncio.gather(running, return_exceptions=True)
            assert not follower.in_trouble  # it followed the stream throughout
        return seen

    seen = asyncio.run(follow())
    assert seen[:4] == [
        ("message.read_by_business", None),
        ("typing", True),
        ("typing", False),
        ("message.outbound", None),
    ], seen
