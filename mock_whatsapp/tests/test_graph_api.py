"""The business side: POST /v{N}.0/{phone_number_id}/messages, answered as Meta would."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

URL = "/v21.0/123456789/messages"  # the phone number id the fixture configures
AUTH = {"Authorization": "Bearer test-token"}


def text(to: str = "+1 555 123 4567", body: str = "Hi!") -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": body}}


def buttons(*titles: str, ids: list[str] | None = None) -> dict[str, Any]:
    ids = ids or [f"b{i}" for i in range(len(titles))]
    return {
        "messaging_product": "whatsapp",
        "to": "15551234567",
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "Did you do it?"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": i, "title": t}}
                    for i, t in zip(ids, titles, strict=True)
                ]
            },
        },
    }


def assert_meta_error(resp: httpx.Response, status: int, code: int) -> None:
    assert resp.status_code == status, resp.text
    error = resp.json()["error"]
    assert error["code"] == code
    assert {"message", "type", "code", "fbtrace_id"} <= set(error)
    assert error["message"].startswith(f"(#{code})")


async def test_text_send_answers_like_meta(mock: httpx.AsyncClient) -> None:
    resp = await mock.post(URL, json=text(), headers=AUTH)
    assert resp.status_code == 200
    body = resp.json()
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": "+1 555 123 4567", "wa_id": "15551234567"}]
    wamid = body["messages"][0]["id"]
    assert wamid.startswith("wamid.") and len(wamid) <= 128


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
async def test_bad_token_is_error_190(mock: httpx.AsyncClient, headers: dict[str, str]) -> None:
    assert_meta_error(await mock.post(URL, json=text(), headers=headers), 401, 190)


async def test_unknown_phone_number_id(mock: httpx.AsyncClient) -> None:
    resp = await mock.post("/v21.0/999/messages", json=text(), headers=AUTH)
    assert_meta_error(resp, 400, 100)


@pytest.mark.parametrize(
    "payload",
    [
        {k: v for k, v in text().items() if k != "messaging_product"},
        {k: v for k, v in text().items() if k != "to"},
        text(body=""),
        text(body="x" * 4097),
        {**text(), "type": "hologram"},
        buttons("One", "Two", "Three", "Four"),
        buttons("x" * 21),
        buttons("Done", "Later", ids=["same", "same"]),
    ],
    ids=[
        "no-messaging-product",
        "no-to",
        "empty-text",
        "text-too-long",
        "unknown-type",
        "four-buttons",
        "long-title",
        "duplicate-ids",
    ],
)
async def test_invalid_requests_are_error_100(
    mock: httpx.AsyncClient, payload: dict[str, Any], drain: Callable[[], Any]
) -> None:
    assert_meta_error(await mock.post(URL, json=payload, headers=AUTH), 400, 100)
    chats = (await mock.get("/_mock/phones")).json()
    assert all(p["messages"] == 0 for p in chats)


async def test_reply_buttons_reach_the_phone(mock: httpx.AsyncClient) -> None:
    resp = await mock.post(URL, json=buttons("Done", "Next time"), headers=AUTH)
    assert resp.status_code == 200
    chat = (await mock.get("/_mock/phones/15551234567/messages")).json()
    assert chat[0]["type"] == "interactive"
    assert [b["title"] for b in chat[0]["interactive"]["buttons"]] == ["Done", "Next time"]


async def test_idempotency_key_repeats_the_first_answer(mock: httpx.AsyncClient) -> None:
    headers = {**AUTH, "Idempotency-Key": "ob_1"}
    first = await mock.post(URL, json=text(), headers=headers)
    again = await mock.post(URL, json=text(), headers=headers)
    assert again.json() == first.json()
    chat = (await mock.get("/_mock/phones/15551234567/messages")).json()
    assert len(chat) == 1


async def test_marking_an_unknown_message_read_is_131009(mock: httpx.AsyncClient) -> None:
    payload = {"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.nope"}
    assert_meta_error(await mock.post(URL, json=payload, headers=AUTH), 400, 131009)


async def test_statuses_follow_sent_delivered_read(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    wamid = (await mock.post(URL, json=text(), headers=AUTH)).json()["messages"][0]["id"]
    await drain()
    statuses = receiver.statuses()
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    assert all(s["id"] == wamid and s["recipient_id"] == "15551234567" for s in statuses)
    chat = (await mock.get("/_mock/phones/15551234567/messages")).json()
    assert chat[0]["status"] == "read"
