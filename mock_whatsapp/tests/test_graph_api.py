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
    await mock.post("/_mock/phones/15551234567/messages", json={"text": "hi"})  # opens the window
    wamid = (await mock.post(URL, json=text(), headers=AUTH)).json()["messages"][0]["id"]
    await drain()
    statuses = receiver.statuses()
    assert [s["status"] for s in statuses] == ["sent", "delivered", "read"]
    assert all(s["id"] == wamid and s["recipient_id"] == "15551234567" for s in statuses)
    chat = (await mock.get("/_mock/phones/15551234567/messages")).json()
    assert chat[-1]["status"] == "read"


def template(name: str, *params: str, language: str = "en") -> dict[str, Any]:
    components = [{"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}]
    return {
        "messaging_product": "whatsapp",
        "to": "15557654321",
        "type": "template",
        "template": {"name": name, "language": {"code": language}, "components": components},
    }


async def test_outside_the_24_hour_window_free_form_fails_with_131047(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    resp = await mock.post(URL, json=text(to="15557654321"), headers=AUTH)
    assert resp.status_code == 200  # as on Meta: accepted first, failed afterwards
    await drain()
    [status] = receiver.statuses()
    assert status["status"] == "failed"
    assert status["errors"][0]["code"] == 131047
    chat = (await mock.get("/_mock/phones/15557654321/messages")).json()
    assert chat[0]["status"] == "failed"


async def test_templates_reach_phones_outside_the_window(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    resp = await mock.post(
        URL, json=template("daily_prompt_reminder", "Ada", "a walk"), headers=AUTH
    )
    assert resp.status_code == 200, resp.text
    await drain()
    assert [s["status"] for s in receiver.statuses()] == ["sent", "delivered", "read"]
    [message] = (await mock.get("/_mock/phones/15557654321/messages")).json()
    assert message["type"] == "template"
    assert message["text"].startswith("Hi Ada, your daily habit is waiting: a walk.")
    assert message["template"]["name"] == "daily_prompt_reminder"


async def test_template_errors(mock: httpx.AsyncClient) -> None:
    assert_meta_error(await mock.post(URL, json=template("nope"), headers=AUTH), 404, 132001)
    wrong_language = template("habit_checkin", language="fr")
    assert_meta_error(await mock.post(URL, json=wrong_language, headers=AUTH), 404, 132001)
    missing_params = template("daily_prompt_reminder", "Ada")
    assert_meta_error(await mock.post(URL, json=missing_params, headers=AUTH), 400, 132000)


def listing(rows: int = 2, title: str = "Morning walk") -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "to": "15551234567",
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": "Pick your habit"},
            "action": {
                "button": "Choose",
                "sections": [
                    {
                        "title": "Move",
                        "rows": [
                            {"id": f"r{i}", "title": title if i == 0 else f"Option {i}"}
                            for i in range(rows)
                        ],
                    }
                ],
            },
        },
    }


async def test_lists_are_checked_like_meta(mock: httpx.AsyncClient) -> None:
    ok = await mock.post(URL, json=listing(), headers=AUTH)
    assert ok.status_code == 200, ok.text
    assert_meta_error(await mock.post(URL, json=listing(rows=11), headers=AUTH), 400, 100)
    assert_meta_error(await mock.post(URL, json=listing(title="x" * 25), headers=AUTH), 400, 100)
    [message] = (await mock.get("/_mock/phones/15551234567/messages")).json()
    assert message["interactive"]["sections"][0]["rows"][0]["title"] == "Morning walk"


@pytest.mark.parametrize(
    ("image", "ok"),
    [
        ({"link": "https://example.invalid/a.png", "caption": "Your streak"}, True),
        ({"id": "1234"}, True),  # accepted; fails later (131053) as the id is unknown
        ({"link": "http://example.invalid/a.png"}, False),
        ({"id": "1234", "link": "https://example.invalid/a.png"}, False),
        ({}, False),
    ],
)
async def test_media_by_id_or_https_link(
    mock: httpx.AsyncClient, image: dict[str, str], ok: bool
) -> None:
    payload = {
        "messaging_product": "whatsapp",
        "to": "15551234567",
        "type": "image",
        "image": image,
    }
    resp = await mock.post(URL, json=payload, headers=AUTH)
    if ok:
        assert resp.status_code == 200
    else:
        assert_meta_error(resp, 400, 100)


async def test_reactions_get_sent_only_or_fail_for_unknown_messages(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    sent = await mock.post("/_mock/phones/15551234567/messages", json={"text": "I did it!"})
    target = sent.json()["id"]
    for message_id in (target, "wamid.unknown"):
        payload = {
            "messaging_product": "whatsapp",
            "to": "15551234567",
            "type": "reaction",
            "reaction": {"message_id": message_id, "emoji": "👏"},
        }
        assert (await mock.post(URL, json=payload, headers=AUTH)).status_code == 200
    await drain()
    statuses = [(s["status"], s.get("errors", [{}])[0].get("code")) for s in receiver.statuses()]
    assert sorted(statuses, key=str) == sorted([("sent", None), ("failed", 131009)], key=str)


async def test_mark_read_with_typing_indicator(mock: httpx.AsyncClient) -> None:
    sent = await mock.post("/_mock/phones/15551234567/messages", json={"text": "hi"})
    payload = {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": sent.json()["id"],
        "typing_indicator": {"type": "text"},
    }
    resp = await mock.post(URL, json=payload, headers=AUTH)
    assert resp.json() == {"success": True}
