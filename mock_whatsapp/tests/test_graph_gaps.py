"""The Graph API beyond plain sends: stricter checks, more types, context replies, several
business numbers, media upload/URL/download/delete, webhook subscribers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

URL = "/v21.0/123456789/messages"
AUTH = {"Authorization": "Bearer test-token"}
PHONE = "15551234567"


def message(kind: str, obj: Any, **extra: Any) -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "to": PHONE, "type": kind, kind: obj, **extra}


def button_message(**interactive: Any) -> dict[str, Any]:
    buttons = [{"type": "reply", "reply": {"id": "a", "title": "A"}}]
    return message(
        "interactive",
        {"type": "button", "body": {"text": "Pick"}, "action": {"buttons": buttons}, **interactive},
    )


@pytest.mark.parametrize(
    "payload",
    [
        message("text", {"body": "hi", "preview_url": "yes"}),
        message("text", {"body": "hi"}, recipient_type="group"),
        message("text", {"body": "hi"}, context={"message_id": ""}),
        message("text", {"body": "hi"}, biz_opaque_callback_data="x" * 513),
        button_message(header={"type": "text", "text": "x" * 61}),
        button_message(footer={"text": "x" * 61}),
        button_message(header={"type": "sticker"}),
        message("location", {"latitude": 91, "longitude": 0}),
        message("contacts", []),
        message(
            "interactive",
            {
                "type": "cta_url",
                "body": {"text": "See"},
                "action": {
                    "name": "cta_url",
                    "parameters": {"display_text": "Go", "url": "ftp://x"},
                },
            },
        ),
    ],
    ids=[
        "preview-not-bool",
        "group",
        "empty-context",
        "long-opaque",
        "long-header",
        "long-footer",
        "sticker-header",
        "latitude",
        "no-contacts",
        "cta-not-http",
    ],
)
async def test_stricter_checks_are_error_100(
    mock: httpx.AsyncClient, payload: dict[str, Any]
) -> None:
    resp = await mock.post(URL, json=payload, headers=AUTH)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == 100
    assert all(p["messages"] == 0 for p in (await mock.get("/_mock/phones")).json())


async def test_more_types_and_a_context_reply_reach_the_chat(mock: httpx.AsyncClient) -> None:
    inbound = (await mock.post(f"/_mock/phones/{PHONE}/messages", json={"text": "hi"})).json()
    sends = [
        message("text", {"body": "see https://x.test", "preview_url": True}),
        message("text", {"body": "you said hi"}, context={"message_id": inbound["id"]}),
        message("location", {"latitude": "51.5", "longitude": -0.12, "name": "Park"}),
        message("contacts", [{"name": {"formatted_name": "Coach"}, "phones": []}]),
        button_message(header={"type": "text", "text": "Today"}, footer={"text": "Reply"}),
        message(
            "interactive",
            {
                "type": "cta_url",
                "body": {"text": "Read more"},
                "action": {
                    "name": "cta_url",
                    "parameters": {"display_text": "Open", "url": "https://x.test"},
                },
            },
        ),
    ]
    for payload in sends:
        resp = await mock.post(URL, json=payload, headers=AUTH)
        assert resp.status_code == 200, resp.text
        assert resp.json()["messages"][0]["message_status"] == "accepted"
    chat = (await mock.get(f"/_mock/phones/{PHONE}/messages")).json()[1:]
    assert chat[0]["preview_url"] is True and chat[0]["text"] == "see https://x.test"
    assert chat[1]["context_id"] == inbound["id"]
    assert chat[2]["location"]["latitude"] == 51.5
    assert chat[3]["text"] == "[contact Coach]"
    assert chat[4]["interactive"]["header"] == "Today"
    assert chat[5]["interactive"]["url"] == "https://x.test"


@pytest.mark.parametrize(
    "settings_overrides",
    [
        {
            "extra_numbers": '[{"phone_number_id": "555", "display_phone_number": "15550005555",'
            ' "access_token": "second-token"}]'
        }
    ],
)
async def test_several_business_numbers_each_with_its_token(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    second = {"Authorization": "Bearer second-token"}
    payload = message("template", {"name": "habit_checkin", "language": {"code": "en"}})
    assert (await mock.post("/v21.0/555/messages", json=payload, headers=second)).status_code == 200
    wrong = await mock.post("/v21.0/555/messages", json=payload, headers=AUTH)
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == 100
    await mock.post(f"/_mock/phones/{PHONE}/messages", json={"text": "hi", "to": "555"})
    await drain()
    metadata = [p["entry"][0]["changes"][0]["value"]["metadata"] for p in receiver.payloads]
    assert {m["phone_number_id"] for m in metadata} == {"555"}
    assert {m["display_phone_number"] for m in metadata} == {"15550005555"}
    # The phone wrote to 555 only: each number has its own 24-hour window.
    free_form = message("text", {"body": "hello"})
    from_second = await mock.post("/v21.0/555/messages", json=free_form, headers=second)
    from_default = await mock.post(URL, json=free_form, headers=AUTH)
    await drain()
    failed = {s["id"] for s in receiver.statuses() if s["status"] == "failed"}
    assert from_default.json()["messages"][0]["id"] in failed
    assert from_second.json()["messages"][0]["id"] not in failed


async def test_media_upload_url_download_delete(mock: httpx.AsyncClient) -> None:
    files = {"file": ("walk.png", b"\x89PNG fake", "image/png")}
    form = {"messaging_product": "whatsapp", "type": "image/png"}
    up = await mock.post("/v21.0/123456789/media", data=form, files=files, headers=AUTH)
    assert up.status_code == 200, up.text
    media_id = up.json()["id"]
    info = (await mock.get(f"/v21.0/{media_id}", headers=AUTH)).json()
    assert info["mime_type"] == "image/png" and info["file_size"] == 9
    path = info["url"].removeprefix("http://mock")
    assert (await mock.get(path)).status_code == 401  # the URL alone is not enough
    download = await mock.get(path, headers=AUTH)
    assert download.content == b"\x89PNG fake"
    sent = await mock.post(URL, json=message("image", {"id": media_id}), headers=AUTH)
    assert sent.status_code == 200
    assert (await mock.delete(f"/v21.0/{media_id}", headers=AUTH)).json() == {"success": True}
    assert (await mock.get(f"/v21.0/{media_id}", headers=AUTH)).status_code == 400
    assert (await mock.get(path, headers=AUTH)).status_code == 404


@pytest.mark.parametrize(
    ("form", "files"),
    [
        ({"messaging_product": "whatsapp", "type": "image/png"}, None),
        ({"type": "image/png"}, {"file": ("a.png", b"x", "image/png")}),
        (
            {"messaging_product": "whatsapp", "type": "image/gif"},
            {"file": ("a.gif", b"x", "image/gif")},
        ),
        (
            {"messaging_product": "whatsapp", "type": "image/png"},
            {"file": ("a.png", b"", "image/png")},
        ),
    ],
    ids=["no-file", "no-product", "gif", "empty"],
)
async def test_bad_uploads_are_error_100(
    mock: httpx.AsyncClient, form: dict[str, str], files: Any
) -> None:
    resp = await mock.post("/v21.0/123456789/media", data=form, files=files, headers=AUTH)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == 100


async def test_media_faults(mock: httpx.AsyncClient) -> None:
    await mock.post("/_mock/faults", json={"target": "media", "error_code": 131053, "times": 1})
    files = {"file": ("a.png", b"x", "image/png")}
    form = {"messaging_product": "whatsapp", "type": "image/png"}
    failed = await mock.post("/v21.0/123456789/media", data=form, files=files, headers=AUTH)
    assert failed.status_code == 400 and failed.json()["error"]["code"] == 131053
    ok = await mock.post("/v21.0/123456789/media", data=form, files=files, headers=AUTH)
    assert ok.status_code == 200


async def test_phone_images_can_be_downloaded_by_the_bot(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    body = {"type": "image", "image": {"caption": "my run"}}
    await mock.post(f"/_mock/phones/{PHONE}/messages", json=body)
    await drain()
    [item] = receiver.messages()
    info = (await mock.get(f"/v21.0/{item['image']['id']}", headers=AUTH)).json()
    assert info["sha256"] == item["image"]["sha256"]
    content = (await mock.get(info["url"].removeprefix("http://mock"), headers=AUTH)).content
    assert b"my run" in content


async def test_subscribers_join_through_the_handshake_and_all_get_webhooks(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    url = "http://localhost:9/webhook"
    bad = await mock.post("/_mock/webhooks/subscribers", json={"url": url, "verify_token": "wrong"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "verification_failed"
    ok = await mock.post(
        "/_mock/webhooks/subscribers", json={"url": url, "verify_token": "good-token"}
    )
    assert ok.status_code == 201 and ok.json()["subscriber"]["verified"] is True
    listing = (await mock.get("/_mock/webhooks/subscribers")).json()["subscribers"]
    assert [s["url"] for s in listing][1:] == [url]
    await mock.post(f"/_mock/phones/{PHONE}/messages", json={"text": "to both"})
    await drain()
    log = (await mock.get("/_mock/webhooks/deliveries")).json()
    assert sorted(d["url"] for d in log) == sorted([listing[0]["url"], url])
    assert all(d["attempts"][0]["response_body"] for d in log)
    sub_id = ok.json()["subscriber"]["id"]
    assert (await mock.delete(f"/_mock/webhooks/subscribers/{sub_id}")).status_code == 204


async def test_unsupported_graph_paths_answer_in_meta_shape(mock: httpx.AsyncClient) -> None:
    for method, path in (
        ("GET", "/v21.0/123456789/whatsapp_business_profile"),
        ("POST", "/v21.0/123456789/register"),
    ):
        resp = await mock.request(method, path, headers=AUTH)
        assert resp.status_code == 400
        assert resp.json()["error"]["code"] == 100
        assert resp.json()["error"]["type"] == "GraphMethodException"


async def test_sends_by_business_scoped_user_id(
    mock: httpx.AsyncClient, receiver: Any, drain: Callable[[], Any]
) -> None:
    await mock.post(f"/_mock/phones/{PHONE}/messages", json={"text": "hi"})
    await drain()
    user_id = receiver.payloads[0]["entry"][0]["changes"][0]["value"]["contacts"][0]["user_id"]
    body = {"messaging_product": "whatsapp", "recipient": user_id, "type": "text"}
    resp = await mock.post(URL, json={**body, "text": {"body": "by id"}}, headers=AUTH)
    assert resp.status_code == 200, resp.text
    assert resp.json()["contacts"] == [{"input": user_id, "user_id": user_id}]
    assert (await mock.get(f"/_mock/phones/{PHONE}/messages")).json()[-1]["text"] == "by id"
    unknown = {**body, "recipient": "US.1", "text": {"body": "x"}}
    assert (await mock.post(URL, json=unknown, headers=AUTH)).json()["error"]["code"] == 131026
    malformed = {**body, "recipient": "someone", "text": {"body": "x"}}
    assert (await mock.post(URL, json=malformed, headers=AUTH)).json()["error"]["code"] == 100
