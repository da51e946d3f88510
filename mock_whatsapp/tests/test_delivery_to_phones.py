"""What happens to a message after the send: Meta's limits, phones that are offline,
blocked or not on WhatsApp, phones that read late, and Meta's status quirks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

URL = "/v21.0/123456789/messages"
AUTH = {"Authorization": "Bearer test-token"}
PHONE = "15551234567"


def text(to: str = PHONE, **extra: Any) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": to,
        "type": "text",
        "text": {"body": "Hi!"},
        **extra,
    }


async def open_window(mock: httpx.AsyncClient, phone: str = PHONE) -> None:
    resp = await mock.post(f"/_mock/phones/{phone}/messages", json={"text": "hi"})
    assert resp.status_code == 201


def errors(resp: httpx.Response) -> int:
    code: int = resp.json()["error"]["code"]
    return code


@pytest.mark.parametrize("settings_overrides", [{"messages_per_second": 1}])
async def test_throughput_limit_is_130429_and_can_be_switched_off(
    mock: httpx.AsyncClient,
) -> None:
    assert (await mock.post(URL, json=text(), headers=AUTH)).status_code == 200
    refused = await mock.post(URL, json=text(to="15550000002"), headers=AUTH)
    assert refused.status_code == 400 and errors(refused) == 130429
    await mock.put("/_mock/limits", json={"throughput": False})
    assert (await mock.post(URL, json=text(to="15550000003"), headers=AUTH)).status_code == 200
    chats = {p["phone"]: p["messages"] for p in (await mock.get("/_mock/phones")).json()}
    assert "15550000002" not in chats or chats["15550000002"] == 0


@pytest.mark.parametrize(
    "settings_overrides", [{"pair_rate_limit": True, "pair_burst": 2, "pair_interval_seconds": 600}]
)
async def test_pair_rate_limit_is_131056_per_user(mock: httpx.AsyncClient) -> None:
    for _ in range(2):
        assert (await mock.post(URL, json=text(), headers=AUTH)).status_code == 200
    refused = await mock.post(URL, json=text(), headers=AUTH)
    assert refused.status_code == 400 and errors(refused) == 131056
    assert (await mock.post(URL, json=text(to="15550000009"), headers=AUTH)).status_code == 200


@pytest.mark.parametrize("state", [{"on_whatsapp": False}, {"blocked": True}])
async def test_unknown_or_blocked_phone_is_accepted_then_fails_with_131026(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any], state: dict[str, bool]
) -> None:
    created = await mock.post("/_mock/phones", json={"phone": PHONE, **state})
    assert created.status_code == 201, created.text
    resp = await mock.post(URL, json=text(), headers=AUTH)
    assert resp.status_code == 200  # as on Meta: a wamid first, the failure afterwards
    await drain()
    [status] = receiver.statuses()
    assert status["status"] == "failed"
    assert status["errors"][0]["code"] == 131026
    assert {"code", "title", "message", "error_data", "href"} <= set(status["errors"][0])


async def test_offline_phone_stops_at_sent_and_gets_delivered_when_back(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    await open_window(mock)
    await mock.put(f"/_mock/phones/{PHONE}", json={"online": False})
    await mock.post(URL, json=text(), headers=AUTH)
    await drain()
    assert [s["status"] for s in receiver.statuses()] == ["sent"]
    silent = await mock.post(f"/_mock/phones/{PHONE}/messages", json={"text": "hello?"})
    assert silent.status_code == 409  # an offline phone cannot write either
    back = await mock.put(f"/_mock/phones/{PHONE}", json={"online": True})
    assert back.json()["online"] is True
    await drain()
    assert [s["status"] for s in receiver.statuses()] == ["sent", "delivered", "read"]


async def test_phone_that_does_not_read_stays_at_delivered_until_it_opens_the_chat(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    await open_window(mock)
    await mock.put(f"/_mock/phones/{PHONE}", json={"auto_read": False})
    await mock.post(URL, json=text(), headers=AUTH)
    await drain()
    assert [s["status"] for s in receiver.statuses()] == ["sent", "delivered"]
    [phone] = [p for p in (await mock.get("/_mock/phones")).json() if p["phone"] == PHONE]
    assert phone["unread"] == 1  # what a sidebar shows, the same for every viewer
    assert (await mock.post(f"/_mock/phones/{PHONE}/read")).json() == {"read": 1}
    await drain()
    assert [s["status"] for s in receiver.statuses()] == ["sent", "delivered", "read"]
    [phone] = [p for p in (await mock.get("/_mock/phones")).json() if p["phone"] == PHONE]
    assert phone["unread"] == 0


async def test_bad_phone_changes_are_refused(mock: httpx.AsyncClient) -> None:
    for body in ({"online": "no"}, {"colour": "red"}):
        resp = await mock.put(f"/_mock/phones/{PHONE}", json=body)
        assert resp.status_code == 400 and resp.json()["error"]["code"] == "invalid_request"
    await mock.post("/_mock/phones", json={"phone": PHONE})
    again = await mock.post("/_mock/phones", json={"phone": PHONE})
    assert again.status_code == 409


async def test_biz_opaque_callback_data_is_echoed_in_every_status(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    await open_window(mock)
    await mock.post(URL, json=text(biz_opaque_callback_data="job=42"), headers=AUTH)
    await drain()
    statuses = receiver.statuses()
    assert len(statuses) == 3
    assert all(s["biz_opaque_callback_data"] == "job=42" for s in statuses)


@pytest.mark.parametrize("settings_overrides", [{"status_skip_delivered": 1.0}])
async def test_read_at_once_skips_delivered(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    await open_window(mock)
    await mock.post(URL, json=text(), headers=AUTH)
    await drain()
    assert [s["status"] for s in receiver.statuses()] == ["sent", "read"]


@pytest.mark.parametrize("settings_overrides", [{"status_out_of_order": 1.0}])
async def test_statuses_can_arrive_out_of_order(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    await open_window(mock)
    await mock.post(URL, json=text(), headers=AUTH)
    await drain()
    log = (await mock.get("/_mock/webhooks/deliveries")).json()
    values = [d["payload"]["entry"][0]["changes"][0]["value"] for d in log]
    order = [v["statuses"][0]["status"] for v in values if "statuses" in v]
    assert order == ["sent", "read", "delivered"]
    chat = (await mock.get(f"/_mock/phones/{PHONE}/messages")).json()
    assert chat[-1]["status"] == "read"


@pytest.mark.parametrize("settings_overrides", [{"status_duplicate": 1.0}])
async def test_statuses_can_arrive_twice(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    await open_window(mock)
    await mock.post(URL, json=text(), headers=AUTH)
    await drain()
    statuses = [s["status"] for s in receiver.statuses()]
    assert statuses == ["sent", "sent", "delivered", "delivered", "read", "read"]


async def test_status_quirks_switch_at_run_time(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    assert (await mock.get("/_mock/status-quirks")).json() == {
        "skip_delivered": 0,
        "out_of_order": 0,
        "duplicate": 0,
    }
    bad = await mock.put("/_mock/status-quirks", json={"duplicate": 2})
    assert bad.status_code == 400
    changed = await mock.put("/_mock/status-quirks", json={"skip_delivered": 1})
    assert changed.json()["skip_delivered"] == 1 and changed.json()["duplicate"] == 0
    await open_window(mock)
    await mock.post(URL, json=text(), headers=AUTH)
    await drain()
    assert [s["status"] for s in receiver.statuses()] == ["sent", "read"]


@pytest.mark.parametrize("settings_overrides", [{"webhook_retry_for_seconds": 0.05}])
async def test_webhooks_are_given_up_after_the_configured_time(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    receiver.failures_left = 1000
    await mock.post(f"/_mock/phones/{PHONE}/messages", json={"text": "anyone?"})
    await drain()
    [delivery] = (await mock.get("/_mock/webhooks/deliveries")).json()
    assert delivery["state"] == "gave_up"
    assert len(delivery["attempts"]) >= 2
    assert all(a["status_code"] == 500 for a in delivery["attempts"])
    assert all(a["latency_ms"] >= 0 and a["signature"] for a in delivery["attempts"])
