"""The phone side: phones send signed, Meta-shaped webhooks; chats list both directions."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx


async def test_phone_message_becomes_a_meta_shaped_webhook(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    await mock.put("/_mock/phones/15551234567", json={"name": "Ada"})
    resp = await mock.post("/_mock/phones/+1-555-123-4567/messages", json={"text": "Hello!"})
    assert resp.status_code == 201
    wamid = resp.json()["id"]
    await drain()
    [payload] = receiver.payloads  # the receiver also checked the signature
    assert payload["object"] == "whatsapp_business_account"
    change = payload["entry"][0]["changes"][0]
    assert change["field"] == "messages"
    value = change["value"]
    assert value["messaging_product"] == "whatsapp"
    assert value["metadata"]["phone_number_id"] == "123456789"
    [contact] = value["contacts"]
    assert contact["profile"] == {"name": "Ada"} and contact["wa_id"] == "15551234567"
    assert re.fullmatch(r"US\.\d+", contact["user_id"])  # a business-scoped user id
    [message] = value["messages"]
    assert message["from"] == "15551234567" and message["id"] == wamid
    assert message["type"] == "text" and message["text"] == {"body": "Hello!"}
    assert isinstance(message["timestamp"], str) and message["timestamp"].isdigit()


async def test_button_tap_carries_the_context(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    tap = {
        "type": "interactive",
        "button_reply": {"id": "done", "title": "Done"},
        "context_id": "wamid.prompt",
    }
    assert (await mock.post("/_mock/phones/15551234567/messages", json=tap)).status_code == 201
    await drain()
    [message] = receiver.messages()
    assert message["interactive"] == {
        "type": "button_reply",
        "button_reply": {"id": "done", "title": "Done"},
    }
    assert message["context"]["id"] == "wamid.prompt"


async def test_failing_receiver_is_retried_and_every_attempt_logged(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    receiver.failures_left = 2
    await mock.post("/_mock/phones/15551234567/messages", json={"text": "Hello!"})
    await drain()
    [delivery] = (await mock.get("/_mock/webhooks/deliveries")).json()
    assert delivery["state"] == "delivered"
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 200]
    assert delivery["signature"].startswith("sha256=")
    assert len(receiver.payloads) == 1


async def test_chat_lists_both_directions_oldest_first(
    mock: httpx.AsyncClient, drain: Callable[[], Any]
) -> None:
    await mock.post("/_mock/phones/15551234567/messages", json={"text": "Hello!"})
    await mock.post(
        "/v21.0/123456789/messages",
        headers={"Authorization": "Bearer test-token"},
        json={
            "messaging_product": "whatsapp",
            "to": "15551234567",
            "type": "text",
            "text": {"body": "Hi Ada"},
        },
    )
    await drain()
    chat = (await mock.get("/_mock/phones/15551234567/messages")).json()
    assert [(m["direction"], m["text"]) for m in chat] == [
        ("inbound", "Hello!"),
        ("outbound", "Hi Ada"),
    ]
    assert {"id", "direction", "type", "text", "timestamp"} <= set(chat[0])
    assert chat[1]["status"] == "read"
    # The phone list summarizes the chat, for a sidebar: what the phone got, and when.
    [phone] = (await mock.get("/_mock/phones")).json()
    assert (phone["messages"], phone["received"]) == (2, 1)
    assert phone["last_message_at"] == chat[1]["timestamp"]


async def test_invalid_control_requests_get_the_control_error_shape(
    mock: httpx.AsyncClient,
) -> None:
    bad_phone = await mock.post("/_mock/phones/12/messages", json={"text": "hi"})
    assert bad_phone.status_code == 400
    assert bad_phone.json()["error"]["code"] == "invalid_phone"
    no_text = await mock.post("/_mock/phones/15551234567/messages", json={})
    assert no_text.status_code == 400
    assert no_text.json()["error"]["code"] == "invalid_request"
    assert (await mock.get("/_mock/phones/15551234567/messages")).json() == []


async def test_reset_forgets_everything(mock: httpx.AsyncClient, drain: Callable[[], Any]) -> None:
    await mock.post("/_mock/phones/15551234567/messages", json={"text": "Hello!"})
    await drain()
    assert (await mock.post("/_mock/reset")).status_code == 200
    assert (await mock.get("/_mock/phones")).json() == []
    assert (await mock.get("/_mock/webhooks/deliveries")).json() == []


async def test_clock_moves_message_timestamps_forward_only(mock: httpx.AsyncClient) -> None:
    moved = await mock.put("/_mock/clock", json={"now": "2031-05-01T08:00:00Z"})
    assert moved.json()["now"].startswith("2031-05-01T08:00")
    await mock.put("/_mock/clock", json={"now": "2020-01-01T00:00:00Z"})  # ignored: backwards
    await mock.post("/_mock/phones/15551234567/messages", json={"text": "Hello!"})
    [message] = (await mock.get("/_mock/phones/15551234567/messages")).json()
    assert message["timestamp"].startswith("2031-05-01T08:00")


async def test_list_row_tap(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    tap = {
        "type": "interactive",
        "list_reply": {"id": "r1", "title": "Walk"},
        "context_id": "wamid.list",
    }
    assert (await mock.post("/_mock/phones/15551234567/messages", json=tap)).status_code == 201
    await drain()
    [message] = receiver.messages()
    assert message["interactive"]["type"] == "list_reply"
    assert message["interactive"]["list_reply"]["id"] == "r1"


async def test_phones_send_images_locations_reactions_and_contacts(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    sends = [
        {"type": "image", "image": {"caption": "my morning run"}},
        {"type": "location", "location": {"latitude": 52.52, "longitude": 13.4, "name": "Park"}},
        {"type": "reaction", "reaction": {"message_id": "wamid.prompt", "emoji": "👍"}},
        {
            "type": "contacts",
            "contacts": [
                {"name": {"formatted_name": "Ada Lovelace"}, "phones": [{"phone": "+15550001111"}]}
            ],
        },
    ]
    for body in sends:
        resp = await mock.post("/_mock/phones/15551234567/messages", json=body)
        assert resp.status_code == 201, resp.text
    await drain()
    messages = receiver.messages()
    assert [m["type"] for m in messages] == ["image", "location", "reaction", "contacts"]
    image = messages[0]["image"]
    assert image["caption"] == "my morning run" and image["id"] and image["mime_type"]
    assert messages[1]["location"]["latitude"] == 52.52
    assert messages[2]["reaction"] == {"message_id": "wamid.prompt", "emoji": "👍"}
    assert messages[3]["contacts"][0]["name"]["formatted_name"] == "Ada Lovelace"
    chat = (await mock.get("/_mock/phones/15551234567/messages")).json()
    assert [m["text"] for m in chat] == [
        "my morning run",
        "[location 52.52,13.4 Park]",
        "👍",
        "[contact Ada Lovelace]",
    ]
    missing = await mock.post("/_mock/phones/15551234567/messages", json={"type": "location"})
    assert missing.status_code == 400


async def test_phone_files_and_unsupported_messages(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    sends = [
        {"type": "document", "document": {"caption": "my plan", "filename": "plan.pdf"}},
        {"type": "audio", "audio": {}},
        {"type": "unsupported", "unsupported": {"type": "poll"}},
    ]
    for body in sends:
        resp = await mock.post("/_mock/phones/15551234567/messages", json=body)
        assert resp.status_code == 201, resp.text
    await drain()
    by_type = {m["type"]: m for m in receiver.messages()}
    document, audio, unsupported = by_type["document"], by_type["audio"], by_type["unsupported"]
    assert document["document"]["filename"] == "plan.pdf"
    assert document["document"]["mime_type"] == "application/pdf"
    assert audio["audio"]["id"] and "caption" not in audio["audio"]
    assert unsupported["unsupported"] == {"type": "poll"}
    assert unsupported["errors"][0]["code"] == 131051
    missing = await mock.post("/_mock/phones/15551234567/messages", json={"type": "video"})
    assert missing.status_code == 400


async def test_unknown_media_id_is_accepted_then_fails_with_131053(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    await mock.post("/_mock/phones/15551234567/messages", json={"text": "hi"})
    payload = {
        "messaging_product": "whatsapp",
        "to": "15551234567",
        "type": "image",
        "image": {"id": "404404"},
    }
    headers = {"Authorization": "Bearer test-token"}
    assert (
        await mock.post("/v21.0/123456789/messages", json=payload, headers=headers)
    ).status_code == 200
    await drain()
    [status] = receiver.statuses()
    assert status["status"] == "failed" and status["errors"][0]["code"] == 131053


async def test_business_reads_and_types_and_the_phone_sees_it(mock: httpx.AsyncClient) -> None:
    first = (await mock.post("/_mock/phones/15551234567/messages", json={"text": "one"})).json()
    second = (await mock.post("/_mock/phones/15551234567/messages", json={"text": "two"})).json()
    third = (await mock.post("/_mock/phones/15551234567/messages", json={"text": "3"})).json()
    assert first["read_by_business"] is False
    read = {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": second["id"],
        "typing_indicator": {"type": "text"},
    }
    headers = {"Authorization": "Bearer test-token"}
    assert (await mock.post("/v21.0/123456789/messages", json=read, headers=headers)).json() == {
        "success": True
    }
    chat = (await mock.get("/_mock/phones/15551234567/messages")).json()
    assert [m["read_by_business"] for m in chat] == [True, True, False]  # up to `second`
    assert chat[2]["id"] == third["id"]
    [phone] = (await mock.get("/_mock/phones")).json()
    assert phone["typing"] is True
    reply = {
        "messaging_product": "whatsapp",
        "to": "15551234567",
        "type": "text",
        "text": {"body": "Got it"},
    }
    await mock.post("/v21.0/123456789/messages", json=reply, headers=headers)
    [phone] = (await mock.get("/_mock/phones")).json()
    assert phone["typing"] is False  # the reply replaced "typing…"


async def test_typing_fades_after_25_seconds_of_mock_time(mock: httpx.AsyncClient) -> None:
    sent = (await mock.post("/_mock/phones/15551234567/messages", json={"text": "hi"})).json()
    read = {
        "messaging_product": "whatsapp",
        "status": "read",
        "message_id": sent["id"],
        "typing_indicator": {"type": "text"},
    }
    headers = {"Authorization": "Bearer test-token"}
    await mock.post("/v21.0/123456789/messages", json=read, headers=headers)
    clock = (await mock.get("/_mock/clock")).json()
    later = datetime.fromisoformat(clock["now"]) + timedelta(seconds=26)
    await mock.put("/_mock/clock", json={"now": later.isoformat()})
    [phone] = (await mock.get("/_mock/phones")).json()
    assert phone["typing"] is False
