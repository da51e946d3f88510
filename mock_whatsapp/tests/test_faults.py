"""Faults and limits through /_mock/faults and /_mock/limits, seen from both sides."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from mock_whatsapp.webhooks import sign

URL = "/v21.0/123456789/messages"
AUTH = {"Authorization": "Bearer test-token"}
TEXT = {
    "messaging_product": "whatsapp",
    "to": "15551234567",
    "type": "text",
    "text": {"body": "Hi!"},
}


async def add(mock: httpx.AsyncClient, **spec: Any) -> dict[str, Any]:
    resp = await mock.post("/_mock/faults", json=spec)
    assert resp.status_code == 201, resp.text
    fault: dict[str, Any] = resp.json()["fault"]
    return fault


async def test_a_fault_answers_meta_error_then_expires(mock: httpx.AsyncClient) -> None:
    fault = await add(mock, target="messages", error_code=131000, times=2)
    assert fault["id"] and fault["hits"] == 0 and fault["probability"] == 1
    for _ in range(2):
        resp = await mock.post(URL, json=TEXT, headers=AUTH)
        assert resp.status_code == 500  # the status Meta uses for 131000
        assert resp.json()["error"]["code"] == 131000
        assert resp.json()["error"]["message"].startswith("(#131000)")
    assert (await mock.post(URL, json=TEXT, headers=AUTH)).status_code == 200
    listing = (await mock.get("/_mock/faults")).json()
    assert listing["faults"] == []
    chat = (await mock.get("/_mock/phones/15551234567/messages")).json()
    assert len(chat) == 1  # the refused sends changed nothing


async def test_probability_zero_never_strikes_and_hits_are_counted(
    mock: httpx.AsyncClient,
) -> None:
    never = await add(mock, target="messages", error_code=130429, probability=0)
    always = await add(mock, target="messages", latency_ms=1)
    for _ in range(3):
        assert (await mock.post(URL, json=TEXT, headers=AUTH)).status_code == 200
    faults = {f["id"]: f for f in (await mock.get("/_mock/faults")).json()["faults"]}
    assert faults[never["id"]]["hits"] == 0
    assert faults[always["id"]]["hits"] == 3


async def test_delete_one_and_all(mock: httpx.AsyncClient) -> None:
    first = await add(mock, target="media", error_code=131053)
    await add(mock, target="webhooks", webhook="drop")
    assert (await mock.delete(f"/_mock/faults/{first['id']}")).status_code == 204
    assert (await mock.delete(f"/_mock/faults/{first['id']}")).status_code == 404
    assert len((await mock.get("/_mock/faults")).json()["faults"]) == 1
    assert (await mock.delete("/_mock/faults")).status_code == 204
    assert (await mock.get("/_mock/faults")).json()["faults"] == []


@pytest.mark.parametrize(
    "spec",
    [
        {"target": "phones", "error_code": 100},
        {"target": "messages", "error_code": 999999},
        {"target": "messages", "error_code": 100, "probability": 1.5},
        {"target": "messages", "webhook": "drop"},
        {"target": "webhooks", "error_code": 100},
        {"target": "webhooks", "webhook": "delay"},
        {"target": "messages"},
        {"target": "messages", "error_code": 100, "times": 0},
        {"target": "messages", "error_code": 100, "colour": "red"},
        {"target": "messages", "error_code": True},
        {"target": "messages", "error_code": 100, "probability": "0.5"},
    ],
)
async def test_bad_faults_are_refused_and_change_nothing(
    mock: httpx.AsyncClient, spec: dict[str, Any]
) -> None:
    resp = await mock.post("/_mock/faults", json=spec)
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "invalid_request"
    assert resp.json()["error"]["message"]
    assert (await mock.get("/_mock/faults")).json()["faults"] == []


async def test_limits_switch_on_and_off(mock: httpx.AsyncClient) -> None:
    limits = (await mock.get("/_mock/faults")).json()["limits"]
    assert limits == {"window_24h": True, "pair_rate_limit": False, "throughput": True}
    resp = await mock.put("/_mock/limits", json={"window_24h": False, "pair_rate_limit": True})
    assert resp.json() == {"window_24h": False, "pair_rate_limit": True, "throughput": True}
    bad = await mock.put("/_mock/limits", json={"window_24h": "yes", "throughput": False})
    assert bad.status_code == 400
    assert (await mock.get("/_mock/faults")).json()["limits"] == resp.json()


async def test_window_switched_off_lets_free_form_through(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    await mock.put("/_mock/limits", json={"window_24h": False})
    assert (await mock.post(URL, json=TEXT, headers=AUTH)).status_code == 200
    await drain()
    assert [s["status"] for s in receiver.statuses()] == ["sent", "delivered", "read"]


async def test_dropped_and_duplicated_webhooks(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    await add(mock, target="webhooks", webhook="drop", times=1)
    await add(mock, target="webhooks", webhook="duplicate", times=1)
    await mock.post("/_mock/phones/15551234567/messages", json={"text": "lost"})
    await mock.post("/_mock/phones/15551234567/messages", json={"text": "twice"})
    await drain()
    assert [m["text"]["body"] for m in receiver.messages()] == ["twice", "twice"]
    log = (await mock.get("/_mock/webhooks/deliveries")).json()
    assert [(d["state"], d["fault"]) for d in log] == [
        ("dropped", "drop"),
        ("delivered", "duplicate"),
        ("delivered", "duplicate"),
    ]
    assert log[2]["duplicate_of"] == log[1]["id"]
    dropped = (await mock.get("/_mock/webhooks/deliveries", params={"state": "dropped"})).json()
    assert [d["id"] for d in dropped] == [log[0]["id"]]
    others = await mock.get("/_mock/webhooks/deliveries", params={"subscriber_id": "sub_x"})
    assert others.json() == []


async def test_badly_signed_webhook_is_logged_with_its_signature(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    receiver.check_signature = False  # let it through, to see what was sent
    await add(mock, target="webhooks", webhook="bad_signature", times=1)
    await mock.post("/_mock/phones/15551234567/messages", json={"text": "forged?"})
    await drain()
    [delivery] = (await mock.get("/_mock/webhooks/deliveries")).json()
    [attempt] = delivery["attempts"]
    body = receiver.bodies[0]
    assert attempt["signature"] == delivery["signature"] != sign(body, "test-secret")
    assert receiver.signatures[0] == delivery["signature"]


async def test_delayed_webhook_still_arrives(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    await add(mock, target="webhooks", webhook="delay", delay_seconds=0.05)
    await mock.post("/_mock/phones/15551234567/messages", json={"text": "late"})
    await drain()
    [delivery] = (await mock.get("/_mock/webhooks/deliveries")).json()
    assert delivery["fault"] == "delay" and delivery["state"] == "delivered"
    assert [m["text"]["body"] for m in receiver.messages()] == ["late"]


async def test_faults_at_work_are_on_the_event_stream(mock: httpx.AsyncClient) -> None:
    fault_id = (await add(mock, target="messages", error_code=131000, times=1))["id"]
    refused = await mock.post(URL, json=TEXT, headers=AUTH)
    assert refused.status_code == 500
    events = (await mock.get("/_mock/events/recent")).json()["events"]
    kinds = [e["kind"] for e in events]
    injected = next(e for e in events if e["kind"] == "fault.injected")
    assert injected["data"]["id"] == fault_id and injected["data"]["hits"] == 1
    # Added, then gone once its one hit was used: both changes are announced.
    changes = [e["data"]["faults"] for e in events if e["kind"] == "fault.changed"]
    assert [len(c) for c in changes] == [1, 0]
    assert kinds.index("fault.injected") < kinds.index("api.error")
